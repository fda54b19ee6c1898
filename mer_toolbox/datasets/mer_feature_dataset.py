"""Pre-extracted multimodal features + MER labels as an MMEngine dataset."""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from ..constants import MER2024_CLASSES
from ..priors.prior_cache import load_prior_embeddings, prior_embedding_meta
from ..registry import DATASETS
from ..structures import EmotionSample
from .feature_store import check_feature, open_feature_store
from .label_file import read_label_csv

MISSING_POLICIES = ('error', 'mask')


@DATASETS.register_module()
class MERFeatureDataset(BaseDataset):
    """Clips described by a label CSV, features read from feature stores.

    Each item is ``dict(inputs={modality: Tensor}, data_samples=EmotionSample)``
    (the contract of :mod:`mer_toolbox.structures.emotion_sample`); tensors
    are ``(D,)`` for utterance-level and ``(T, D)`` for frame-level features.

    Args:
        ann_file: label CSV (``name,discrete``) or, with ``labelled=False``, a
            clip list (``name``); relative to ``data_root``.
        data_prefix: ``{modality: feature-set folder}``, relative to
            ``data_root``; its keys are the modalities this dataset serves.
        modalities: modalities to load (default: every key of
            ``data_prefix``). Must all be in ``data_prefix``.
        feature_dims: expected feature size per modality; checked on every
            clip (``None`` skips the check).
        layout: feature layout, ``'auto'`` / ``'npy'`` / ``'packed'``.
        labelled: whether ``ann_file`` carries labels (``False``: label -1).
        label_column: label column of the CSV.
        missing_modality: ``'error'`` (default) fails when a clip lacks a
            feature file; ``'mask'`` feeds zeros, marks the modality absent in
            ``EmotionSample.modality_present`` and logs how many were masked.
        metainfo: overrides, e.g. ``dict(classes=(...))``.
        prior_file: a prior embedding cache folder
            (:func:`mer_toolbox.priors.build_prior_embeddings`), relative to
            ``data_root``. Each sample then carries ``prior``: the clip's
            arrays as tensors plus ``has_prior`` (False when the teacher
            failed or the clip is not in the cache; stage 2 falls back).
        subset_file: a CSV with a ``name`` column (other columns ignored),
            relative to ``data_root``: keep only these clips of ``ann_file``,
            in ``ann_file`` order. A name not in ``ann_file`` is an error.
            Cross-validation folds use it (``tools/cross_validate.py``).
        **kwargs: forwarded to :class:`mmengine.dataset.BaseDataset`.
    """

    METAINFO = dict(classes=MER2024_CLASSES)

    def __init__(self,
                 ann_file: str,
                 data_prefix: Dict[str, str],
                 modalities: Optional[Sequence[str]] = None,
                 feature_dims: Optional[Dict[str, int]] = None,
                 layout: str = 'auto',
                 labelled: bool = True,
                 label_column: str = 'discrete',
                 missing_modality: str = 'error',
                 data_root: str = '',
                 metainfo: Optional[dict] = None,
                 prior_file: Optional[str] = None,
                 subset_file: Optional[str] = None,
                 **kwargs) -> None:
        if missing_modality not in MISSING_POLICIES:
            raise ValueError(f'missing_modality must be one of '
                             f'{MISSING_POLICIES}, got {missing_modality!r}')
        if not data_prefix:
            raise ValueError('data_prefix must map each modality to its '
                             'feature-set folder, got an empty mapping')
        modalities = list(modalities or data_prefix)
        unknown = [m for m in modalities if m not in data_prefix]
        if unknown:
            raise ValueError(
                f'modalities {unknown} are not in the data: data_prefix only '
                f'has feature folders for {sorted(data_prefix)}')
        self.modalities = modalities
        self.feature_dims = dict(feature_dims or {})
        self.layout = layout
        self.labelled = labelled
        self.label_column = label_column
        self.missing_modality = missing_modality
        self._stores: Optional[dict] = None
        self._levels: Dict[str, Tuple[int, str]] = {}  # see load_checked
        self.pseudo_labels = None  # see attach_pseudo_labels
        self.prior_file = (osp.join(data_root, prior_file) if prior_file
                           and data_root and not osp.isabs(prior_file)
                           else prior_file)
        self._priors: Optional[dict] = None
        self.subset_file = (osp.join(data_root, subset_file) if subset_file
                            and data_root and not osp.isabs(subset_file)
                            else subset_file)
        super().__init__(ann_file=ann_file, data_root=data_root,
                         data_prefix=dict(data_prefix), metainfo=metainfo,
                         **kwargs)
        if self.prior_file:
            self._report_priors()

    # ------------------------------------------------------------- loading
    @property
    def classes(self) -> Tuple[str, ...]:
        return tuple(self.metainfo['classes'])

    def stores(self) -> dict:
        """Open feature stores lazily (they are not shipped to workers)."""
        if self._stores is None:
            self._stores = {
                m: open_feature_store(self.data_prefix[m], self.layout)
                for m in self.modalities
            }
        return self._stores

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state['_stores'] = None  # memory maps / name sets reopen per process
        state['_priors'] = None
        return state

    def priors(self) -> dict:
        """Clip name -> memory-mapped prior arrays, opened lazily."""
        if self._priors is None:
            meta = prior_embedding_meta(self.prior_file)
            if tuple(meta['classes']) != self.classes:
                raise ValueError(f'{self.prior_file}: prior scores use '
                                 f'classes {meta["classes"]}, the dataset '
                                 f'{list(self.classes)}')
            self._priors = load_prior_embeddings(self.prior_file)
        return self._priors

    def _report_priors(self) -> None:
        """Fail early on a missing cache; log how many clips have a prior."""
        if not osp.isdir(self.prior_file):
            raise FileNotFoundError(
                f'prior_file {self.prior_file!r} does not exist; build it '
                'with tools/generate_priors.py (the cache is <store>.emb)')
        priors = self.priors()
        names = self.clip_names()
        have = sum(bool(priors[n]['has_prior']) for n in names if n in priors)
        print_log(f'{self.ann_file}: {have}/{len(names)} clips have a prior '
                  f'in {self.prior_file}; the others use the no-prior '
                  'fallback', logger='current')

    def load_prior(self, name: str) -> dict:
        """One clip's prior as tensors (``{'has_prior': False}`` if none)."""
        entry = self.priors().get(name)
        if entry is None or not bool(entry['has_prior']):
            return dict(has_prior=False)
        out = {k: torch.from_numpy(np.array(v, dtype=np.float32))
               for k, v in entry.items() if k != 'has_prior'}
        return dict(out, has_prior=True)

    def load_data_list(self) -> List[dict]:
        repeated = sorted({c for c in self.classes
                           if self.classes.count(c) > 1})
        if repeated:  # one class would never be trained, metric keys clash
            raise ValueError(
                f'{self.ann_file}: metainfo.classes names {repeated} more '
                f'than once ({list(self.classes)}); expected each class once')
        rows = read_label_csv(self.ann_file, self.classes, self.labelled,
                              self.label_column)
        if self.subset_file:
            rows = self._select_subset(rows)
        stores = self.stores()
        present = {m: np.array([n in stores[m] for n, _ in rows])
                   for m in self.modalities}
        for m, flags in present.items():
            missing = [rows[i][0] for i in np.flatnonzero(~flags)]
            if not missing:
                continue
            if self.missing_modality == 'error':
                raise FileNotFoundError(
                    f'{len(missing)} clip(s) of {self.ann_file} have no '
                    f'{m!r} features in {self.data_prefix[m]} (e.g. '
                    f'{missing[:5]}); set missing_modality="mask" to train '
                    'with the modality masked for them')
            print_log(f'{self.ann_file}: {len(missing)}/{len(rows)} clips '
                      f'have no {m!r} features; masked (missing_modality='
                      '"mask")', logger='current')
        self._check_dims(rows, present)
        return [
            dict(name=name, gt_label=label, sample_idx=i,
                 modality_present={m: bool(present[m][i])
                                   for m in self.modalities})
            for i, (name, label) in enumerate(rows)
        ]

    def _select_subset(self, rows: list) -> list:
        """The rows of ``ann_file`` named in ``subset_file``."""
        wanted = {n for n, _ in read_label_csv(self.subset_file, self.classes,
                                               labelled=False)}
        unknown = sorted(wanted - {n for n, _ in rows})
        if unknown:
            raise ValueError(f'{self.subset_file}: {len(unknown)} clip(s) are '
                             f'not in {self.ann_file} (e.g. {unknown[:5]}); '
                             'a subset must name clips of the split')
        return [row for row in rows if row[0] in wanted]

    def _check_dims(self, rows: list, present: dict) -> None:
        """Fail at start-up (not mid-epoch) on a wrong feature size."""
        for m in self.modalities:
            idx = np.flatnonzero(present[m])
            if len(idx) == 0:
                raise ValueError(f'no clip of {self.ann_file} has {m!r} '
                                 f'features in {self.data_prefix[m]}')
            array = self.load_checked(m, rows[idx[0]][0])
            self.feature_dims.setdefault(m, int(array.shape[-1]))

    def load_checked(self, modality: str, name: str) -> np.ndarray:
        """One clip's features, validated (:func:`check_feature`).

        A feature folder is either utterance-level ``(D,)`` or frame-level
        ``(T, D)``: the first clip read sets the level and every other clip
        must match it (one stray ``(3, 8)`` would otherwise turn its whole
        batch frame-level).
        """
        array = self.stores()[modality].load(name)
        where = f'{self.data_prefix[modality]}/{name}'
        check_feature(array, where, self.feature_dims.get(modality))
        ndim, first = self._levels.setdefault(modality, (array.ndim, name))
        if array.ndim != ndim:
            level = {1: 'utterance-level (D,)', 2: 'frame-level (T, D)'}
            raise ValueError(
                f'{where}: shape {tuple(array.shape)} is {level[array.ndim]}'
                f' but its folder is {level[ndim]} (e.g. clip {first!r}); '
                'expected one level per feature folder')
        return array

    # ------------------------------------------------------------- samples
    def attach_pseudo_labels(self, table) -> None:
        """Route labels of this (unlabelled) dataset through ``table``.

        ``table`` maps a sample index to ``(label, weight)`` (see
        :class:`mer_toolbox.datasets.PseudoLabelTable`); unselected samples
        keep label -1 and take no part in the losses.
        """
        self.pseudo_labels = table

    def label_and_weight(self, idx: int, info: dict) -> Tuple[int, float]:
        label = int(info['gt_label'])
        if label < 0 and self.pseudo_labels is not None:
            return self.pseudo_labels.lookup(idx)
        return label, 1.0

    def load_features(self, name: str, present: Dict[str, bool]
                      ) -> Dict[str, torch.Tensor]:
        """Read and validate one clip's features ``{modality: (D,) | (T, D)}``."""
        inputs = {}
        for m in self.modalities:
            dim = self.feature_dims[m]
            if not present[m]:
                inputs[m] = torch.zeros(dim)  # masked: model sees absent
                continue
            array = self.load_checked(m, name)
            inputs[m] = torch.from_numpy(np.ascontiguousarray(
                array, dtype=np.float32))
        return inputs

    def prepare_data(self, idx: int) -> dict:
        info = self.get_data_info(idx)
        inputs = self.load_features(info['name'], info['modality_present'])
        label, weight = self.label_and_weight(idx, info)
        sample = EmotionSample(metainfo=dict(name=info['name'],
                                             sample_idx=idx))
        sample.set_gt_label(label)
        sample.weight = float(weight)
        sample.modality_present = dict(info['modality_present'])
        sample.lengths = {m: (int(x.shape[0]) if x.dim() == 2 else 1)
                          for m, x in inputs.items()}
        if self.prior_file:
            sample.prior = self.load_prior(info['name'])
        return self.pipeline(dict(inputs=inputs, data_samples=sample))

    # ----------------------------------------------------------- statistics
    def feature_statistics(self, modality: str, eps: float = 1e-6
                           ) -> Tuple[np.ndarray, np.ndarray]:
        """Mean and std ``(D,)`` of one modality over this split's clips.

        Frame-level features contribute every frame. Masked clips are
        skipped. Every clip is validated (:meth:`load_checked`), so a NaN
        anywhere is reported with its clip, not as a bad statistic.
        Computed in float64 in one pass (sum and sum of squares).
        """
        total = np.zeros(self.feature_dims[modality], np.float64)
        total_sq = np.zeros_like(total)
        count = 0
        for i in range(len(self)):
            info = self.get_data_info(i)
            if not info['modality_present'][modality]:
                continue
            array = self.load_checked(modality, info['name']).astype(
                np.float64)
            array = array.reshape(-1, array.shape[-1])  # (T, D)
            total += array.sum(0)
            total_sq += (array ** 2).sum(0)
            count += array.shape[0]
        if count == 0:
            raise ValueError(f'{self.ann_file}: no {modality!r} features to '
                             'compute normalisation statistics from')
        mean = total / count
        std = np.sqrt(np.maximum(total_sq / count - mean ** 2, 0.0)) + eps
        return mean.astype(np.float32), std.astype(np.float32)

    def load_rows(self, start: int, stop: int) -> Dict[str, np.ndarray]:
        """Utterance-level features of samples ``[start, stop)`` as arrays.

        The fast path for bulk inference (pseudo-labelling a 115k-clip pool):
        a packed store returns one slice of its memory map when the rows are
        contiguous, skipping per-sample objects and collation.

        Returns:
            ``{modality: (stop - start, D)}`` float32 arrays.

        Raises:
            ValueError: frame-level features, masked clips or invalid values
                (the message names the first offending clip).
        """
        names = self.clip_names()[start:stop]
        out = {}
        for m in self.modalities:
            store = self.stores()[m]
            if getattr(store, 'frame_level', False):
                raise ValueError(f'load_rows needs utterance-level features; '
                                 f'{self.data_prefix[m]} is frame level')
            if hasattr(store, 'row_index'):
                rows = np.array([store.row_index(n) for n in names])
                if len(rows) and (np.diff(rows) == 1).all():
                    block = store.data[rows[0]:rows[-1] + 1]
                else:
                    block = store.data[rows]
                block = np.asarray(block, dtype=np.float32)
            else:
                block = np.stack([store.load(n) for n in names]).astype(
                    np.float32)
            if block.ndim != 2 or block.shape[1] != self.feature_dims[m]:
                raise ValueError(f'{self.data_prefix[m]}: expected (N, '
                                 f'{self.feature_dims[m]}) utterance-level '
                                 f'rows, got {block.shape}')
            # NaN/Inf make a row sum non-finite (one cheap pass); rows whose
            # sum merely overflowed are cleared by the exact check.
            with np.errstate(over='ignore', invalid='ignore'):
                suspect = np.flatnonzero(~np.isfinite(block.sum(1)))
            bad = suspect[~np.isfinite(block[suspect]).all(1)]
            if len(bad):
                raise ValueError(f'{self.data_prefix[m]}/{names[bad[0]]}: '
                                 'NaN/Inf value(s) in the features')
            out[m] = block
        return out

    def clip_names(self) -> List[str]:
        """Clip names in sample order, read once per data list.

        ``get_data_info`` unpickles a record per call: for a 115k-clip pool
        that is ~1 s per pseudo-labelling round, so the names are cached (invalidated when ``data_list`` / its serialised form is
        replaced, e.g. by ``get_subset_``).
        """
        source = self.data_address if self.serialize_data else self.data_list
        cached = getattr(self, '_names_cache', None)
        if cached is None or cached[0] is not source:
            names = [self.get_data_info(i)['name'] for i in range(len(self))]
            self._names_cache = (source, names)
        return self._names_cache[1]

    def labels(self) -> np.ndarray:
        """Ground-truth labels ``(N,)`` of the split (-1 when unlabelled)."""
        return np.array([self.get_data_info(i)['gt_label']
                         for i in range(len(self))], dtype=np.int64)


def clip_names_of(dataset) -> List[str]:
    """Clip names of any dataset in sample order (cached when it can)."""
    if hasattr(dataset, 'clip_names'):
        return dataset.clip_names()
    return [dataset.get_data_info(i)['name'] for i in range(len(dataset))]
