"""The side table of pseudo-labels for an unlabelled pool.

MMEngine's ``BaseDataset(serialize_data=True)`` drops ``data_list`` after
serialising it, and DataLoader workers hold copies of the dataset, so labels
that change during training cannot live in the dataset's records. They live
here, in tensors moved to shared memory *before* workers start: an update in
the main process is seen by every (persistent) worker of the same loader.
"""
import hashlib
from typing import Dict, Sequence, Tuple

import numpy as np
import torch


def names_fingerprint(names: Sequence[str]) -> str:
    """A short hash of the pool's clip names, in order."""
    digest = hashlib.sha1()
    for name in names:
        digest.update(name.encode('utf-8') + b'\n')
    return digest.hexdigest()[:16]


class PseudoLabelTable:
    """Per pool sample: pseudo-label (-1 = not selected), weight, confidence.

    Args:
        names: the pool's clip names in dataset order (for the fingerprint
            that detects a changed pool on resume).
    """

    def __init__(self, names: Sequence[str]) -> None:
        n = len(names)
        self.fingerprint = names_fingerprint(names)
        self.labels = torch.full((n,), -1, dtype=torch.long).share_memory_()
        self.weights = torch.zeros(n).share_memory_()
        self.confidence = torch.zeros(n).share_memory_()
        self.rounds = 0

    def __len__(self) -> int:
        return self.labels.numel()

    def lookup(self, idx: int) -> Tuple[int, float]:
        """``(label, weight)`` of pool sample ``idx``."""
        return int(self.labels[idx]), float(self.weights[idx])

    def selected(self) -> np.ndarray:
        """Indices of pool samples that currently carry a pseudo-label."""
        return torch.nonzero(self.labels >= 0)[:, 0].numpy()

    def update(self, labels: np.ndarray, weights: np.ndarray,
               confidence: np.ndarray) -> None:
        """Replace the whole selection (in place: workers share the memory)."""
        self.labels.copy_(torch.as_tensor(labels, dtype=torch.long))
        self.weights.copy_(torch.as_tensor(weights, dtype=torch.float32))
        self.confidence.copy_(torch.as_tensor(confidence, dtype=torch.float32))
        self.rounds += 1

    def state_dict(self) -> Dict:
        return dict(fingerprint=self.fingerprint, rounds=self.rounds,
                    labels=self.labels.clone(), weights=self.weights.clone(),
                    confidence=self.confidence.clone())

    def load_state_dict(self, state: Dict) -> None:
        if state['fingerprint'] != self.fingerprint or \
                len(state['labels']) != len(self):
            raise ValueError(
                'the unlabelled pool changed since the checkpoint was saved '
                f'(checkpoint: {len(state["labels"])} clips, fingerprint '
                f'{state["fingerprint"]}; now: {len(self)} clips, '
                f'{self.fingerprint}); resume with the original pool or '
                'start a new run')
        self.labels.copy_(state['labels'])
        self.weights.copy_(state['weights'])
        self.confidence.copy_(state['confidence'])
        self.rounds = int(state['rounds'])
