"""Validated reads of one split's features, one feature store per modality."""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..fileio.feature_store import check_feature, open_feature_store


class FeatureReader:
    """Opens each modality's feature store lazily and checks every read.

    Checks: shape ``(D,)`` or ``(T, D)``, the expected size ``D`` (from the
    config, else from the first clip read), floating point, finite values, and
    one level per feature folder (utterance or frame).

    Args:
        folders: ``{modality: feature-set folder}``.
        layout: ``'auto'`` / ``'npy'`` / ``'packed'``.
        dims: expected feature size per modality; missing ones are taken
            from the first clip read (see :meth:`fix_dims`).
    """

    def __init__(self, folders: Dict[str, str], layout: str = 'auto',
                 dims: Optional[Dict[str, int]] = None) -> None:
        self.folders = dict(folders)
        self.layout = layout
        self.dims = dict(dims or {})
        self._stores: Optional[dict] = None
        # modality -> (ndim, first clip read): the folder's level
        self._levels: Dict[str, Tuple[int, str]] = {}

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state['_stores'] = None  # memory maps / name sets reopen per process
        return state

    def stores(self) -> dict:
        """``{modality: store}``, opened on first use."""
        if self._stores is None:
            self._stores = {m: open_feature_store(f, self.layout)
                            for m, f in self.folders.items()}
        return self._stores

    def present(self, names: Sequence[str]) -> Dict[str, np.ndarray]:
        """``{modality: (N,) bool}``: which clips have features."""
        return {m: np.array([n in store for n in names], dtype=bool)
                for m, store in self.stores().items()}

    def fix_dims(self, modality: str, name: str) -> int:
        """Read ``name`` (checked) and fix the modality's size from it unless
        the config gave one; return the size."""
        array = self.load(modality, name)
        return self.dims.setdefault(modality, int(array.shape[-1]))

    def load(self, modality: str, name: str) -> np.ndarray:
        """One clip's features ``(D,)`` or ``(T, D)``, validated.

        The first clip read sets the folder's level and every other clip must
        match it (one stray ``(3, 8)`` would otherwise turn its whole batch
        frame-level).

        Raises:
            FileNotFoundError: no features for the clip.
            ValueError: a check failed; the message names folder and clip.
        """
        array = self.stores()[modality].load(name)
        where = f'{self.folders[modality]}/{name}'
        check_feature(array, where, self.dims.get(modality))
        ndim, first = self._levels.setdefault(modality, (array.ndim, name))
        if array.ndim != ndim:
            level = {1: 'utterance-level (D,)', 2: 'frame-level (T, D)'}
            raise ValueError(
                f'{where}: shape {tuple(array.shape)} is {level[array.ndim]}'
                f' but its folder is {level[ndim]} (e.g. clip {first!r}); '
                'expected one level per feature folder')
        return array

    def load_rows(self, modality: str, names: List[str]) -> np.ndarray:
        """Utterance-level features of ``names`` as one ``(N, D)`` float32
        array (the store's bulk read), validated.

        Raises:
            ValueError: frame-level features, a wrong size or NaN/Inf (the
                message names the first offending clip).
        """
        folder = self.folders[modality]
        block = np.asarray(self.stores()[modality].load_rows(names),
                           dtype=np.float32)
        dim = self.dims.get(modality)
        if block.ndim != 2 or block.shape[1] != dim:
            raise ValueError(f'{folder}: expected (N, {dim}) utterance-level '
                             f'rows, got {block.shape}')
        # NaN/Inf make a row sum non-finite (one cheap pass); rows whose sum
        # merely overflowed are cleared by the exact check.
        with np.errstate(over='ignore', invalid='ignore'):
            suspect = np.flatnonzero(~np.isfinite(block.sum(1)))
        bad = suspect[~np.isfinite(block[suspect]).all(1)]
        if len(bad):
            raise ValueError(f'{folder}/{names[bad[0]]}: NaN/Inf value(s) in '
                             'the features')
        return block

    def statistics(self, modality: str, names: Sequence[str],
                   eps: float = 1e-6) -> Tuple[np.ndarray, np.ndarray]:
        """Mean and std ``(D,)`` of one modality over ``names``.

        Frame-level features contribute every frame. Every clip is validated
        (:meth:`load`), so a NaN anywhere is reported with its clip, not as a
        bad statistic. Float64, one pass (sum and sum of squares).

        Raises:
            ValueError: ``names`` is empty.
        """
        total = np.zeros(self.dims[modality], np.float64)
        total_sq = np.zeros_like(total)
        count = 0
        for name in names:
            array = self.load(modality, name).astype(np.float64)
            array = array.reshape(-1, array.shape[-1])  # (T, D)
            total += array.sum(0)
            total_sq += (array ** 2).sum(0)
            count += array.shape[0]
        if count == 0:
            raise ValueError(f'{self.folders[modality]}: no {modality!r} '
                             'features to compute normalisation statistics '
                             'from')
        mean = total / count
        std = np.sqrt(np.maximum(total_sq / count - mean ** 2, 0.0)) + eps
        return mean.astype(np.float32), std.astype(np.float32)
