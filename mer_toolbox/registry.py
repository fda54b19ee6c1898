"""All registries of mer_toolbox, one line each.

The user-facing plugin points (``ENCODERS``, ``FUSION_NECKS``, ``HEADS``,
``LOSSES``, ``PRIOR_GENERATORS``, ``PRIOR_EMBEDDERS``, ``FACE_DETECTORS``) are
standalone registries in the ``mer_toolbox`` scope; everything the MMEngine
``Runner`` builds lives in a child of the matching MMEngine root so that
``default_scope='mer_toolbox'`` finds it.
``locations`` makes a build import the subpackage that registers the class, so
no module has to be imported by hand first.

Every registry here raises on an unknown ``type=`` with the registry's name and
the closest registered names (MMEngine's own message names neither).
"""
import difflib
from typing import Any

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import \
    WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

SCOPE = 'mer_toolbox'


class MerRegistry(Registry):
    """A :class:`mmengine.registry.Registry` whose builds fail loudly.

    ``get`` keeps MMEngine's contract (the class, or ``None``; so ``name in
    REGISTRY`` is a plain membership test). ``build`` of an unknown ``type``
    raises ``KeyError`` naming the registry and up to five close names
    (MMEngine's own message names neither).
    """

    def build(self, cfg: dict, *args, **kwargs) -> Any:
        obj_type = cfg.get('type') if isinstance(cfg, dict) else None
        if isinstance(obj_type, str):
            # the registry MMEngine's build_from_cfg will search
            with self.switch_scope_and_registry(
                    cfg.get('_scope_')) as registry:
                found = registry.get(obj_type)
            if found is None:
                raise KeyError(self._unknown_message(obj_type))
        return super().build(cfg, *args, **kwargs)

    def get_or_raise(self, key: str) -> Any:
        """``get`` that raises the helpful ``KeyError`` instead of returning
        ``None`` (for callers that check a type before building)."""
        obj = self.get(key)
        if obj is None:
            raise KeyError(self._unknown_message(key))
        return obj

    def _known_names(self) -> list:
        names, registry = set(), self
        while registry is not None:
            names.update(registry._module_dict)
            registry = registry.parent
        return sorted(names)

    def _unknown_message(self, key: str) -> str:
        known = self._known_names()
        _, short_key = self.split_scope_key(key)
        close = difflib.get_close_matches(short_key, known, n=5, cutoff=0.5)
        hint = (f'Did you mean: {", ".join(close)}?' if close else
                f'Registered names: {", ".join(known) or "(none)"}.')
        return (f'{key!r} is not registered in the {self.scope}::{self.name} '
                f'registry. {hint} A plugin must be imported (e.g. through '
                '`custom_imports` in the config) before it can be built.')


def _child(name: str, parent: Registry, location: str) -> MerRegistry:
    return MerRegistry(name, parent=parent, scope=SCOPE,
                       locations=[f'{SCOPE}.{location}'])


# --- user-facing plugin points -------------------------------------------
ENCODERS = MerRegistry('encoder', scope=SCOPE, locations=['mer_toolbox.models.encoders'])
FUSION_NECKS = MerRegistry('fusion neck', scope=SCOPE, locations=['mer_toolbox.models.necks'])
HEADS = MerRegistry('head', scope=SCOPE, locations=['mer_toolbox.models.heads'])
LOSSES = MerRegistry('loss', scope=SCOPE, locations=['mer_toolbox.models.losses'])
PRIOR_GENERATORS = MerRegistry('prior generator', scope=SCOPE, locations=['mer_toolbox.priors'])
PRIOR_EMBEDDERS = MerRegistry('prior embedder', scope=SCOPE, locations=['mer_toolbox.priors'])
FACE_DETECTORS = MerRegistry('face detector', scope=SCOPE, locations=['mer_toolbox.media.detectors'])

# --- what the MMEngine Runner builds -------------------------------------
MODELS = _child('model', MMENGINE_MODELS, 'models')
MODEL_WRAPPERS = _child('model_wrapper', MMENGINE_MODEL_WRAPPERS, 'engine')
DATASETS = _child('dataset', MMENGINE_DATASETS, 'datasets')
DATA_SAMPLERS = _child('data sampler', MMENGINE_DATA_SAMPLERS, 'datasets')
TRANSFORMS = _child('transform', MMENGINE_TRANSFORMS, 'datasets')
FUNCTIONS = _child('function', MMENGINE_FUNCTIONS, 'datasets')
METRICS = _child('metric', MMENGINE_METRICS, 'evaluation')
EVALUATOR = _child('evaluator', MMENGINE_EVALUATOR, 'evaluation')
HOOKS = _child('hook', MMENGINE_HOOKS, 'engine')
LOOPS = _child('loop', MMENGINE_LOOPS, 'engine')
OPTIM_WRAPPERS = _child('optim_wrapper', MMENGINE_OPTIM_WRAPPERS, 'engine')
# No optimizers or initialisers of our own: these children exist so that
# MMEngine finds a 'mer_toolbox' scope when it builds them (it warns
# "Failed to search registry with scope" otherwise) and falls back to its own.
OPTIMIZERS = _child('optimizer', MMENGINE_OPTIMIZERS, 'engine')
WEIGHT_INITIALIZERS = _child('weight initializer',
                             MMENGINE_WEIGHT_INITIALIZERS, 'models')
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
                                    'engine')
PARAM_SCHEDULERS = _child('parameter scheduler', MMENGINE_PARAM_SCHEDULERS, 'engine')
LOG_PROCESSORS = _child('log_processor', MMENGINE_LOG_PROCESSORS, 'engine')
VISUALIZERS = _child('visualizer', MMENGINE_VISUALIZERS, 'visualization')
VIS_BACKENDS = _child('vis_backend', MMENGINE_VISBACKENDS, 'visualization')
