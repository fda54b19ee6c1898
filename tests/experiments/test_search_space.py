"""search_space validation and application, the pruning hook, storage errors."""
import pytest
from mmengine.config import Config

from mer_toolbox.experiments.search_space import (apply_params,
                                                  check_search_space, suggest)

optuna = pytest.importorskip('optuna')


def _cfg(space):
    return Config(dict(
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=1e-3)),
        model=dict(head=dict(dropout=0.3), aux_losses=[dict(type='BDCL', tau=0.1)]),
        custom_hooks=[dict(type='FeatureNormHook'),
                      dict(type='PseudoLabelHook', threshold=0.9)],
        search_space=space))


def test_values_land_on_the_named_keys_and_the_space_is_dropped():
    space = {'optim_wrapper.optimizer.lr': dict(type='float', low=1e-4, high=1e-2, log=True),
             'model.aux_losses.0.tau': dict(type='float', low=0.05, high=0.5),
             'custom_hooks.PseudoLabelHook.threshold': dict(type='float', low=0.7, high=0.99),
             'model.head.dropout': dict(type='categorical', choices=[0.0, 0.5])}
    cfg = _cfg(space)
    checked = check_search_space(cfg)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    params = suggest(study.ask(), checked)
    out = apply_params(cfg, params)
    assert 'search_space' not in out and 'search_space' in cfg
    assert out.optim_wrapper.optimizer.lr == params['optim_wrapper.optimizer.lr'] != 1e-3
    assert out.model.aux_losses[0].tau == params['model.aux_losses.0.tau']
    assert out.custom_hooks[1].threshold == params['custom_hooks.PseudoLabelHook.threshold']
    assert out.custom_hooks[0] == dict(type='FeatureNormHook')
    assert out.model.head.dropout in (0.0, 0.5)
    assert cfg.optim_wrapper.optimizer.lr == 1e-3  # the original is untouched


@pytest.mark.parametrize('key,match', [
    ('optim_wrapper.optimizer.lrr', r"has no 'lrr'; did you mean \['lr'\]"),
    ('model.neck.dropout', r"model has no 'neck'"),
    ('custom_hooks.EMAHook.momentum', r"neither an index nor a unique type"),
    ('model.aux_losses.3.tau', r"neither an index"),
])
def test_entries_that_name_no_config_key_fail(key, match):
    cfg = _cfg({key: dict(type='float', low=0.1, high=0.2)})
    with pytest.raises(KeyError, match=match):
        check_search_space(cfg)


@pytest.mark.parametrize('spec,match', [
    (dict(type='uniform', low=0, high=1), 'type must be one of'),
    (dict(type='float', low=0.5), r"needs \['high'\]"),
    (dict(type='int', low=5, high=5), 'low must be below high'),
    (dict(type='categorical'), r"needs \['choices'\]"),
])
def test_malformed_specs_fail(spec, match):
    with pytest.raises(ValueError, match=match):
        check_search_space(_cfg({'model.head.dropout': spec}))


def test_config_without_search_space_fails():
    with pytest.raises(KeyError, match='declares no search_space'):
        check_search_space(_cfg(None))


def test_pruning_hook_reports_epochs_and_prunes():
    from mer_toolbox.experiments.pruning import OptunaPruningHook

    class FakeRunner:
        epoch = 3

    study = optuna.create_study(direction='maximize',
                                pruner=optuna.pruners.ThresholdPruner(lower=50.0))
    trial = study.ask()
    hook = OptunaPruningHook(trial, 'emotion/waf')
    FakeRunner.epoch = 1
    hook.after_val_epoch(FakeRunner(), {'emotion/waf': 60.0})
    FakeRunner.epoch = 2
    with pytest.raises(optuna.TrialPruned, match='epoch 2'):
        hook.after_val_epoch(FakeRunner(), {'emotion/waf': 40.0})
    assert hook.values == [60.0, 40.0]
    assert study.trials[0].intermediate_values == {1: 60.0, 2: 40.0}
    with pytest.raises(KeyError, match="'emotion/uar' is not among"):
        OptunaPruningHook(trial, 'emotion/uar').after_val_epoch(
            FakeRunner(), {'emotion/waf': 1.0})


@pytest.mark.parametrize('url', ['sqlite:////no/such/folder/study.db',
                                 'postgresql://user:s3cret@127.0.0.1:1/db'])
def test_unreachable_storage_is_a_clear_error(url):
    from mer_toolbox.experiments.sweep import open_study
    with pytest.raises(ConnectionError, match='cannot be reached') as err:
        open_study(url, 'study')
    assert 's3cret' not in str(err.value)
