"""Make stage 2 start from a real, matching stage-1 checkpoint."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from ...registry import HOOKS
from ..stage_checkpoint import STAGE1_HINT, resolve_checkpoint


@HOOKS.register_module()
class StageOneCheckpointHook(Hook):
    """Check ``load_from`` for a stage that builds on an earlier one.

    MMEngine loads ``load_from`` with ``strict=False``: a wrong file only
    logs warnings and the frozen network would silently stay random. This
    hook makes that an error:

    * ``before_run`` resolves ``load_from`` (a ``.pth`` file, or a work dir
      -> its best checkpoint, see :func:`resolve_checkpoint`) and fails,
      naming the path and how to make it, when there is none;
    * ``after_load_checkpoint`` checks that the checkpoint has every key the
      model reports in ``checkpoint_required_keys()`` (the stage-1 network)
      with the same shape, listing what is missing or mismatched; when it
      does, the tensors of the new branch (absent by design) keep their
      initial values and stage-1-only ones are dropped, so MMEngine's long
      ``missing keys`` warning gives way to one line naming those parts;
    * ``before_train`` fails if nothing was loaded at all (no ``load_from``
      and nothing to resume).

    It reads the Runner's private ``_load_from`` / ``_resume`` /
    ``_has_loaded`` (MMEngine 0.10 has no public accessor for them).

    Args:
        hint: how to produce the checkpoint, appended to the errors.
        require: fail in ``before_train`` when nothing was loaded.
    """

    priority = 'VERY_HIGH'

    def __init__(self, hint: Optional[str] = None,
                 require: bool = True) -> None:
        self.hint = hint or STAGE1_HINT
        self.require = require

    def before_run(self, runner) -> None:
        load_from = getattr(runner, '_load_from', None)
        if load_from is not None:
            runner._load_from = resolve_checkpoint(load_from, self.hint)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        if not hasattr(model, 'checkpoint_required_keys'):
            return
        state = checkpoint.get('state_dict', checkpoint)
        state = {k[len('module.'):] if k.startswith('module.') else k: v
                 for k, v in state.items()}
        missing, mismatched = [], []
        required = model.checkpoint_required_keys()
        for key, shape in required.items():
            if key not in state:
                missing.append(key)
            elif tuple(state[key].shape) != shape:
                mismatched.append(f'{key}: checkpoint '
                                  f'{tuple(state[key].shape)} vs model {shape}')
        if missing or mismatched:
            lines = [f'missing ({len(missing)}): {missing[:20]}'] if missing \
                else []
            if mismatched:
                lines.append(f'shape mismatch ({len(mismatched)}): '
                             + '; '.join(mismatched[:20]))
            raise ValueError(
                'the checkpoint does not fit the stage-1 part of the model '
                '(was it trained with another config? the stage-2 model\'s '
                'modalities, feature_dims, encoders, neck and head must '
                'match stage 1): ' + ' | '.join(lines))
        own = model.state_dict()
        fresh = [k for k in own if k not in state]
        unused = [k for k in state if k not in own]
        if fresh or unused:
            # Both are by design once the stage-1 part fits. The new branch
            # keeps its own initial values and stage-1-only tensors (BDCL's
            # projection) are dropped, so MMEngine's non-strict load has
            # nothing to list key by key; one line below says it instead.
            for key in unused:
                del state[key]
            state.update({k: own[k].detach().clone() for k in fresh})
            checkpoint['state_dict'] = state
        print_log(f'StageOneCheckpointHook: all {len(required)} stage-1 '
                  'tensors loaded with matching shapes'
                  + (f'; new in this stage, starting fresh: {_parts(fresh)}'
                     if fresh else '')
                  + (f'; in the checkpoint, not used here: {_parts(unused)}'
                     if unused else ''), logger='current')

    def before_train(self, runner) -> None:
        if self.require and not getattr(runner, '_has_loaded', True):
            raise RuntimeError(
                'stage 2 started without stage-1 weights: load_from is None '
                'and there was nothing to resume in '
                f'{runner.work_dir}. ' + self.hint)


def _parts(keys) -> str:
    """``'prior_neck (12 tensors), prior_projs (9 tensors)'``."""
    counts = {}
    for key in keys:
        counts[key.split('.')[0]] = counts.get(key.split('.')[0], 0) + 1
    return ', '.join(f'{part} ({n} tensors)'
                     for part, n in sorted(counts.items()))
