"""ClassBalancedSampler: equal class shares, reproducible, labelled only."""
import numpy as np
import pytest

from mer_toolbox.datasets import ClassBalancedSampler


class Labels:
    def __init__(self, labels):
        self._labels = np.asarray(labels)

    def labels(self):
        return self._labels

    def __len__(self):
        return len(self._labels)


LABELS = [0] * 80 + [1] * 15 + [2] * 5 + [-1] * 10


def shares(indices):
    drawn = np.asarray(LABELS)[indices]
    return np.bincount(drawn, minlength=3) / len(drawn)


def test_classes_are_drawn_equally_often():
    sampler = ClassBalancedSampler(Labels(LABELS), num_samples=30000, seed=0)
    indices = list(sampler)
    assert len(indices) == len(sampler) == 30000
    np.testing.assert_allclose(shares(indices), [1 / 3] * 3, atol=0.02)
    assert min(np.asarray(LABELS)[indices]) >= 0  # never unlabelled


def test_power_interpolates_to_uniform():
    uniform = ClassBalancedSampler(Labels(LABELS), power=0.0,
                                   num_samples=30000, seed=0)
    np.testing.assert_allclose(shares(list(uniform)), [0.8, 0.15, 0.05],
                               atol=0.02)
    sqrt = shares(list(ClassBalancedSampler(Labels(LABELS), power=0.5,
                                            num_samples=30000, seed=0)))
    assert 0.8 > sqrt[0] > 1 / 3 and 0.05 < sqrt[2] < 1 / 3


def test_epochs_differ_and_reproduce():
    a = ClassBalancedSampler(Labels(LABELS), seed=3)
    b = ClassBalancedSampler(Labels(LABELS), seed=3)
    first = list(a)
    assert first == list(b)
    assert len(first) == 100  # one epoch = the labelled clips
    a.set_epoch(1)
    assert list(a) != first


def test_bad_use_is_refused():
    with pytest.raises(TypeError, match='labels'):
        ClassBalancedSampler([1, 2, 3])
    with pytest.raises(ValueError, match='power'):
        ClassBalancedSampler(Labels(LABELS), power=-1)
    with pytest.raises(ValueError, match='no labelled clip'):
        ClassBalancedSampler(Labels([-1, -1]))
