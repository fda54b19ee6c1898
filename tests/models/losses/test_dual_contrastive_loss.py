"""BDCL / unbalanced DCL against the loop reference in benchmarks/."""
import importlib.util
from pathlib import Path
from typing import Dict

import pytest
import torch

from mer_toolbox.registry import LOSSES

_REF_PATH = Path(__file__).resolve().parents[3] / 'benchmarks' / '_bdcl_reference.py'
_spec = importlib.util.spec_from_file_location('_bdcl_reference', _REF_PATH)
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)

NAMES = ('video', 'audio', 'text')
# label 4 has a single member; -1 are unlabelled
LABELS = torch.tensor([0, 1, 2, 0, 1, -1, 0, 4, 1, 2, -1, 2])


def _feats(m: int, b: int = len(LABELS), d: int = 6, seed: int = 0,
           scale: float = 1.0) -> Dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {n: (scale * torch.randn(b, d, generator=g, dtype=torch.float64)).requires_grad_()
            for n in NAMES[:m]}


def _weights(b: int = len(LABELS)) -> torch.Tensor:
    return torch.linspace(0.2, 1.0, b, dtype=torch.float64)


def _build(balanced: bool = True, **kw):
    kind = 'BalancedDualContrastiveLoss' if balanced else 'UnbalancedDualContrastiveLoss'
    return LOSSES.build(dict(type=kind, **kw))


def _check_against_reference(feats, labels, weight=None, present=None,
                             balanced=True, **kw) -> None:
    loss = _build(balanced, lam_intra=0.3, lam_inter=0.7, **kw)
    out = loss(feats, labels, weight, present)
    expected = ref.reference_dual_contrastive(feats, labels, weight, present,
                                              balanced=balanced, **kw)
    prefix = 'loss_bdcl' if balanced else 'loss_dcl'
    torch.testing.assert_close(out[f'{prefix}_intra'], 0.3 * expected['intra'],
                               rtol=0, atol=1e-10)
    if len(feats) == 1:
        assert set(out) == {f'{prefix}_intra'}
        return
    torch.testing.assert_close(out[f'{prefix}_inter'], 0.7 * expected['inter'],
                               rtol=0, atol=1e-10)
    # Gradients agree too.
    got = torch.autograd.grad(sum(out.values()), list(feats.values()))
    want = torch.autograd.grad(0.3 * expected['intra'] + 0.7 * expected['inter'],
                               list(feats.values()))
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


@pytest.mark.parametrize('balanced', [True, False])
@pytest.mark.parametrize('num_modalities', [1, 2, 3])
@pytest.mark.parametrize('weighted', [False, True])
def test_matches_loop_reference(num_modalities, balanced, weighted):
    _check_against_reference(_feats(num_modalities), LABELS,
                             _weights() if weighted else None, balanced=balanced)


@pytest.mark.parametrize('kw', [
    dict(exclude_anchor=False),
    dict(count_present_classes_only=False, num_classes=6),
    dict(inter_include_own_clip=False),
    dict(normalize=False, tau=0.5),
    dict(tau=0.05, exclude_anchor=False, inter_include_own_clip=False),
])
@pytest.mark.parametrize('balanced', [True, False])
def test_options_match_loop_reference(kw, balanced):
    _check_against_reference(_feats(3, seed=1), LABELS, _weights(), balanced=balanced, **kw)


@pytest.mark.parametrize('own_clip', [True, False])
def test_missing_modalities_match_loop_reference(own_clip):
    g = torch.Generator().manual_seed(3)
    present = {n: torch.rand(len(LABELS), generator=g) > 0.3 for n in NAMES}
    _check_against_reference(_feats(3, seed=2), LABELS, _weights(), present,
                             inter_include_own_clip=own_clip)


def test_singleton_class_anchor_drops_out_of_c_b():
    # Anchor 2 is the only member of class 2: after exclusion it has no class
    # of its own, so C_B = 2 (classes 0, 1) for it, not 3.
    feats = _feats(1, b=5)
    labels = torch.tensor([0, 0, 2, 1, 1])
    log_d = _build().log_denominators(feats, labels)['intra'][0, 2]
    z = torch.nn.functional.normalize(feats['video'].detach(), dim=-1)
    e = torch.exp(z[2] @ z.T / 0.1)
    expected = torch.log((e[:2].mean() + e[3:].mean()) / 2)
    torch.testing.assert_close(log_d, expected, rtol=0, atol=1e-12)
    _check_against_reference(feats, labels)


def test_log_denominators_match_reference():
    feats = _feats(3, seed=4)
    for balanced in (True, False):
        got = _build(balanced).log_denominators(feats, LABELS)
        want = ref.reference_dual_contrastive(feats, LABELS, balanced=balanced)
        for key in ('intra', 'inter'):
            torch.testing.assert_close(got[key], ref.log_d_to_tensor(want[f'log_d_{key}']),
                                       rtol=0, atol=1e-10)


@pytest.mark.parametrize('exclude_anchor', [True, False])
def test_duplicating_a_class_keeps_balanced_denominators(exclude_anchor):
    feats = _feats(3, b=8, seed=5)
    labels = torch.tensor([0, 1, 2, 0, 1, 0, 2, 0])
    dup = labels == 0
    big = {n: torch.cat([f, f[dup], f[dup]]) for n, f in feats.items()}
    big_labels = torch.cat([labels, labels[dup], labels[dup]])
    # With the anchor excluded, class 0 anchors see their own copies, so only
    # the other classes' anchors keep exactly the same denominator.
    keep = ~dup if exclude_anchor else torch.ones_like(dup)
    for key in ('intra', 'inter'):
        bal = _build(exclude_anchor=exclude_anchor)
        before = bal.log_denominators(feats, labels)[key][:, keep]
        after = bal.log_denominators(big, big_labels)[key][:, :len(labels)][:, keep]
        torch.testing.assert_close(after, before, rtol=0, atol=1e-12)
        unbal = _build(False, exclude_anchor=exclude_anchor)
        before = unbal.log_denominators(feats, labels)[key][:, keep]
        after = unbal.log_denominators(big, big_labels)[key][:, :len(labels)][:, keep]
        assert (after - before).min() > 1e-6  # more class-0 mass, always


@pytest.mark.parametrize('balanced', [True, False])
def test_gradients_reach_every_modality_and_are_finite(balanced):
    feats = {n: f.detach().float().requires_grad_() for n, f in _feats(3).items()}
    out = _build(balanced)(feats, LABELS, _weights().float())
    sum(out.values()).backward()
    for f in feats.values():
        assert torch.isfinite(f.grad).all() and f.grad.abs().sum() > 0


def test_stable_with_small_tau_and_large_norms():
    feats = {n: f.detach().float().requires_grad_() for n, f in _feats(3, scale=1e3).items()}
    out = _build(tau=0.01, normalize=False)(feats, LABELS)
    total = sum(out.values())
    total.backward()
    assert torch.isfinite(total) and total > 0
    for f in feats.values():
        assert torch.isfinite(f.grad).all()


@pytest.mark.parametrize('labels', [torch.full((12,), -1), torch.zeros(0, dtype=torch.long)])
def test_no_labelled_sample_gives_zeros_with_grad(labels):
    feats = _feats(3, b=len(labels))
    out = _build()(feats, labels)
    assert set(out) == {'loss_bdcl_intra', 'loss_bdcl_inter'}
    for v in out.values():
        assert v.item() == 0 and v.requires_grad
    sum(out.values()).backward()
    for f in feats.values():
        assert torch.all(f.grad == 0)


def test_half_precision_inputs_are_computed_in_float32():
    feats = {n: f.detach().bfloat16() for n, f in _feats(2).items()}
    out = _build()(feats, LABELS)
    assert all(v.dtype == torch.float32 and torch.isfinite(v) for v in out.values())


def test_gather_flag_without_process_group_is_local():
    feats, w = _feats(3), _weights()
    a = _build(gather_distributed=True)(feats, LABELS, w)
    b = _build()(feats, LABELS, w)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)


def test_built_from_config_with_paper_defaults():
    loss = LOSSES.build(dict(type='BalancedDualContrastiveLoss', tau=0.1,
                             lam_inter=0.2, lam_intra=0.2))
    assert (loss.tau, loss.lam_inter, loss.lam_intra) == (0.1, 0.2, 0.2)
    assert loss.balanced and not LOSSES.build(
        dict(type='UnbalancedDualContrastiveLoss')).balanced


def test_unknown_type_names_close_matches():
    with pytest.raises(KeyError, match='BalancedDualContrastiveLoss'):
        LOSSES.build(dict(type='BalancedDualContrastivLoss'))


def test_bad_input_fails_loudly():
    loss = _build()
    feats = _feats(2)
    with pytest.raises(ValueError, match='one shape'):
        loss({'video': feats['video'], 'audio': feats['audio'][:5]}, LABELS)
    with pytest.raises(ValueError, match='labels must have shape'):
        loss(feats, LABELS[:5])
    with pytest.raises(ValueError, match='labels must lie in'):
        loss(feats, LABELS - 2)
    with pytest.raises(ValueError, match='num_classes'):
        _build(count_present_classes_only=False)
    with pytest.raises(ValueError, match='weight must have shape'):
        loss(feats, LABELS, torch.ones(3))
    with pytest.raises(ValueError, match=r"no mask for modalities \['audio'\]"):
        loss(feats, LABELS, present={'video': torch.ones(len(LABELS), dtype=torch.bool)})


def test_memory_queue_equals_batch_plus_zero_weight_clips():
    """With a queue, the loss is the exact BDCL of the batch followed by the
    remembered clips as weight-0 candidates (positives / negatives, never
    anchors); the queue keeps the newest labelled clips only."""
    from mer_toolbox.models.losses import BalancedDualContrastiveLoss
    g = torch.Generator().manual_seed(0)
    make = lambda n: ({m: torch.randn(n, 8, generator=g, dtype=torch.float64)  # noqa: E731
                       for m in ('video', 'audio')},
                      torch.randint(0, 3, (n,), generator=g))
    queued = BalancedDualContrastiveLoss(memory_size=10)
    exact = BalancedDualContrastiveLoss()
    first, y1 = make(6)
    y1[0] = -1  # unlabelled: never remembered
    torch.testing.assert_close(queued(first, y1), exact(first, y1))
    assert len(queued._memory['labels']) == 5
    second, y2 = make(6)
    joined = {m: torch.cat([second[m], first[m][1:]]) for m in second}
    weight = torch.cat([torch.ones(6), torch.zeros(5)]).double()
    expected = exact(joined, torch.cat([y2, y1[1:]]), weight)
    torch.testing.assert_close(queued(second, y2), expected)
    assert len(queued._memory['labels']) == 10  # 6 new + 4 of the 5 old
    # evaluation never reads or fills the queue
    queued.eval()
    torch.testing.assert_close(queued(second, y2), exact(second, y2))
    with pytest.raises(ValueError, match='memory_size'):
        BalancedDualContrastiveLoss(memory_size=-1)
