"""The sweep objective scores the model a run keeps, not its best epoch."""
import pytest
from mmengine.config import Config

from mer_toolbox.experiments import sweep

optuna = pytest.importorskip('optuna')


class FakeRunner:
    """Stands in for a run whose validation WAF goes 50, 70, 60."""

    def __init__(self):
        self.hooks, self.epoch = [], 0

    def register_hook(self, hook):
        self.hooks.append(hook)

    def train(self):
        for self.epoch, waf in enumerate((50.0, 70.0, 60.0), start=1):
            for hook in self.hooks:
                hook.after_val_epoch(self, {'emotion/waf': waf})


@pytest.mark.parametrize('checkpoint, expected', [
    (dict(), 60.0),  # the default: the final model is the result
    (dict(save_best='emotion/waf', rule='greater'), 70.0),  # best.pth
])
def test_objective_is_the_value_of_the_kept_checkpoint(
        monkeypatch, tmp_path, checkpoint, expected):
    import mer_toolbox.engine.runner as runner_module
    monkeypatch.setattr(runner_module, 'build_runner',
                        lambda cfg: FakeRunner())
    cfg = Config(dict(default_hooks=dict(checkpoint=checkpoint)))
    objective = sweep.TrainingObjective(cfg, {}, str(tmp_path), prune=False)
    assert objective(optuna.trial.FixedTrial({})) == expected
