"""Class-imbalance losses and the hook that gives them the class counts."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mer_toolbox.registry import LOSSES

COUNTS = [50, 30, 15, 5]


def batch(seed=0, n=12, c=4):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, c, generator=g, dtype=torch.float64)
    labels = torch.randint(0, c, (n,), generator=g)
    labels[0] = -1  # an unlabelled clip is ignored
    return logits, labels


@pytest.mark.parametrize('tau', [0.0, 0.5, 1.0, 2.0])
def test_logit_adjusted_equals_ce_of_shifted_logits(tau):
    logits, labels = batch()
    loss = LOSSES.build(dict(type='LogitAdjustedCrossEntropyLoss', tau=tau,
                             class_counts=COUNTS))
    prior = torch.tensor(COUNTS, dtype=torch.float64) / sum(COUNTS)
    keep = labels >= 0
    expected = F.cross_entropy(logits[keep] + tau * prior.log(),
                               labels[keep])
    torch.testing.assert_close(loss(logits, labels), expected)


def test_balanced_softmax_is_tau_one():
    logits, labels = batch(1)
    bs = LOSSES.build(dict(type='BalancedSoftmaxLoss', class_counts=COUNTS))
    la = LOSSES.build(dict(type='LogitAdjustedCrossEntropyLoss', tau=1.0,
                           class_counts=COUNTS))
    torch.testing.assert_close(bs(logits, labels), la(logits, labels))


def test_adjustment_pushes_rare_class_logits_harder():
    """Trained with the adjustment, a rare class wins its close calls: the
    loss of predicting a rare-class clip correctly is higher than plain CE
    (it pushes the raw logit further), a head-class clip's is lower."""
    logits = torch.zeros(2, 4, dtype=torch.float64)
    labels = torch.tensor([0, 3])  # head class, rarest class
    la = LOSSES.build(dict(type='LogitAdjustedCrossEntropyLoss',
                           class_counts=COUNTS))
    ce = LOSSES.build(dict(type='CrossEntropyLoss'))
    w_head, w_rare = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    assert la(logits, labels, w_head.double()) < ce(logits, labels,
                                                    w_head.double())
    assert la(logits, labels, w_rare.double()) > ce(logits, labels,
                                                    w_rare.double())


def test_balanced_class_weight_matches_torch():
    logits, labels = batch(2)
    loss = LOSSES.build(dict(type='CrossEntropyLoss', class_weight='balanced'))
    with pytest.raises(RuntimeError, match='ClassCountHook'):
        loss(logits, labels)
    loss.set_class_counts(COUNTS)
    weight = torch.tensor([sum(COUNTS) / (4 * n) for n in COUNTS],
                          dtype=torch.float64)
    expected = F.cross_entropy(logits, labels, weight=weight,
                               ignore_index=-1)
    torch.testing.assert_close(loss(logits, labels), expected)


def test_missing_prior_and_bad_counts_fail_clearly():
    logits, labels = batch()
    loss = LOSSES.build(dict(type='LogitAdjustedCrossEntropyLoss'))
    with pytest.raises(RuntimeError, match='ClassCountHook'):
        loss(logits, labels)
    with pytest.raises(ValueError, match='positive count for every class'):
        loss.set_class_counts([3, 0, 1, 2])
    loss.set_class_counts([1, 2, 3])
    with pytest.raises(ValueError, match='prior has 3 classes, the logits 4'):
        loss(logits, labels)
    with pytest.raises(ValueError, match='do not combine'):
        LOSSES.build(dict(type='LogitAdjustedCrossEntropyLoss',
                          class_weight=[1, 1, 1, 1]))
    with pytest.raises(ValueError, match="'balanced'"):
        LOSSES.build(dict(type='CrossEntropyLoss', class_weight='balance'))


def test_class_count_hook_feeds_the_head_loss(tmp_path, tiny_demo_root):
    """The default recipe's logit-adjusted loss trains with the labelled
    training split's class prior."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    from mer_test_utils import TINY_SIZES, write_tiny_config
    from mer_toolbox.datasets import DemoMERDataset
    from mer_toolbox.engine.setup_env import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(write_tiny_config(str(tmp_path / 'c.py'),
                                            tiny_demo_root, max_epochs=1))
    cfg.work_dir = str(tmp_path / 'w')
    runner = Runner.from_cfg(cfg)
    runner.train()
    loss = runner.model.head.loss_module
    assert type(loss).__name__ == 'LogitAdjustedCrossEntropyLoss'
    labels = DemoMERDataset('train', data_root=tiny_demo_root,
                            sizes=TINY_SIZES).labels()
    prior = np.bincount(labels, minlength=6) / len(labels)
    np.testing.assert_allclose(loss.log_prior.exp().numpy(), prior,
                               rtol=1e-6)
