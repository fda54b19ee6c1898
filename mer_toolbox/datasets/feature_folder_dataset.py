"""Anyone's features: a plain folder of label CSVs, a class list and features.

The layout (``tools/dataset_converters/from_arrays.py`` writes it)::

    DATA_ROOT/
      classes.txt                        one class name per line, label order
      label-train.csv, label-val.csv,    name,discrete[,speaker]
      label-test.csv
      video/  audio/  text/              any subset; each a feature set in
                                         the MERTools npy layout or packed

Everything else is read from the data: the class list (said once, in
``classes.txt``), the modalities (the folders present) and each modality's
feature size; and whether clips name their speaker (a ``speaker`` /
``actor`` / ... column of ``label-train.csv``: features are then centred
per speaker, :mod:`.speaker_centering`). :func:`describe_feature_folder`
returns the first three so the config loader can fill a model's ``'auto'``
fields (:func:`resolve_auto_fields`).
"""
import csv
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..constants import DEFAULT_MODALITIES
from ..fileio.clip_table import read_csv_table
from ..fileio.feature_store import open_feature_store
from ..fileio.label_file import read_label_csv
from ..registry import DATASETS
from .mer_feature_dataset import MERFeatureDataset
from .speaker_centering import find_speaker_column

CLASSES_FILE = 'classes.txt'
AUTO = 'auto'


def read_classes(path: str) -> List[str]:
    """Class names of ``classes.txt`` (one per line, blank lines ignored).

    Raises:
        FileNotFoundError: no such file.
        ValueError: empty list or a duplicate name (both names the file).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path} not found: a feature folder needs a {CLASSES_FILE} '
            'with one class name per line, in label-index order')
    with open(path, encoding='utf-8') as f:
        classes = [line.strip() for line in f if line.strip()]
    if not classes:
        raise ValueError(f'{path}: no class names (expected one per line)')
    seen = set()
    for c in classes:
        if c.lower() in seen:
            raise ValueError(f'{path}: class {c!r} is listed twice')
        seen.add(c.lower())
    return classes


def describe_feature_folder(data_root: str,
                            modalities: Optional[Sequence[str]] = None
                            ) -> dict:
    """Classes, modalities and feature sizes of a feature folder.

    Args:
        data_root: the folder (layout in the module docstring).
        modalities: the modalities wanted (default: every one of
            ``video``, ``audio``, ``text`` that has a folder).

    Returns:
        ``dict(classes=[...], modalities=[...], feature_dims={m: D})``.

    Raises:
        FileNotFoundError: no ``classes.txt``, no modality folder, or a
            requested modality without a folder.
    """
    if not osp.isdir(data_root):
        raise FileNotFoundError(
            f'feature folder {data_root!r} does not exist (set DATA_ROOT to '
            'a folder with classes.txt, label-{train,val,test}.csv and '
            'video/ audio/ text/ feature folders)')
    classes = read_classes(osp.join(data_root, CLASSES_FILE))
    found = [m for m in DEFAULT_MODALITIES
             if osp.isdir(osp.join(data_root, m))]
    if modalities is None:
        if not found:
            raise FileNotFoundError(
                f'{data_root}: no feature folder; expected at least one of '
                f'{list(DEFAULT_MODALITIES)}')
        modalities = found
    missing = [m for m in modalities if m not in found]
    if missing:
        raise FileNotFoundError(f'{data_root}: no feature folder for '
                                f'modalities {missing} (found {found})')
    dims = {}
    for m in modalities:
        store = open_feature_store(osp.join(data_root, m))
        names = store.names()
        if not names:
            raise ValueError(f'{data_root}/{m}: the feature folder is empty')
        dims[m] = int(store.load(names[0]).shape[-1])
    return dict(classes=classes, modalities=list(modalities),
                feature_dims=dims)


def folder_speaker_column(data_root: str, ann_file: str) -> Optional[str]:
    """The speaker column of a feature folder, or None.

    Read from the header of ``label-train.csv`` (else, in a folder without
    one, of ``ann_file``), so that every split of one folder makes the same
    choice.
    """
    path = osp.join(data_root, 'label-train.csv')
    if not osp.isfile(path):
        path = osp.join(data_root, ann_file)
    columns, _ = read_csv_table(path, ('name',), 'label file')
    return find_speaker_column(columns)


@DATASETS.register_module()
class FeatureFolderDataset(MERFeatureDataset):
    """One split of a feature folder (layout in the module docstring).

    Args:
        data_root: the feature folder.
        split: reads ``label-{split}.csv`` (ignored when ``ann_file`` is
            given).
        modalities: modalities to serve (default: every modality folder).
        ann_file: another label CSV / clip list, relative to ``data_root``
            (e.g. an unlabelled pool with ``labelled=False``).
        speaker_centering: ``'auto'`` (default): centre features per speaker
            when the folder's ``label-train.csv`` has a speaker column (the
            first of :data:`.SPEAKER_COLUMNS`; then every label file read
            must have it, so all splits are treated alike), else off; a
            column name; or ``None`` (off).
        **kwargs: forwarded to :class:`MERFeatureDataset` (``labelled``,
            ``missing_modality``, ``layout``, ...). ``metainfo`` may not
            name classes: they come from ``classes.txt`` only.
    """

    def __init__(self, data_root: str, split: str = 'train',
                 modalities: Optional[Sequence[str]] = None,
                 ann_file: Optional[str] = None,
                 speaker_centering: Optional[str] = AUTO,
                 **kwargs) -> None:
        info = describe_feature_folder(data_root, modalities)
        if speaker_centering == AUTO:
            speaker_centering = folder_speaker_column(
                data_root, ann_file or f'label-{split}.csv')
        metainfo = dict(kwargs.pop('metainfo', None) or {})
        if 'classes' in metainfo and \
                list(metainfo['classes']) != info['classes']:
            raise ValueError(
                f'metainfo.classes {list(metainfo["classes"])} disagrees with '
                f'{osp.join(data_root, CLASSES_FILE)} {info["classes"]}; the '
                'class list of a feature folder is read from classes.txt')
        metainfo['classes'] = tuple(info['classes'])
        self.split = split
        dims: Dict[str, int] = dict(info['feature_dims'])
        dims.update(kwargs.pop('feature_dims', None) or {})
        super().__init__(
            ann_file=ann_file or f'label-{split}.csv',
            data_prefix={m: m for m in info['modalities']},
            modalities=info['modalities'], feature_dims=dims,
            data_root=data_root, metainfo=metainfo,
            speaker_centering=speaker_centering, **kwargs)
        #: True labels of an unlabelled list that still has its label column
        #: (a held-out half of a labelled set): used only to log the
        #: precision of pseudo-labels, never for training.
        self.hidden_labels = None if self.labelled else self._hidden_labels()

    def _hidden_labels(self) -> Optional[np.ndarray]:
        with open(self.ann_file, newline='', encoding='utf-8-sig') as f:
            header = next(csv.reader(f), [])
        if self.label_column not in [c.strip() for c in header]:
            return None
        truth = dict(read_label_csv(self.ann_file, self.classes, True,
                                    self.label_column))
        return np.array([truth[n] for n in self.clip_names()],
                        dtype=np.int64)


def _feature_folder_cfgs(node) -> list:
    """``FeatureFolderDataset`` configs inside a (wrapped) dataset config."""
    if not isinstance(node, dict):
        return []
    found = [node] if node.get('type') in (
        'FeatureFolderDataset', 'mer_toolbox.FeatureFolderDataset') else []
    for key in ('dataset', 'labelled', 'unlabelled'):
        found += _feature_folder_cfgs(node.get(key))
    for inner in node.get('datasets') or []:
        found += _feature_folder_cfgs(inner)
    return found


def feature_folder_classes(dataset_cfg: dict) -> Optional[List[str]]:
    """The class list of the first feature folder a dataset config reads."""
    found = _feature_folder_cfgs(dataset_cfg)
    if not found:
        return None
    return read_classes(osp.join(found[0]['data_root'], CLASSES_FILE))


def resolve_auto_fields(cfg) -> Optional[dict]:
    """Fill a model's ``'auto'`` fields from the feature folder it trains on.

    ``model.modalities``, ``model.feature_dims`` and ``model.head.num_classes``
    may be ``'auto'``; they are then read from the first
    :class:`FeatureFolderDataset` of the train (else val, else test) loader
    via :func:`describe_feature_folder`. Explicit values are checked against
    the data instead, so a model whose class count disagrees with
    ``classes.txt`` fails before anything is built.

    Args:
        cfg: an MMEngine ``Config`` (changed in place).

    Returns:
        The folder description used, or ``None`` when the config reads no
        feature folder (then no field may be ``'auto'``).
    """
    model = cfg.get('model') or {}
    head = model.get('head') or {}
    autos = [k for k in ('modalities', 'feature_dims') if model.get(k) == AUTO]
    if head.get('num_classes') == AUTO:
        autos.append('head.num_classes')
    dataset_cfgs = []
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset_cfgs += _feature_folder_cfgs((cfg.get(loader) or {}).get(
            'dataset'))
    if not dataset_cfgs:
        if autos:
            raise ValueError(
                f'model fields {autos} are {AUTO!r} but no dataloader reads a '
                'FeatureFolderDataset to take them from; give explicit values')
        return None
    source = dataset_cfgs[0]
    if not source.get('data_root'):
        raise ValueError('a FeatureFolderDataset config has no data_root '
                         '(set DATA_ROOT or the dataset\'s data_root)')
    info = describe_feature_folder(source['data_root'],
                                   source.get('modalities'))
    where = osp.join(source['data_root'], CLASSES_FILE)
    if model.get('modalities') == AUTO:
        model['modalities'] = list(info['modalities'])
    if model.get('feature_dims') == AUTO:
        model['feature_dims'] = {m: info['feature_dims'][m]
                                 for m in model['modalities']
                                 if m in info['feature_dims']}
    if head.get('num_classes') == AUTO:
        head['num_classes'] = len(info['classes'])
    elif 'num_classes' in head and head['num_classes'] != len(info['classes']):
        raise ValueError(
            f'model.head ({head.get("type")}) has num_classes='
            f'{head["num_classes"]} but {where} lists '
            f'{len(info["classes"])} classes {info["classes"]}; set '
            f"num_classes='auto' or fix one of them")
    return info
