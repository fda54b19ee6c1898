"""The MER submission CSV: ``name,discrete,<class_1>,...,<class_C>``."""
import csv
import os
import os.path as osp
from typing import Sequence

import numpy as np


def write_predictions_csv(path: str, names: Sequence[str],
                          scores: np.ndarray,
                          class_names: Sequence[str]) -> None:
    """One row per clip: its name, the arg-max class name (the MER
    submission column ``discrete``) and the ``(C,)`` class probabilities.

    Args:
        path: output CSV (folders are created).
        names: ``N`` clip names.
        scores: ``(N, C)`` class probabilities.
        class_names: the ``C`` class names, in score order.
    """
    scores = np.asarray(scores)
    if scores.shape != (len(names), len(class_names)):
        raise ValueError(f'scores {scores.shape} do not fit {len(names)} '
                         f'clips x {len(class_names)} classes')
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', encoding='utf-8', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['name', 'discrete', *class_names])
        for name, score in zip(names, scores):
            writer.writerow([name, class_names[int(np.argmax(score))],
                             *(f'{float(p):.6g}' for p in score)])
