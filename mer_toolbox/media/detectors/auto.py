"""``type='auto'``: the best detector this machine can build."""
import logging
from typing import Optional, Sequence

from mer_toolbox.registry import FACE_DETECTORS

logger = logging.getLogger('mer_toolbox.extraction')

#: best first, as measured on real clips (benchmarks/face_detectors.py)
DEFAULT_PREFERENCE = ('mtcnn', 'dlib_hog', 'opencv_haar')


@FACE_DETECTORS.register_module(name='auto')
def build_auto_face_detector(prefer: Sequence[str] = DEFAULT_PREFERENCE,
                             options: Optional[dict] = None):
    """Build the first detector of ``prefer`` whose weights / package exist.

    A detector that cannot be built for lack of its package or weights
    (``ImportError`` / ``FileNotFoundError``) is skipped with a warning naming
    the fix; any other error is raised. The chosen one is logged and is
    reported as ``name`` on the returned detector (and in the extraction
    summary), so a run never changes detector silently.

    Args:
        prefer: registered detector names, best first.
        options: ``{name: kwargs}`` for the candidates.
    """
    options = dict(options or {})
    reasons = []
    for name in prefer:
        try:
            detector = FACE_DETECTORS.build(dict(type=name,
                                                 **options.get(name, {})))
        except (ImportError, FileNotFoundError) as err:
            reasons.append(f'{name}: {err}')
            logger.warning('face detector %r unavailable, trying the next: %s',
                           name, err)
            continue
        detector.name = name
        if reasons:
            logger.warning("face detector 'auto' chose %r", name)
        return detector
    raise RuntimeError('no face detector of ' + repr(tuple(prefer)) +
                       ' could be built:\n' + '\n'.join(reasons))
