"""The simulated teacher of the demo data, and priors attached to samples."""
import csv
import os.path as osp

import numpy as np
import pytest

from mer_toolbox.constants import MER2024_CLASSES
from mer_toolbox.datasets import (DEMO_PRIOR_FILE, DemoMERDataset,
                                  demo_prior_report, ensure_demo_priors)
from mer_toolbox.datasets.demo_priors import (INFORMATIVE_GAIN, MODALITIES,
                                              simulate_teacher)
from mer_toolbox.fileio.facs import AU_EMOTION_TABLE
from mer_toolbox.fileio.prior_embeddings import load_prior_embeddings

from mer_test_utils import TINY_SIZES


@pytest.fixture(scope='module')
def priors(tiny_demo_root):
    path = ensure_demo_priors(tiny_demo_root)
    with open(osp.join(tiny_demo_root, 'hidden', 'clip_factors.csv')) as f:
        factors = {r['name']: r for r in csv.DictReader(f)}
    records = {r.name: r for r in simulate_teacher(tiny_demo_root)}
    return dict(root=tiny_demo_root, cache=load_prior_embeddings(path),
                factors=factors, records=records)


def test_teacher_accuracy_is_near_the_papers_gemini(priors):
    ok = [r for r in priors['records'].values() if r.ok]
    truth = [priors['factors'][r.name]['label'] for r in ok]
    accuracy = np.mean([r.label == t for r, t in zip(ok, truth)])
    assert 0.65 <= accuracy <= 0.79
    report = demo_prior_report(priors['root'])
    assert set(report) == {'train', 'val', 'test'}
    assert sum(s['clips'] for s in report.values()) == sum(
        TINY_SIZES[k] for k in report)
    failed = sum(s['failed'] for s in report.values())
    assert 0 < failed < 0.1 * len(priors['records'])  # fallback exercised


def test_wrong_labels_are_plausible_confusions(priors):
    confusions = [(priors['factors'][r.name]['label'], r.label)
                  for r in priors['records'].values()
                  if r.ok and r.label != priors['factors'][r.name]['label']]
    assert confusions
    assert ('happy', 'sad') not in confusions  # not a plausible mix-up
    assert sum(t == 'worried' and p in ('sad', 'neutral')
               for t, p in confusions) > 0


def test_action_units_follow_the_teachers_label(priors):
    inside = total = 0
    for r in priors['records'].values():
        if not r.ok:
            continue
        row = AU_EMOTION_TABLE[r.label]
        if not row:
            assert len(r.action_units) <= 1  # neutral: at most noise
            continue
        inside += sum(au in row for au in r.action_units)
        total += len(r.action_units)
    assert inside / total > 0.85


def test_contributions_sum_to_one_and_favour_the_informative_modality(priors):
    weights, gains = [], []
    for name, entry in priors['cache'].items():
        if not entry['has_prior']:
            assert not entry['contributions'].any()
            continue
        weights.append(np.asarray(entry['contributions']))
        gains.append([float(priors['factors'][name][f'gain_{m}'])
                      for m in MODALITIES])
    weights, gains = np.array(weights), np.array(gains)  # (N, 3)
    np.testing.assert_allclose(weights.sum(1), 1.0, atol=1e-5)
    informative = gains > INFORMATIVE_GAIN
    for j, m in enumerate(MODALITIES):
        assert weights[informative[:, j], j].mean() > \
            2 * weights[~informative[:, j], j].mean(), m
    agree = (weights.argmax(1) == gains.argmax(1)).mean()
    assert agree > 0.6


def test_deterministic_and_guarded(priors, tmp_path):
    again = {r.name: r.to_dict() for r in simulate_teacher(priors['root'])}
    assert again == {k: r.to_dict() for k, r in priors['records'].items()}
    other = simulate_teacher(priors['root'], seed=1)
    assert [r.label for r in other] != [
        r.label for r in priors['records'].values()]
    with pytest.raises(ValueError, match='demo priors made with'):
        ensure_demo_priors(priors['root'], accuracy=0.9)
    with pytest.raises(FileNotFoundError, match='clip_factors'):
        ensure_demo_priors(str(tmp_path))


def test_dataset_attaches_priors(priors):
    ds = DemoMERDataset('val', data_root=priors['root'], sizes=TINY_SIZES,
                        with_priors=True)
    assert ds.prior_file == osp.join(priors['root'], DEMO_PRIOR_FILE)
    samples = [ds[i]['data_samples'] for i in range(len(ds))]
    has = [bool(s.prior['has_prior']) for s in samples]
    assert any(has)
    first = samples[has.index(True)]
    assert first.prior['video'].shape == (58 + 128,)
    assert first.prior['audio'].shape == first.prior['text'].shape == (128,)
    assert first.prior['scores'].shape == (len(MER2024_CLASSES),)
    for s, flag in zip(samples, has):
        assert flag == priors['records'][s.name].ok
    pool = DemoMERDataset('pool', data_root=priors['root'], sizes=TINY_SIZES,
                          with_priors=True)
    assert not pool[0]['data_samples'].prior['has_prior']  # no teacher run
    plain = DemoMERDataset('val', data_root=priors['root'], sizes=TINY_SIZES)
    assert 'prior' not in plain[0]['data_samples']


def test_missing_prior_cache_fails_at_construction(priors):
    with pytest.raises(FileNotFoundError, match='no_such.emb'):
        DemoMERDataset('val', data_root=priors['root'], sizes=TINY_SIZES,
                       prior_file='priors/no_such.emb')
