"""Make ``import torchvision`` work when its compiled ops cannot load.

PyPI serves only CUDA builds of torchvision. Next to a CPU build of torch its
``_C`` extension fails to load, and ``import torchvision`` then dies while
registering fake kernels for ``torchvision::nms`` (a schema that was never
declared). timm and transformers' image processors import torchvision, so the
whole raw-media path would be unusable on CPU machines.

:func:`ensure_torchvision_importable` declares the two missing operator schemas
with ``torch.library`` *only* when the extension really cannot load. The ops
themselves stay unusable (calling ``torchvision.ops.nms`` raises); nothing in
mer_toolbox calls them.
"""
import glob
import importlib.util
import os.path as osp
import sys

_SCHEMAS = {
    'nms': 'nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor',
    'qnms': 'qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor',
}
_state = {'shimmed': None}
_keep_alive = []


def ensure_torchvision_importable() -> bool:
    """Declare torchvision's op schemas if its extension cannot load.

    Returns:
        True when the shim was applied, False when it was not needed
        (torchvision absent, already imported, or its extension loads).
    """
    if _state['shimmed'] is not None:
        return _state['shimmed']
    _state['shimmed'] = False
    if 'torchvision' in sys.modules:
        return False
    spec = importlib.util.find_spec('torchvision')
    if spec is None or spec.origin is None:
        return False
    import torch
    libs = glob.glob(osp.join(osp.dirname(spec.origin), '_C*.so')) + \
        glob.glob(osp.join(osp.dirname(spec.origin), '_C*.pyd'))
    if not libs:
        return False
    try:
        torch.ops.load_library(libs[0])
        return False
    except OSError:
        pass
    lib = torch.library.Library('torchvision', 'DEF')  # noqa: TOR901
    for schema in _SCHEMAS.values():
        lib.define(schema)
    _keep_alive.append(lib)  # the schemas vanish if the Library is collected
    _state['shimmed'] = True
    return True
