"""Logistic-regression references on the real dev sets, trained on train
only and refitted on train + val (the protocol of
``tools/cross_validate.py --include-val``), for like-for-like comparisons.

    REALDEV_DIR=/path/to/realdev python benchmarks/realdev_logreg.py

Inputs are the modalities concatenated and standardised (statistics of the
data the model is fitted on); ``C`` is chosen from 1e-4 ... 100 by val WAF
with the train-only fit, then reused for the refit. A file with speaker ids
(``<split>__actor``) is also run with every modality centred per speaker
within each split, as the feature-folder recipe does (its own numpy
implementation here). Test is scored once per row. Prints a Markdown table
(WAF, macro-F1, UAR in %).
"""
import argparse
import itertools
import os
import os.path as osp

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, recall_score
from sklearn.preprocessing import StandardScaler

FILES = dict(meld='meld_text_dev.npz', ravdess='ravdess_av_dev.npz')
GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)


SPEAKER_KEY = 'actor'


def centre_per_speaker(x: np.ndarray, speaker: np.ndarray) -> np.ndarray:
    """``x (N, D)`` minus the mean of each speaker's rows."""
    out = x.astype(np.float64)
    for s in np.unique(speaker):
        rows = speaker == s
        out[rows] -= out[rows].mean(0)
    return out


def split_arrays(path: str, centred: bool = False):
    """``{split: (X (N, sum D_m), y (N,))}`` of one dev file, optionally
    centred per speaker (``None`` when the file names no speakers)."""
    z = np.load(path, allow_pickle=False)
    modalities = [str(m) for m in z['modalities']]
    if centred and f'train__{SPEAKER_KEY}' not in z.files:
        return None
    out = {}
    for s in ('train', 'val', 'test'):
        blocks = [z[f'{s}__{m}'] for m in modalities]
        if centred:
            blocks = [centre_per_speaker(b, z[f'{s}__{SPEAKER_KEY}'])
                      for b in blocks]
        out[s] = (np.concatenate(blocks, 1), z[f'{s}__y'])
    return out


def fit(X: np.ndarray, y: np.ndarray, C: float, balanced: bool):
    scaler = StandardScaler().fit(X)
    clf = LogisticRegression(C=C, max_iter=3000,
                             class_weight='balanced' if balanced else None)
    return scaler, clf.fit(scaler.transform(X), y)


def scores(model, X: np.ndarray, y: np.ndarray) -> tuple:
    scaler, clf = model
    pred = clf.predict(scaler.transform(X))
    return (100 * f1_score(y, pred, average='weighted'),
            100 * f1_score(y, pred, average='macro'),
            100 * recall_score(y, pred, average='macro'))


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-dir', default=os.environ.get('REALDEV_DIR'),
                        help='folder of the npz files (default: $REALDEV_DIR)')
    args = parser.parse_args(argv)
    if not args.data_dir:
        parser.error('set REALDEV_DIR or --data-dir')
    rows = []
    for (name, file), centred in itertools.product(FILES.items(),
                                                   (False, True)):
        data = split_arrays(osp.join(args.data_dir, file), centred)
        if data is None:
            continue
        (Xtr, ytr), (Xva, yva), (Xte, yte) = (data[s] for s in
                                              ('train', 'val', 'test'))
        for balanced in (False, True):
            C = max(GRID, key=lambda c: scores(fit(Xtr, ytr, c, balanced),
                                               Xva, yva)[0])
            refit = fit(np.concatenate([Xtr, Xva]), np.concatenate([ytr, yva]),
                        C, balanced)
            for protocol, model in (('train', fit(Xtr, ytr, C, balanced)),
                                    ('train + val', refit)):
                rows.append((name, 'yes' if centred else 'no',
                             'balanced' if balanced else 'plain',
                             protocol, C, *scores(model, Xte, yte)))
    print('| data | centred per speaker | weights | fitted on | C | WAF | '
          'macro-F1 | UAR |')
    print('|---|---|---|---|---|---|---|---|')
    for row in rows:
        print('| {} | {} | {} | {} | {:g} | {:.1f} | {:.1f} | {:.1f} |'
              .format(*row))
    return rows


if __name__ == '__main__':
    main()
