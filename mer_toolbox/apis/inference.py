"""Predict the emotion of one clip, from its features or from the raw mp4.

Three steps, each usable alone::

    model = init_model('configs/mer2024/bdcl_stage1_mer2024.py', 'epoch_40.pth')
    result = inference_features(model, {'video': v, 'audio': a, 'text': t})
    result = inference_clip(model, 'configs/extraction/mer2024.py', 'clip.mp4',
                            subtitle='今天很开心')

``result`` is ``dict(label=str, scores={class: probability},
modality_weights={modality: weight} or None, used_prior=bool)``.
Prediction goes through the model's data preprocessor and ``predict`` mode
(:meth:`BaseModel.test_step`), the code path ``tools/test.py`` runs.

Priors (stage 2) plug in through two attributes, read with defaults so that
every stage-1 model works unchanged:

* ``model.uses_priors`` (default ``False``): whether ``predict`` reads
  ``EmotionSample.prior``. A stage-1 model receives the prior and ignores it.
* ``EmotionSample.used_prior`` set by ``predict`` (optional): whether the
  prior really took part for this clip (e.g. ``False`` for a failed record
  when the model falls back). Without it, ``used_prior`` is
  ``uses_priors and a prior with status 'ok' was given``.
"""
import os.path as osp
from typing import Dict, Mapping, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from torch import nn

from ..constants import MER2024_CLASSES
from ..fileio.clip_errors import ClipError
from ..fileio.feature_store import check_feature
from ..fileio.prior_file import PriorLike, read_prior_record
from ..structures import EmotionSample
from .feature_mapping import (DATALOADER_KEYS, ModalityMismatchError,
                              match_feature_sets, training_feature_folders)

ConfigLike = Union[str, Config, Mapping]
FeatureLike = Union[np.ndarray, torch.Tensor]


class CheckpointMismatchError(RuntimeError):
    """A checkpoint's weights do not fit the model its config builds."""


def _as_config(config: ConfigLike) -> Config:
    if isinstance(config, Config):
        cfg = config
    elif isinstance(config, Mapping):
        cfg = Config(dict(config))
    elif not osp.isfile(config):
        raise FileNotFoundError(f'config file {config!r} does not exist')
    else:
        cfg = Config.fromfile(config)
    # a feature-folder recipe's 'auto' sizes come from its data
    from mer_toolbox.datasets.feature_folder_dataset import \
        resolve_auto_fields
    resolve_auto_fields(cfg)
    return cfg


def _import_plugins(cfg: Mapping) -> None:
    if cfg.get('custom_imports'):
        from mmengine.utils import import_modules_from_strings
        import_modules_from_strings(**cfg['custom_imports'])


def _resolve_device(device: str) -> str:
    if device == 'auto':
        return 'cuda' if torch.cuda.is_available() else 'cpu'
    return device


def _config_classes(cfg: Mapping) -> Optional[Sequence[str]]:
    from mer_toolbox.datasets.feature_folder_dataset import \
        feature_folder_classes
    for key in DATALOADER_KEYS:
        dataset = (cfg.get(key) or {}).get('dataset') or {}
        classes = (dataset.get('metainfo') or {}).get('classes') or \
            feature_folder_classes(dataset)
        if classes:
            return classes
    return None


def _shorten(message: str, keep: int = 6) -> str:
    """The first ``keep`` problems of a (possibly 100-line) torch message."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    rest = len(lines) - 1 - keep
    return ' '.join(lines[:keep + 1]) + (f' ... and {rest} more'
                                         if rest > 0 else '')


def init_model(config: ConfigLike, checkpoint: str, device: str = 'cpu',
               trust_checkpoint: bool = False) -> nn.Module:
    """Build a model from its training config and load a checkpoint.

    Args:
        config: training config (file, ``Config`` or dict); its ``model``
            dict is built through :data:`mer_toolbox.registry.MODELS` after
            its ``custom_imports`` are imported.
        checkpoint: ``.pth`` file (a Runner checkpoint or a bare
            state dict), loaded with the safe loader
            (:func:`mer_toolbox.engine.load_checkpoint_file`) and
            ``strict=True``.
        device: ``'cpu'``, ``'cuda'``, ``'cuda:1'`` or ``'auto'``.
        trust_checkpoint: allow full pickle (only for files you produced).

    Returns:
        The model in eval mode, with ``model.cfg`` (the config) and
        ``model.dataset_meta``: ``classes`` from the checkpoint's
        ``meta['dataset_meta']``, else the config's dataset ``metainfo``,
        else the MER2024 classes; ``speaker_centering``: the speaker column
        its training features were centred by (None: not centred).

    Raises:
        FileNotFoundError: config or checkpoint missing.
        CheckpointMismatchError: missing / unexpected keys or shapes that do
            not fit, or input statistics that were never fitted.
    """
    from ..engine import load_checkpoint_file
    from ..registry import MODELS
    from ..engine.setup_env import register_all_modules
    cfg = _as_config(config)
    if 'model' not in cfg:
        raise KeyError(f'{getattr(cfg, "filename", None) or "config"} has '
                       'no `model` section')
    _import_plugins(cfg)
    register_all_modules()
    model = MODELS.build(cfg.model)
    ckpt = load_checkpoint_file(checkpoint, map_location='cpu',
                                trusted=trust_checkpoint)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise CheckpointMismatchError(f'{checkpoint}: expected a state dict '
                                      f'or a dict with `state_dict`')
    if state and all(k.startswith('module.') for k in state):
        state = {k[len('module.'):]: v for k, v in state.items()}  # DDP
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise CheckpointMismatchError(
            f'checkpoint {checkpoint!r} does not fit the model built from '
            f'{getattr(cfg, "filename", None) or "the config"} (was it '
            f'trained with another config?): {_shorten(str(err))}') from None
    if not getattr(model, 'input_norms_fitted', True):
        raise CheckpointMismatchError(
            f'checkpoint {checkpoint!r} carries no fitted input statistics '
            '(was it saved before training started?)')
    meta = (ckpt.get('meta') or {}) if isinstance(ckpt, dict) else {}
    classes = ((meta.get('dataset_meta') or {}).get('classes')
               or _config_classes(cfg) or MER2024_CLASSES)
    num_classes = getattr(getattr(model, 'head', None), 'num_classes', None)
    if num_classes is not None and num_classes != len(classes):
        raise CheckpointMismatchError(
            f'the head predicts {num_classes} classes but the class names '
            f'are {list(classes)}')
    model.cfg = cfg
    model.dataset_meta = dict(
        classes=tuple(classes), speaker_centering=(
            meta.get('dataset_meta') or {}).get('speaker_centering'))
    return model.to(_resolve_device(device)).eval()


def _model_classes(model: nn.Module) -> Sequence[str]:
    meta = getattr(model, 'dataset_meta', None) or {}
    return tuple(meta.get('classes') or MER2024_CLASSES)


def _expected_dim(model: nn.Module, modality: str) -> Optional[int]:
    norms = getattr(model, 'input_norms', None)
    if norms is not None:
        return int(norms[modality].mean.numel())
    dims = (getattr(model, 'cfg', None) or {}).get('model', {}).get(
        'feature_dims') or {}
    return dims.get(modality)


def inference_features(model: nn.Module, features: Mapping[str, FeatureLike],
                       prior: Optional[PriorLike] = None,
                       name: str = 'clip',
                       speaker_centred: bool = False) -> dict:
    """Predict one clip from its features.

    Args:
        model: a model in eval mode (see :func:`init_model`).
        features: ``{modality: (D,) or (T, D)}`` arrays or tensors; every
            modality of ``model.modalities`` is required, others are ignored.
        prior: optional prior (see
            :func:`~mer_toolbox.fileio.prior_file.read_prior_record`),
            validated against the model's classes and attached as
            ``EmotionSample.prior``.
        name: clip id put in the sample's metainfo.
        speaker_centred: the features are already centred on their
            speaker's mean (needed for a model trained with speaker
            centring, :mod:`mer_toolbox.datasets.speaker_centering`).

    Returns:
        ``dict(label, scores, modality_weights, used_prior)`` (module doc).

    Raises:
        ModalityMismatchError: a modality of the model is missing.
        ValueError: wrong feature size, NaN/Inf, bad shape; or a model
            trained on speaker-centred features given raw ones.
    """
    centred_by = (getattr(model, 'dataset_meta', None) or {}).get(
        'speaker_centering')
    if centred_by and not speaker_centred:
        raise ValueError(
            f'{name}: the model was trained on features centred per speaker '
            f'(column {centred_by!r}), and one clip cannot be centred on '
            "its own; subtract the speaker's mean feature vector (over "
            'several of their clips) and pass speaker_centred=True, or '
            'score a feature folder with tools/test.py')
    modalities = list(model.modalities)
    missing = [m for m in modalities if m not in features]
    if missing:
        raise ModalityMismatchError(
            f'{name}: the model needs modalities {missing}, the features '
            f'have {sorted(features)}')
    classes = _model_classes(model)
    record = read_prior_record(prior, classes, name)
    inputs = {}
    for m in modalities:
        x = features[m]
        array = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) \
            else np.asarray(x)
        check_feature(array, f'{name}: {m!r} features', _expected_dim(model, m))
        inputs[m] = torch.from_numpy(np.ascontiguousarray(array, np.float32))
    sample = EmotionSample(metainfo=dict(name=name, sample_idx=0))
    sample.set_gt_label(-1)
    sample.weight = 1.0
    sample.modality_present = {m: True for m in modalities}
    sample.lengths = {m: int(x.shape[0]) if x.dim() == 2 else 1
                      for m, x in inputs.items()}  # valid frames of (T, D)
    if record is not None:
        sample.prior = record
    # the shape pseudo_collate gives a one-clip batch: lists per modality
    data = dict(inputs={m: [x] for m, x in inputs.items()},
                data_samples=[sample])
    with torch.no_grad():
        out = model.test_step(data)[0]
    score = out.pred_score.detach().float().cpu()  # (C,)
    if score.numel() != len(classes):
        raise ValueError(f'the model scores {score.numel()} classes but its '
                         f'class names are {list(classes)}')
    weights = out.get('modality_weights')
    order = list(getattr(getattr(model, 'neck', None), 'modalities',
                         modalities))
    uses_priors = bool(getattr(model, 'uses_priors', False))
    default_used = (uses_priors and record is not None
                    and record.get('status') == 'ok')
    return dict(
        label=classes[int(score.argmax())],
        scores={c: float(p) for c, p in zip(classes, score)},
        modality_weights=None if weights is None else {
            m: float(w) for m, w in zip(order, weights.float().cpu())},
        used_prior=bool(out.get('used_prior', default_used)))


def build_extractor(extractor_cfg: ConfigLike, device: Optional[str] = None):
    """Build the :class:`~mer_toolbox.media.FeatureExtractor` of an extraction config.

    Only ``feature_sets`` / ``video`` / ``audio`` / ``subtitle`` (and
    ``custom_imports``) are read; ``clips`` and ``output`` belong to
    ``tools/extract_features.py`` and are ignored here.

    Args:
        extractor_cfg: extraction config file, ``Config`` or dict.
        device: if given, overrides every encoder's device.
    """
    from ..media import FeatureExtractor
    from ..media.runner import CONFIG_KEYS
    cfg = _as_config(extractor_cfg).to_dict()
    unknown = {k for k, v in cfg.items() if isinstance(v, (dict, list, tuple))
               } - set(CONFIG_KEYS) - {'custom_imports', '_base_'}
    if unknown:
        raise ValueError(f'extraction config keys nothing reads: '
                         f'{sorted(unknown)}; expected {list(CONFIG_KEYS)}')
    if not cfg.get('feature_sets'):
        raise ValueError('the extraction config has no `feature_sets`')
    _import_plugins(cfg)
    return FeatureExtractor(cfg['feature_sets'], cfg.get('video'),
                            cfg.get('audio'), cfg.get('subtitle'),
                            device=device)


def inference_clip(model: nn.Module, extractor_cfg, video_path: str,
                   subtitle: Optional[str] = None,
                   prior: Optional[PriorLike] = None,
                   feature_map: Optional[Mapping[str, str]] = None,
                   device: Optional[str] = None) -> dict:
    """Extract one clip's features and predict its emotion.

    Args:
        model: from :func:`init_model` (its ``cfg`` names the feature
            folders it was trained on).
        extractor_cfg: extraction config (file, ``Config``, dict) or a built
            ``FeatureExtractor`` (reuse it across clips: building loads every
            encoder).
        video_path: the clip.
        subtitle: its subtitle; required when the model uses text.
        prior: optional prior (see :func:`inference_features`).
        feature_map: ``{modality: folder}`` overriding (per modality) the
            training config's ``data_prefix`` (see :mod:`.feature_mapping`).
        device: overrides the encoders' device when the extractor is built
            here.

    Returns:
        The :func:`inference_features` dict plus ``warnings``: ``(reason,
        detail)`` pairs from extraction (e.g. no face found).

    Raises:
        ModalityMismatchError: a modality has no matching feature set
            (raised before anything is decoded).
        mer_toolbox.fileio.clip_errors.ClipError: the clip cannot be
            extracted (reason and clip path in the message).
    """
    from ..media import FeatureExtractor
    folders: Dict[str, str] = {}
    if getattr(model, 'cfg', None) is not None:
        try:
            folders = training_feature_folders(model.cfg)
        except ModalityMismatchError:
            if not feature_map:
                raise
    elif not feature_map:
        raise ValueError('the model has no cfg (build it with init_model)'
                         '; pass feature_map={modality: folder}')
    folders.update(feature_map or {})
    extractor = extractor_cfg if isinstance(extractor_cfg, FeatureExtractor) \
        else build_extractor(extractor_cfg, device)
    produced = {folder: s.name for s in extractor.sets
                for folder in s.folders()}
    plan = match_feature_sets(produced, folders, model.modalities)
    # only the sets the model needs: an unused text set must not fail a clip
    # that has no subtitle, and unused encoders cost time
    result = extractor.extract(video_path, subtitle,
                               only={s for s, _ in plan.values()})
    if result.failures:
        set_name, err = next(iter(result.failures.items()))
        raise ClipError(err.reason, f'{video_path} [{set_name}]: {err.detail}')
    features: Dict[str, np.ndarray] = {
        m: result.features[folder] for m, (_, folder) in plan.items()}
    name = osp.splitext(osp.basename(video_path))[0]
    out = inference_features(model, features, prior, name=name)
    out['warnings'] = list(result.warnings)
    return out
