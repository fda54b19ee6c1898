"""Run a trained model over one split and keep its embeddings (for t-SNE)."""
import copy
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config
from torch import nn

#: The feature that is not a modality embedding: the fusion neck's output.
FUSED = 'fused'


@dataclass
class SplitFeatures:
    """Embeddings of the labelled clips of one split.

    Attributes:
        names: ``N`` clip names, in dataset order.
        labels: ``(N,)`` int class ids.
        features: ``{'fused': (N, H'), modality: (N, H)}`` float32 arrays.
        classes: class names in id order.
    """

    names: List[str]
    labels: np.ndarray
    features: Dict[str, np.ndarray]
    classes: Tuple[str, ...] = field(default_factory=tuple)


def _prepare_scope(cfg: Config) -> None:
    """Import the config's plugins and activate its registry scope."""
    from mmengine.registry import init_default_scope
    from mmengine.utils import import_modules_from_strings

    from ..engine.setup_env import register_all_modules
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg['custom_imports'])
    register_all_modules()
    init_default_scope(cfg.get('default_scope', 'mer_toolbox'))


def build_split_dataset(cfg: Config, split: str = 'test'):
    """Build ``cfg.<split>_dataloader.dataset`` through ``DATASETS``.

    Args:
        cfg: a training config.
        split: ``'test'``, ``'val'`` or ``'train'``.

    Raises:
        KeyError: the config has no such dataloader.
    """
    from ..registry import DATASETS
    key = f'{split}_dataloader'
    if not cfg.get(key) or 'dataset' not in cfg[key]:
        raise KeyError(f'the config has no {key}.dataset; choose another '
                       '--split (test, val or train)')
    _prepare_scope(cfg)
    return DATASETS.build(copy.deepcopy(cfg[key]['dataset']))


def load_model(cfg: Config, checkpoint: str, trusted: bool = False
               ) -> nn.Module:
    """Build ``cfg.model`` and load ``checkpoint`` strictly, in eval mode.

    The file goes through the safe loader
    (:func:`mer_toolbox.engine.load_checkpoint_file`); ``trusted`` allows full
    pickle for files you produced.

    Raises:
        RuntimeError: the weights do not fit the model (strict loading).
    """
    from ..engine import load_checkpoint_file
    from ..registry import MODELS
    _prepare_scope(cfg)
    model = MODELS.build(copy.deepcopy(cfg.model))
    ckpt = load_checkpoint_file(checkpoint, map_location='cpu', trusted=trusted)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
    if not isinstance(state, dict):
        raise RuntimeError(f'{checkpoint}: expected a state dict, got '
                           f'{type(state).__name__}')
    if state and all(k.startswith('module.') for k in state):
        # Saved from a DDP-wrapped model by hand.
        state = {k[len('module.'):]: v for k, v in state.items()}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise RuntimeError(f'checkpoint {checkpoint!r} does not fit the model '
                           f'of {cfg.filename or "the config"}: {err}') from None
    return model.eval()


def labelled_indices(dataset, max_samples: Optional[int] = None,
                     seed: int = 0) -> np.ndarray:
    """Sorted indices of labelled clips, optionally a seeded random subset.

    The subset depends only on the dataset and ``seed``, so two checkpoints
    compared on the same split are drawn on the very same clips.
    """
    if not hasattr(dataset, 'get_data_info'):
        # e.g. SemiSupervisedDataset, the stage-1 train split: labelled + pool.
        raise TypeError(f'{type(dataset).__name__} exposes no per-clip labels '
                        '(get_data_info); embed the test or val split')
    labels = np.array([dataset.get_data_info(i)['gt_label']
                       for i in range(len(dataset))], dtype=np.int64)
    idx = np.flatnonzero(labels >= 0)
    if idx.size == 0:
        raise ValueError(f'the {type(dataset).__name__} split has no labelled '
                         'clip to colour by class; use a labelled split '
                         '(e.g. --split val)')
    if max_samples is not None and idx.size > max_samples:
        idx = np.sort(np.random.default_rng(seed).choice(
            idx, size=max_samples, replace=False))
    return idx


@torch.no_grad()
def extract_split_features(model: nn.Module, dataset,
                           indices: Optional[Sequence[int]] = None,
                           batch_size: int = 256) -> SplitFeatures:
    """Embeddings ``z_m`` and the fused vector of ``dataset[indices]``.

    Batches go through MMEngine's ``pseudo_collate``, the model's data
    preprocessor and ``model.extract_feat`` (the code path of training).

    Args:
        model: a :class:`MultimodalEmotionClassifier`-like model in eval mode.
        dataset: a built dataset whose items are ``dict(inputs, data_samples)``.
        indices: which items; defaults to every labelled one.
        batch_size: clips per forward pass.
    """
    from mmengine.dataset import pseudo_collate
    if indices is None:
        indices = labelled_indices(dataset)
    names, labels = [], []
    chunks: Dict[str, List[np.ndarray]] = {}
    for start in range(0, len(indices), batch_size):
        items = [dataset[int(i)] for i in indices[start:start + batch_size]]
        data = model.data_preprocessor(pseudo_collate(items), False)
        out = model.extract_feat(data['inputs'], data['data_samples'])
        per_key = dict(out['z'], **{FUSED: out[FUSED]})  # each (B, H)
        for key, value in per_key.items():
            chunks.setdefault(key, []).append(value.float().cpu().numpy())
        for sample in data['data_samples']:
            names.append(sample.name)
            labels.append(sample.label)
    classes = tuple(getattr(dataset, 'metainfo', {}).get('classes', ()))
    return SplitFeatures(names=names, labels=np.asarray(labels, np.int64),
                         features={k: np.concatenate(v) for k, v in chunks.items()},
                         classes=classes)


@torch.no_grad()
def predict_split(model: nn.Module, dataset,
                  indices: Optional[Sequence[int]] = None,
                  batch_size: int = 256) -> Tuple[np.ndarray, np.ndarray]:
    """``(gt (N,), pred (N,))`` of labelled clips through ``model.test_step``.

    ``test_step`` is the path ``tools/test.py`` evaluates, so the labels
    match what ``EmotionMetric`` would score.
    """
    from mmengine.dataset import pseudo_collate
    if indices is None:
        indices = labelled_indices(dataset)
    gt, pred = [], []
    for start in range(0, len(indices), batch_size):
        items = [dataset[int(i)] for i in indices[start:start + batch_size]]
        for sample in model.test_step(pseudo_collate(items)):
            gt.append(sample.label)
            pred.append(int(sample.pred_label.item()))
    return np.asarray(gt, np.int64), np.asarray(pred, np.int64)
