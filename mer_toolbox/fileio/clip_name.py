"""The one rule for clip names, wherever a name comes in.

A clip name becomes a file name (``<name>.npy`` in a feature folder, a key
of a prior store), so a name from a CSV, a prior file or a folder listing
must be a plain file name:

* no path separator (``/`` or ``\\``), hence never absolute and never
  reaching outside its folder; no leading ``.`` (``.``, ``..`` and hidden
  files, which feature folders skip);
* no control characters (newline, NUL, tab, ...);
* at most :data:`MAX_CLIP_NAME_BYTES` bytes in UTF-8 (file systems allow
  255 per component, and ``.npy`` / temporary suffixes are added);
* Unicode normalised to NFC, on both sides: names read from CSVs and file
  names found on disk, so a decomposed (NFD) spelling matches a composed one.

Every writer additionally resolves its final path and refuses one outside
its output folder (:func:`path_inside`).
"""
import os.path as osp
import unicodedata

MAX_CLIP_NAME_BYTES = 200
RULE = ('expected a plain file name: no path separators, no leading ".", '
        f'no control characters, at most {MAX_CLIP_NAME_BYTES} UTF-8 bytes')


def normalise_clip_name(name: str) -> str:
    """``name`` stripped and in Unicode NFC (no validation)."""
    return unicodedata.normalize('NFC', name.strip())


def clip_name(raw: str, where: str) -> str:
    """Validate a clip name and return its NFC form.

    Args:
        raw: the name as read.
        where: the source for the error (``labels.csv:3``).

    Raises:
        ValueError: the name breaks the rule (module doc); names ``where``,
            the name and the rule.
    """
    name = normalise_clip_name(raw)
    if not name:
        raise ValueError(f'{where}: empty clip name; {RULE}')
    problem = None
    if '/' in name or '\\' in name:
        problem = 'contains a path separator'
    elif name.startswith('.'):
        problem = 'starts with "."'
    elif any(unicodedata.category(ch) == 'Cc' for ch in name):
        problem = 'contains a control character'
    elif len(name.encode('utf-8')) > MAX_CLIP_NAME_BYTES:
        problem = f'is {len(name.encode("utf-8"))} bytes long'
    if problem is not None:
        raise ValueError(f'{where}: clip name {raw!r} {problem}; {RULE}')
    return name


def path_inside(root: str, *parts: str) -> str:
    """``root/parts...``, refused when it resolves outside ``root``.

    Symbolic links are resolved on both sides, so a link inside the output
    folder cannot redirect a write elsewhere either.

    Raises:
        ValueError: the resolved path is not inside ``root``.
    """
    base = osp.realpath(root)
    path = osp.realpath(osp.join(root, *parts))
    if osp.commonpath([base, path]) != base:
        raise ValueError(f'refusing to write {path!r}: it is outside the '
                         f'output folder {base!r}')
    return path
