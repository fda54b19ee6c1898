"""Which extracted feature set feeds which modality of a trained model.

Both configs already say it, so nothing new has to be written down:

* the **training config**'s dataset maps each modality to a feature-set
  folder through ``data_prefix``
  (``video='clip-vit-large-patch14-UTT'``);
* the **extraction config** names its output folders ``<name>-<level>``
  (:meth:`mer_toolbox.media.FeatureExtractor.folders`).

Inference matches them by folder *name*: the last path component of each
``data_prefix`` entry (so ``'feats/clip-vit-large-patch14-UTT'`` and a packed
store of the same name both match ``clip-vit-large-patch14-UTT``). The
extraction config that built the training features therefore serves
inference unchanged. ``feature_map={modality: folder}`` overrides the
training config (e.g. for the demo dataset, which names no folders).
"""
import os.path as osp
from typing import Dict, Mapping, Optional, Sequence, Tuple

#: Dataloaders searched for a ``data_prefix``, most inference-like first.
DATALOADER_KEYS = ('test_dataloader', 'val_dataloader', 'train_dataloader')


class ModalityMismatchError(ValueError):
    """The model's modalities cannot be fed from the available features."""


def _find_data_prefix(dataset_cfg) -> Optional[dict]:
    """First ``data_prefix`` in a dataset config, looking inside wrappers."""
    if not isinstance(dataset_cfg, Mapping):
        return None
    if dataset_cfg.get('data_prefix'):
        return dict(dataset_cfg['data_prefix'])
    # SemiSupervisedDataset(labelled=...), RepeatDataset(dataset=...),
    # ConcatDataset(datasets=[...])
    children = [dataset_cfg.get('labelled'), dataset_cfg.get('dataset')]
    children += list(dataset_cfg.get('datasets') or [])
    for child in children:
        found = _find_data_prefix(child)
        if found:
            return found
    return None


def training_feature_folders(cfg: Mapping) -> Dict[str, str]:
    """``{modality: feature folder name}`` named by a training config.

    Args:
        cfg: the training config (``Config`` or dict).

    Raises:
        ModalityMismatchError: no dataloader's dataset has a ``data_prefix``.
    """
    for key in DATALOADER_KEYS:
        loader = cfg.get(key) or {}
        prefix = _find_data_prefix(loader.get('dataset'))
        if prefix:
            return {m: osp.basename(osp.normpath(str(folder)))
                    for m, folder in prefix.items()}
    raise ModalityMismatchError(
        'the training config names no feature folders: no dataset of '
        f'{list(DATALOADER_KEYS)} has a data_prefix ({{modality: folder}}). '
        'Pass feature_map={modality: folder} (tools/infer.py: --feature-map '
        'video=NAME-UTT ...)')


def match_feature_sets(produced: Mapping[str, str],
                       folders: Mapping[str, str],
                       modalities: Sequence[str]
                       ) -> Dict[str, Tuple[str, str]]:
    """Pick, for every modality of the model, the feature set that feeds it.

    Args:
        produced: ``{folder: feature-set name}`` an extractor writes, e.g.
            ``{'clip-vit-large-patch14-UTT': 'clip-vit-large-patch14'}``.
        folders: ``{modality: folder}`` the model was trained on.
        modalities: the model's modalities.

    Returns:
        ``{modality: (feature-set name, folder)}``.

    Raises:
        ModalityMismatchError: naming every modality that cannot be fed, the
            folder it needs and the folders that are available.
    """
    plan, problems = {}, []
    for m in modalities:
        folder = folders.get(m)
        if folder is None:
            problems.append(f'modality {m!r} has no feature folder in the '
                            f'mapping (it has {sorted(folders)})')
        elif folder not in produced:
            problems.append(f'modality {m!r} needs feature set {folder!r}')
        else:
            plan[m] = (produced[folder], folder)
    if problems:
        raise ModalityMismatchError(
            'the model cannot be fed from the extraction config: '
            + '; '.join(problems) + f'. The extraction config produces '
            f'{sorted(produced)}. Add the missing feature set (name + level) '
            'to the extraction config, or map modalities explicitly with '
            'feature_map / --feature-map.')
    return plan
