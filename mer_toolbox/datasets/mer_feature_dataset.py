"""Pre-extracted multimodal features + MER labels as an MMEngine dataset.

The dataset composes single-purpose pieces: the label file
(:mod:`mer_toolbox.fileio.label_file`), a :class:`.FeatureReader` (stores,
checks, bulk rows, statistics), a :class:`.PriorLookup` (stage-2 priors) and
a pseudo-label table; it owns only the sample list and the missing-modality
policy.
"""
import os.path as osp
from functools import partial
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from ..constants import MER2024_CLASSES
from ..fileio.label_file import keep_listed, read_label_column, read_label_csv
from ..registry import DATASETS
from ..structures import EmotionSample
from .feature_reader import FeatureReader
from .prior_lookup import PriorLookup
from .speaker_centering import SpeakerCentering

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
            (:func:`mer_toolbox.fileio.prior_embeddings.build_prior_embeddings`),
            relative to ``data_root``. Each sample then carries ``prior``: the clip's
            arrays as tensors plus ``has_prior`` (False when the teacher
            failed or the clip is not in the cache; stage 2 falls back).
        subset_file: a CSV with a ``name`` column (other columns ignored),
            relative to ``data_root``: keep only these clips of ``ann_file``,
            in ``ann_file`` order. A name not in ``ann_file`` is an error.
            Cross-validation folds use it (``tools/cross_validate.py``).
        speaker_centering: a column of ``ann_file`` naming each clip's
            speaker: every modality is then centred on the speaker's mean
            over this dataset's clips (:mod:`.speaker_centering`; no labels
            used, so test speakers are centred on their own test clips).
            ``None`` (default): off.
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
                 speaker_centering: Optional[str] = None,
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
        self.layout = layout
        self.labelled = labelled
        self.label_column = label_column
        self.missing_modality = missing_modality
        self.pseudo_labels = None  # see attach_pseudo_labels
        self.prior_file = (osp.join(data_root, prior_file) if prior_file
                           and data_root and not osp.isabs(prior_file)
                           else prior_file)
        self.subset_file = (osp.join(data_root, subset_file) if subset_file
                            and data_root and not osp.isabs(subset_file)
                            else subset_file)
        # data_prefix is joined with data_root by BaseDataset: the reader
        # gets its folders in load_data_list
        self._dims = dict(feature_dims or {})
        self.reader: Optional[FeatureReader] = None
        self.speaker_column = speaker_centering
        self.centering: Optional[SpeakerCentering] = None
        if speaker_centering:
            # travels with checkpoints (meta.dataset_meta), so single-clip
            # inference can refuse raw features (apis.inference_features)
            metainfo = dict(metainfo or {},
                            speaker_centering=speaker_centering)
        super().__init__(ann_file=ann_file, data_root=data_root,
                         data_prefix=dict(data_prefix), metainfo=metainfo,
                         **kwargs)
        self.priors: Optional[PriorLookup] = None
        if self.prior_file:
            self.priors = PriorLookup(self.prior_file, self.classes)
            names = self.clip_names()
            print_log(f'{self.ann_file}: {self.priors.count_with_prior(names)}'
                      f'/{len(names)} clips have a prior in {self.prior_file};'
                      ' the others use the no-prior fallback',
                      logger='current')

    # ------------------------------------------------------------- loading
    @property
    def classes(self) -> Tuple[str, ...]:
        return tuple(self.metainfo['classes'])

    @property
    def feature_dims(self) -> Dict[str, int]:
        """``{modality: D}``: from the config, else from the first clip."""
        return self.reader.dims if self.reader is not None else self._dims

    def stores(self) -> dict:
        """``{modality: feature store}``, opened lazily (not shipped to
        workers)."""
        return self.reader.stores()

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
            rows = keep_listed(rows, self.subset_file, self.ann_file)
        self.reader = FeatureReader(
            {m: self.data_prefix[m] for m in self.modalities}, self.layout,
            self._dims)
        present = self.reader.present([n for n, _ in rows])
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
        if self.speaker_column:
            self._fit_centering(rows, present)
        return [
            dict(name=name, gt_label=label, sample_idx=i,
                 modality_present={m: bool(present[m][i])
                                   for m in self.modalities},
                 **({} if self.centering is None else
                    dict(speaker=int(self.centering.index[i]))))
            for i, (name, label) in enumerate(rows)
        ]

    def _fit_centering(self, rows: list, present: dict) -> None:
        """Each speaker's mean of every modality over these clips."""
        speaker_of = read_label_column(self.ann_file, self.speaker_column,
                                       'speaker_centering')
        self.centering = SpeakerCentering(
            [speaker_of[name] for name, _ in rows], source=self.ann_file)
        for m in self.modalities:
            self.centering.fit(m, partial(self._load_row, m, rows),
                               present[m])
        print_log(f'{self.ann_file}: features centred per speaker (column '
                  f'{self.speaker_column!r}: {self.centering.describe()})',
                  logger='current')

    def _check_dims(self, rows: list, present: dict) -> None:
        """Fail at start-up (not mid-epoch) on a wrong feature size."""
        for m in self.modalities:
            idx = np.flatnonzero(present[m])
            if len(idx) == 0:
                raise ValueError(f'no clip of {self.ann_file} has {m!r} '
                                 f'features in {self.data_prefix[m]}')
            self.reader.fix_dims(m, rows[idx[0]][0])

    def _load_row(self, modality: str, rows: list, i: int) -> np.ndarray:
        return self.reader.load(modality, rows[i][0])

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

    def load_features(self, name: str, present: Dict[str, bool],
                      speaker: Optional[int] = None
                      ) -> Dict[str, torch.Tensor]:
        """Read and validate one clip's features ``{modality: (D,) | (T, D)}``
        (centred on its ``speaker``'s mean with speaker centring)."""
        inputs = {}
        for m in self.modalities:
            dim = self.feature_dims[m]
            if not present[m]:
                inputs[m] = torch.zeros(dim)  # masked: model sees absent
                continue
            array = self.reader.load(m, name)
            if self.centering is not None:
                array = self.centering.apply(m, speaker, array)
            inputs[m] = torch.from_numpy(np.ascontiguousarray(
                array, dtype=np.float32))
        return inputs

    def prepare_data(self, idx: int) -> dict:
        info = self.get_data_info(idx)
        inputs = self.load_features(info['name'], info['modality_present'],
                                    info.get('speaker'))
        label, weight = self.label_and_weight(idx, info)
        sample = EmotionSample(metainfo=dict(name=info['name'],
                                             sample_idx=idx))
        sample.set_gt_label(label)
        sample.weight = float(weight)
        sample.modality_present = dict(info['modality_present'])
        sample.lengths = {m: (int(x.shape[0]) if x.dim() == 2 else 1)
                          for m, x in inputs.items()}
        if self.priors is not None:
            sample.prior = self.priors.tensors(info['name'])
        return self.pipeline(dict(inputs=inputs, data_samples=sample))

    # ----------------------------------------------------------- statistics
    def feature_statistics(self, modality: str, eps: float = 1e-6
                           ) -> Tuple[np.ndarray, np.ndarray]:
        """Mean and std ``(D,)`` of one modality over this split's clips
        (masked clips skipped; see :meth:`.FeatureReader.statistics`). With
        speaker centring: of the centred features of the clips it was fitted
        on (the split as loaded; ``eps`` as fitted)."""
        if self.centering is not None:
            return self.centering.statistics(modality)
        infos = (self.get_data_info(i) for i in range(len(self)))
        names = [info['name'] for info in infos
                 if info['modality_present'][modality]]
        return self.reader.statistics(modality, names, eps)

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
        rows = {m: self.reader.load_rows(m, names) for m in self.modalities}
        if self.centering is not None:
            speakers = np.asarray(self.speaker_index()[start:stop])
            rows = {m: self.centering.apply(m, speakers, x)
                    for m, x in rows.items()}
        return rows

    def _per_sample(self, key: str) -> list:
        """``info[key]`` of every sample in order, read once per data list.

        ``get_data_info`` unpickles a record per call: for a 115k-clip pool
        that is ~1 s per pseudo-labelling round, so the values are cached
        (invalidated when ``data_list`` / its serialised form is replaced,
        e.g. by ``get_subset_``).
        """
        source = self.data_address if self.serialize_data else self.data_list
        caches = self.__dict__.setdefault('_per_sample_cache', {})
        cached = caches.get(key)
        if cached is None or cached[0] is not source:
            cached = caches[key] = (source, [self.get_data_info(i)[key]
                                             for i in range(len(self))])
        return cached[1]

    def clip_names(self) -> List[str]:
        """Clip names in sample order (cached, :meth:`_per_sample`)."""
        return self._per_sample('name')

    def speaker_index(self) -> List[int]:
        """Speaker index of each sample in order (speaker centring only;
        cached, :meth:`_per_sample`)."""
        return self._per_sample('speaker')

    def labels(self) -> np.ndarray:
        """Ground-truth labels ``(N,)`` of the split (-1 when unlabelled)."""
        return np.array([self.get_data_info(i)['gt_label']
                         for i in range(len(self))], dtype=np.int64)


def clip_names_of(dataset) -> List[str]:
    """Clip names of any dataset in sample order (cached when it can)."""
    if hasattr(dataset, 'clip_names'):
        return dataset.clip_names()
    return [dataset.get_data_info(i)['name'] for i in range(len(dataset))]
