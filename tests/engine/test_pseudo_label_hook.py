"""PseudoLabelHook inside real Runner runs: what the model trains on, the
side table in checkpoints, resume equivalence and bad input."""
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook

from mer_toolbox.datasets import SemiSupervisedDataset
from mer_toolbox.registry import HOOKS
from mer_toolbox.engine.setup_env import register_all_modules

from mer_test_utils import TINY_SIZES, run_tool, write_tiny_config

PL_HOOKS = """
custom_hooks = [dict(type='FeatureNormHook'), dict(type='EpochSeedHook'),
                dict(type='PseudoLabelHook', cold_start=1, threshold=0.3)]
# a high learning rate so that 240 clips give confident predictions at once
optim_wrapper = dict(optimizer=dict(lr=0.01))
"""


@HOOKS.register_module(force=True)
class _SeenSamplesHook(Hook):
    """Records, per epoch, which clips (and labels) the model trained on."""

    seen: dict = {}

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        epoch = self.seen.setdefault(runner.epoch, [])
        epoch += [(s.name, s.label, float(s.weight))
                  for s in data_batch['data_samples']]


def build_runner(cfg_path, work_dir):
    register_all_modules()
    cfg = Config.fromfile(cfg_path)
    cfg.work_dir = work_dir
    cfg.custom_hooks = list(cfg.custom_hooks) + [dict(type='_SeenSamplesHook')]
    # as the tools do: our checkpoints load through the safe loader
    from mer_toolbox.engine.runner import build_runner as build_tool_runner
    return build_tool_runner(cfg)


WORKERS = 'num_workers=2, persistent_workers=True, '


@pytest.mark.parametrize('loader', ['main process', 'persistent workers'])
def test_loader_trains_on_pseudo_labels_from_the_next_epoch(tmp_path,
                                                           tiny_demo_root,
                                                           loader):
    # With persistent workers the dataset copies live in other processes for
    # the whole run: they must still see each round's labels (shared memory).
    cfg = write_tiny_config(
        str(tmp_path / 'c.py'), tiny_demo_root, extra=PL_HOOKS, max_epochs=3,
        train_loader=WORKERS if loader == 'persistent workers' else '')
    _SeenSamplesHook.seen = {}
    runner = build_runner(cfg, str(tmp_path / 'w'))
    runner.train()
    seen = _SeenSamplesHook.seen
    dataset = runner.train_dataloader.dataset
    assert isinstance(dataset, SemiSupervisedDataset)
    table = dataset.table
    # epoch 0 (cold start): labelled clips only, each exactly once
    assert all(not n.startswith('demo_pool') for n, _, _ in seen[0])
    assert len(seen[0]) == TINY_SIZES['train']
    # epoch 1 onward: the selected pool clips, with their pseudo-labels
    pooled = [(n, y) for n, y, _ in seen[2] if n.startswith('demo_pool')]
    assert table.rounds == 3 and len(pooled) > 0
    # every pool clip trained on carried a pseudo-label (the worker saw the
    # table, not the -1 the dataset was built with)
    assert all(y >= 0 for _, y in pooled)
    assert len(seen[2]) == TINY_SIZES['train'] + len(pooled)


def test_table_is_saved_and_restored_on_resume(tmp_path, tiny_demo_root):
    cfg = write_tiny_config(str(tmp_path / 'c.py'), tiny_demo_root,
                            extra=PL_HOOKS, max_epochs=2)
    run_tool(['tools/train.py', cfg, '--work-dir', str(tmp_path / 'w')])
    ckpt = torch.load(osp.join(tmp_path, 'w', 'epoch_2.pth'),
                      weights_only=False)
    state = ckpt['pseudo_labels']
    assert state['rounds'] == 2 and (state['labels'] >= 0).any()
    cfg3 = write_tiny_config(str(tmp_path / 'c3.py'), tiny_demo_root,
                             extra=PL_HOOKS, max_epochs=3)
    runner = build_runner(cfg3, str(tmp_path / 'w'))
    runner._resume = True
    runner._load_from = osp.join(tmp_path, 'w', 'epoch_2.pth')
    runner.call_hook('before_run')
    runner.load_or_resume()
    runner.call_hook('before_train')  # the hook applies a resume's state
    table = runner.train_dataloader.dataset.table
    assert table.rounds == 2
    assert torch.equal(table.labels, state['labels'])


def test_load_from_starts_with_an_empty_table(tmp_path, tiny_demo_root):
    """``load_from`` takes the weights only: the old pseudo-labels and start
    decision stay behind (only ``--resume`` continues them)."""
    cfg = write_tiny_config(str(tmp_path / 'c.py'), tiny_demo_root,
                            extra=PL_HOOKS, max_epochs=2)
    run_tool(['tools/train.py', cfg, '--work-dir', str(tmp_path / 'w')])
    runner = build_runner(cfg, str(tmp_path / 'w2'))
    runner._load_from = osp.join(tmp_path, 'w', 'epoch_2.pth')
    runner.call_hook('before_run')
    runner.load_or_resume()
    runner.call_hook('before_train')
    table = runner.train_dataloader.dataset.table
    assert table.rounds == 0 and not (table.labels >= 0).any()


def test_resumed_run_equals_uninterrupted_run(tmp_path, tiny_demo_root):
    """Stop after epoch 2, resume to 4: same weights and table as 4 straight."""
    fixed = PL_HOOKS + ("param_scheduler = [dict(type='CosineAnnealingLR', "
                        "T_max=4, end=4, by_epoch=True, eta_min=1e-5)]\n")
    straight = write_tiny_config(str(tmp_path / 'a.py'), tiny_demo_root,
                                 extra=fixed, max_epochs=4)
    run_tool(['tools/train.py', straight, '--work-dir', str(tmp_path / 'a')])
    first = write_tiny_config(str(tmp_path / 'b.py'), tiny_demo_root,
                              extra=fixed, max_epochs=2)
    run_tool(['tools/train.py', first, '--work-dir', str(tmp_path / 'b')])
    run_tool(['tools/train.py', straight, '--work-dir', str(tmp_path / 'b'),
              '--resume'])
    a = torch.load(osp.join(tmp_path, 'a', 'epoch_4.pth'), weights_only=False)
    b = torch.load(osp.join(tmp_path, 'b', 'epoch_4.pth'), weights_only=False)
    for k in a['state_dict']:
        torch.testing.assert_close(a['state_dict'][k], b['state_dict'][k],
                                   atol=1e-6, rtol=1e-5, msg=k)
    assert torch.equal(a['pseudo_labels']['labels'],
                       b['pseudo_labels']['labels'])


def test_changed_pool_on_resume_is_an_error(tmp_path, tiny_demo_root):
    from mer_toolbox.datasets import PseudoLabelTable
    table = PseudoLabelTable(['a', 'b', 'c'])
    other = PseudoLabelTable(['a', 'b', 'd'])
    with pytest.raises(ValueError, match='pool changed'):
        other.load_state_dict(table.state_dict())


def test_pool_overlapping_labelled_clips(tiny_demo_root):
    from mer_toolbox.datasets import DemoMERDataset
    labelled = DemoMERDataset('val', data_root=tiny_demo_root,
                              sizes=TINY_SIZES)
    with pytest.raises(ValueError, match='also labelled'):
        SemiSupervisedDataset(labelled, labelled_as_pool(labelled))
    ds = SemiSupervisedDataset(labelled, labelled_as_pool(labelled),
                               overlap='drop')
    assert len(ds.excluded) == len(labelled)
    ds.table.update(np.zeros(len(labelled)), np.ones(len(labelled)),
                    np.ones(len(labelled)))
    assert len(ds.active_indices()) == len(labelled)  # pool copies dropped


def labelled_as_pool(labelled):
    from mer_toolbox.datasets import MERFeatureDataset
    return MERFeatureDataset(
        ann_file=labelled.ann_file, labelled=False,
        data_prefix=labelled.data_prefix, feature_dims=labelled.feature_dims)


def test_wrong_train_dataset_type_is_an_error(tmp_path, tiny_demo_root):
    cfg = write_tiny_config(str(tmp_path / 'c.py'), tiny_demo_root,
                            base='ablations/ce_bdcl.py', extra=PL_HOOKS)
    proc = run_tool(['tools/train.py', cfg, '--work-dir', str(tmp_path / 'w')],
                    check=False)
    assert proc.returncode != 0 and 'SemiSupervisedDataset' in proc.stderr


class _EmptyTable:
    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


class _FakeRunner:
    def __init__(self, max_epochs=10):
        import logging
        self.epoch, self.max_epochs, self.hooks = 0, max_epochs, []
        self.iter, self.val_loop = 0, object()
        self.logger = logging.getLogger('test_pseudo_label_start')
        self.train_dataloader = None


def test_start_on_plateau_waits_for_validation_to_stall():
    from mer_toolbox.engine.hooks import PseudoLabelHook
    hook = PseudoLabelHook(start_on_plateau=2)
    runner = _FakeRunner()
    hook.before_run(runner)
    assert hook.state['start'] is None
    for epoch, waf in enumerate([50.0, 55.0, 54.0, 55.0]):
        runner.epoch = epoch
        hook.after_val_epoch(runner, {'emotion/waf': waf})
    # best 55 at epoch 1, then two validations without improvement
    assert hook.state == dict(start=4, best=55.0, stalled=2)
    # a resumed run continues from the saved decision
    ckpt = {}
    hook.dataset = SimpleNamespace(table=_EmptyTable())
    hook.before_save_checkpoint(runner, ckpt)
    fresh = PseudoLabelHook(start_on_plateau=2)
    fresh.dataset = SimpleNamespace(table=_EmptyTable())
    fresh.after_load_checkpoint(runner, ckpt)
    runner.iter = 0  # load_from: the loop starts at 0, the state stays
    fresh.before_train(runner)
    assert fresh.state == dict(start=None, best=None, stalled=0)
    fresh.after_load_checkpoint(runner, ckpt)
    runner.iter = 40  # resume: MMEngine restored the loop's counters
    fresh.before_train(runner)
    assert fresh.state == hook.state
    with pytest.raises(KeyError, match='monitors'):
        PseudoLabelHook(start_on_plateau=1, monitor='emotion/uar') \
            .after_val_epoch(runner, {'emotion/waf': 1.0})


def test_warmup_ratio_starts_after_a_fraction_of_the_schedule():
    from mer_toolbox.engine.hooks import PseudoLabelHook
    hook = PseudoLabelHook(cold_start=7, warmup_ratio=0.25)
    hook.before_train(_FakeRunner(max_epochs=10))
    assert hook.state['start'] == 3  # ceil(0.25 * 10), not cold_start
    with pytest.raises(ValueError, match='warmup_ratio'):
        PseudoLabelHook(warmup_ratio=1.5)
    with pytest.raises(ValueError, match='threshold_mode'):
        PseudoLabelHook(threshold_mode='adaptive')


def test_adaptive_ema_rounds_select_clips(tmp_path, tiny_demo_root):
    """FreeMatch thresholds scored by the EMA model: clips are selected in
    the first round (a fixed 0.9 bar selects none this early)."""
    hooks = """
custom_hooks = [dict(type='FeatureNormHook'), dict(type='EpochSeedHook'),
                dict(type='EMAHook', momentum=0.01),
                dict(type='PseudoLabelHook', warmup_ratio=0.5,
                     threshold_mode='freematch', use_ema=True,
                     class_balanced_ratio=0.5)]
"""
    cfg = write_tiny_config(str(tmp_path / 'c.py'), tiny_demo_root,
                            extra=hooks, max_epochs=2)
    run_tool(['tools/train.py', cfg, '--work-dir', str(tmp_path / 'w'),
              '--no-test'])
    import json
    rounds = [json.loads(line) for line in
              open(osp.join(tmp_path, 'w', 'pseudo_labels.jsonl'))]
    assert [r['epoch'] for r in rounds] == [1, 2]
    assert rounds[0]['selected'] > 0
    assert max(rounds[0]['thresholds'].values()) < 0.9


def test_use_ema_without_ema_hook_fails_before_training(tmp_path,
                                                        tiny_demo_root):
    hooks = """
custom_hooks = [dict(type='FeatureNormHook'),
                dict(type='PseudoLabelHook', use_ema=True)]
"""
    cfg = write_tiny_config(str(tmp_path / 'c.py'), tiny_demo_root,
                            extra=hooks, max_epochs=1)
    proc = run_tool(['tools/train.py', cfg, '--work-dir',
                     str(tmp_path / 'w'), '--no-test'], check=False)
    assert proc.returncode != 0
    assert "needs dict(type='EMAHook')" in proc.stderr


def test_plateau_start_without_validation_is_refused():
    from mer_toolbox.engine.hooks import PseudoLabelHook
    runner = _FakeRunner()
    runner.val_loop = None
    with pytest.raises(ValueError, match='waits for validation'):
        PseudoLabelHook(start_on_plateau=3).before_train(runner)
