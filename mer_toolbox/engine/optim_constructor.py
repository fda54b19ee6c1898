"""An optimizer constructor that leaves frozen parameters out."""
import inspect
from typing import List, Optional

from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS, OPTIMIZERS
from torch import nn

from ..registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class TrainableParamsOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """:class:`DefaultOptimWrapperConstructor` over ``requires_grad`` params only.

    MMEngine's default constructor hands every parameter to the optimizer,
    frozen ones included (Adam would then skip them only because their
    ``grad`` stays ``None``; weight decay or a plugin optimizer might not).
    Stage 2 freezes the stage-1 network, so this constructor builds the
    optimizer from the trainable parameters alone; ``paramwise_cfg`` works
    as usual on what remains.

    Use: ``optim_wrapper = dict(constructor=
    'TrainableParamsOptimWrapperConstructor', optimizer=dict(...))``.

    Raises:
        ValueError: every parameter is frozen.
    """

    def __call__(self, model: nn.Module) -> OptimWrapper:
        module = model.module if hasattr(model, 'module') else model
        trainable = [p for p in module.parameters() if p.requires_grad]
        if not trainable:
            raise ValueError('every parameter of the model is frozen: nothing '
                             'to optimise (check the model\'s frozen list)')
        if self.paramwise_cfg:
            return super().__call__(model)  # add_params below filters
        optimizer_cfg = self.optimizer_cfg.copy()
        optimizer_cls = optimizer_cfg['type']
        if isinstance(optimizer_cls, str):
            with OPTIMIZERS.switch_scope_and_registry(None) as registry:
                optimizer_cls = registry.get(optimizer_cls)
        first_arg = next(iter(inspect.signature(optimizer_cls).parameters))
        optimizer_cfg[first_arg] = trainable
        optimizer = OPTIMIZERS.build(optimizer_cfg)
        wrapper_cfg = self.optim_wrapper_cfg.copy()
        wrapper_cfg.setdefault('type', 'OptimWrapper')
        return OPTIM_WRAPPERS.build(wrapper_cfg,
                                    default_args=dict(optimizer=optimizer))

    def add_params(self, params: List[dict], module: nn.Module,
                   prefix: str = '',
                   is_dcn_module: Optional[int] = None) -> None:
        start = len(params)
        super().add_params(params, module, prefix, is_dcn_module)
        params[start:] = [g for g in params[start:]
                          if g['params'][0].requires_grad]
