"""Per-speaker centring of features (speaker normalisation).

Acoustic and facial features carry the speaker as much as the emotion: a
deep voice or a face that always shows some brow lowering shifts every clip
of that person. Subtracting each speaker's mean feature vector, computed over
that speaker's clips of the same split, removes the shift and leaves how a
clip differs from its speaker's usual (Busso et al. 2011 and much of speech
emotion recognition since). No labels are used, so test speakers are centred
on their own test clips; it needs several clips per speaker, and a speaker
column in the label files.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

#: Columns of a label CSV that name a clip's speaker, in the order
#: ``speaker_centering='auto'`` looks for them.
SPEAKER_COLUMNS = ('speaker', 'speaker_id', 'actor', 'subject')


def find_speaker_column(columns: Sequence[str]) -> Optional[str]:
    """The first of :data:`SPEAKER_COLUMNS` among ``columns``, else None."""
    return next((c for c in SPEAKER_COLUMNS if c in columns), None)


class SpeakerCentering:
    """Each speaker's mean feature vector, per modality, and its removal.

    Args:
        speakers: speaker id of each clip, in sample order.
        min_clips: fewest clips a speaker may have (a speaker with one clip
            would be centred to all zeros: nothing left to classify).
        source: how errors and logs name the clip list (its file).

    Raises:
        ValueError: a speaker with fewer than ``min_clips`` clips.
    """

    def __init__(self, speakers: Sequence[str], min_clips: int = 2,
                 source: str = 'the label file') -> None:
        ids, self.index = np.unique(np.asarray(speakers, dtype=str),
                                    return_inverse=True)
        self.speakers: List[str] = [str(s) for s in ids]
        counts = np.bincount(self.index, minlength=len(ids))
        few = [f'{s!r} ({n})' for s, n in zip(self.speakers, counts)
               if n < min_clips]
        if few:
            raise ValueError(
                f'{source}: speakers {few[:5]} have fewer than {min_clips} '
                'clips; centring features per speaker needs several clips '
                'of each speaker (one clip would be centred to zeros). Merge '
                'them into other speaker ids or set speaker_centering=None')
        self.counts = counts
        self.source = source
        #: modality -> (S, D) float64 mean of each speaker
        self.means: Dict[str, np.ndarray] = {}
        #: modality -> (D,) std of the centred features
        self.stds: Dict[str, np.ndarray] = {}

    def fit(self, modality: str, load, present: np.ndarray,
            eps: float = 1e-6) -> None:
        """Compute every speaker's mean of one modality (one pass).

        Args:
            modality: the modality.
            load: ``load(i)`` returns sample ``i``'s features ``(D,)`` or
                ``(T, D)`` (every frame counts).
            present: ``(N,)`` bool, samples that have the modality (the
                others are masked and skipped).
            eps: added to the centred std (as in the input statistics).

        Raises:
            ValueError: a speaker none of whose clips has the modality.
        """
        sums, sq, count = None, None, np.zeros(len(self.speakers))
        for i in np.flatnonzero(present):
            rows = np.asarray(load(i), np.float64)
            rows = rows.reshape(-1, rows.shape[-1])  # (T, D)
            if sums is None:
                sums = np.zeros((len(self.speakers), rows.shape[1]))
                sq = np.zeros_like(sums)
            s = self.index[i]
            sums[s] += rows.sum(0)
            sq[s] += (rows ** 2).sum(0)
            count[s] += rows.shape[0]
        empty = [s for s, n in zip(self.speakers, count) if n == 0]
        if empty:
            raise ValueError(
                f'{self.source}: speakers {empty[:5]} have no clip with '
                f'{modality!r} features, so their mean is unknown; remove '
                'their clips or set speaker_centering=None')
        means = sums / count[:, None]  # (S, D)
        # within-speaker variance pooled over speakers: the centred data's
        centred_var = (sq - count[:, None] * means ** 2).sum(0) / count.sum()
        self.means[modality] = means
        self.stds[modality] = (np.sqrt(np.maximum(centred_var, 0.0)) +
                               eps).astype(np.float32)

    def apply(self, modality: str, index: np.ndarray,
              features: np.ndarray) -> np.ndarray:
        """Centre features of samples ``index``.

        Args:
            modality: a fitted modality.
            index: sample indices, ``()`` for one sample or ``(N,)``.
            features: ``(D,)`` / ``(T, D)`` for one sample, ``(N, D)`` for
                many.

        Returns:
            float32 features of the same shape.
        """
        mean = self.means[modality][self.index[index]]  # (D,) | (N, D)
        return (features - mean).astype(np.float32)

    def statistics(self, modality: str) -> Tuple[np.ndarray, np.ndarray]:
        """Mean (zeros) and std ``(D,)`` of the centred features."""
        std = self.stds[modality]
        return np.zeros_like(std), std

    def describe(self) -> str:
        """One line for the log: speakers and clips per speaker."""
        low, high = int(self.counts.min()), int(self.counts.max())
        each = f'{low}' if low == high else f'{low}-{high}'
        return f'{len(self.speakers)} speakers, {each} clips each'
