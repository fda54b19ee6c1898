"""CrossEntropyLoss against torch's own cross-entropy."""
import pytest
import torch
import torch.nn.functional as F

from mer_toolbox.registry import LOSSES


def _data(b: int = 9, c: int = 6):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(b, c, generator=g, dtype=torch.float64, requires_grad=True)
    labels = torch.randint(0, c, (b,), generator=g)
    return logits, labels


@pytest.mark.parametrize('cfg', [
    dict(),
    dict(label_smoothing=0.1),
    dict(class_weight=[1.0, 2.0, 0.5, 1.5, 1.0, 3.0]),
    dict(class_weight=[1.0, 2.0, 0.5, 1.5, 1.0, 3.0], label_smoothing=0.2),
])
def test_matches_torch_without_sample_weights(cfg):
    logits, labels = _data()
    loss = LOSSES.build(dict(type='CrossEntropyLoss', **cfg))
    cw = cfg.get('class_weight')
    expected = F.cross_entropy(
        logits, labels, label_smoothing=cfg.get('label_smoothing', 0.0),
        weight=None if cw is None else torch.tensor(cw, dtype=torch.float64))
    torch.testing.assert_close(loss(logits, labels), expected, rtol=0, atol=1e-12)


def test_ignores_unlabelled_samples():
    logits, labels = _data()
    labels[[1, 4]] = -1
    keep = labels >= 0
    loss = LOSSES.build(dict(type='CrossEntropyLoss', loss_weight=2.0))
    expected = 2.0 * F.cross_entropy(logits[keep], labels[keep])
    torch.testing.assert_close(loss(logits, labels), expected, rtol=0, atol=1e-12)


def test_sample_weights_form_a_weighted_mean():
    logits, labels = _data()
    labels[0] = -1
    w = torch.linspace(0.1, 1.0, len(labels), dtype=torch.float64)
    per = F.cross_entropy(logits, labels, reduction='none', ignore_index=-1)
    valid = labels >= 0
    expected = (w * per)[valid].sum() / w[valid].sum()
    loss = LOSSES.build(dict(type='CrossEntropyLoss'))
    torch.testing.assert_close(loss(logits, labels, w), expected, rtol=0, atol=1e-12)
    # Scaling every weight leaves the mean unchanged; zeroing one drops it.
    torch.testing.assert_close(loss(logits, labels, 3 * w), expected, rtol=0, atol=1e-12)
    w0 = w.clone()
    w0[2] = 0
    keep = valid.clone()
    keep[2] = False
    torch.testing.assert_close(
        loss(logits, labels, w0), (w * per)[keep].sum() / w[keep].sum(), rtol=0, atol=1e-12)


def test_no_valid_sample_gives_zero_with_grad():
    logits, labels = _data()
    loss = LOSSES.build(dict(type='CrossEntropyLoss'))
    out = loss(logits, torch.full_like(labels, -1))
    assert out.item() == 0 and out.requires_grad
    out.backward()
    assert torch.all(logits.grad == 0)


def test_bad_labels_fail_loudly():
    logits, labels = _data()
    loss = LOSSES.build(dict(type='CrossEntropyLoss'))
    with pytest.raises(ValueError, match='labels must lie in'):
        loss(logits, torch.full_like(labels, 6))
    with pytest.raises(ValueError, match='class_weight has 2 entries'):
        LOSSES.build(dict(type='CrossEntropyLoss', class_weight=[1, 2]))(logits, labels)
