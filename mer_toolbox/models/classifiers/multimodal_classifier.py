"""The classifier that composes encoders, a fusion neck, a head and losses."""
import copy
import inspect
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.model import BaseModel
from torch import nn

from ...registry import ENCODERS, FUSION_NECKS, HEADS, LOSSES, MODELS
from ...structures import EmotionSample
from ..heads import labels_and_weights
from ..utils import FeatureStandardizer
from ..utils.mixup import mix_modalities
from ..utils.modality_dropout import drop_modalities


def _per_modality(cfg: dict, modalities: Sequence[str]) -> Dict[str, dict]:
    """``dict(type=...)`` applies to every modality; else one cfg each."""
    if 'type' in cfg:
        return {m: copy.deepcopy(cfg) for m in modalities}
    missing = [m for m in modalities if m not in cfg]
    if missing:
        raise KeyError(f'encoders has no config for modalities {missing} '
                       f'(it has {sorted(cfg)})')
    return {m: copy.deepcopy(cfg[m]) for m in modalities}


@MODELS.register_module()
class MultimodalEmotionClassifier(BaseModel):
    """Frozen-feature multimodal emotion classifier (stage 1 of the paper).

    ``inputs[m] (B, D_m | B, T, D_m)`` -> standardise -> ``encoders[m]`` ->
    ``z_m (B, H)`` -> ``neck`` -> ``fused (B, H')`` -> ``head`` -> logits.
    Training adds the auxiliary losses on ``{m: z_m}`` (BDCL: ``proj`` maps
    each ``z_m`` to the contrastive space first).

    Args:
        modalities: modalities used, any non-empty subset of the data's.
        feature_dims: input size ``D_m`` of each modality.
        encoders: one encoder config for all modalities, or one per modality;
            ``in_dim`` is filled from ``feature_dims``.
        neck: fusion neck config; ``modalities`` and ``in_dim`` are filled.
        head: head config; ``in_dim`` is filled.
        aux_losses: losses on the modality embeddings, each called as
            ``loss({m: (B, P)}, labels (B,), weight (B,))`` (e.g. BDCL).
        contrastive_dim: size ``P`` of the per-modality linear projection fed
            to ``aux_losses`` (``None``: the embeddings themselves).
        normalize_inputs: standardise inputs with training-split statistics
            (fitted by ``FeatureNormHook``; stored in the checkpoint).
        mixup_alpha: train on mixed clips (:func:`mix_modalities`, every
            modality with the same weight ``lam ~ Beta(alpha, alpha)``;
            the head's loss mixes the two labels the same way); 0 = off.
            Needs clip-level features and a head whose ``loss`` takes
            ``mix``; not combinable with ``aux_losses`` (a contrastive
            positive needs one label per clip).
        modality_dropout: in training, each present modality of a clip is
            treated as missing with this probability (at least one stays;
            :func:`drop_modalities`); 0 = off, a no-op with one modality.
        data_preprocessor: defaults to ``EmotionDataPreprocessor``.
    """

    def __init__(self,
                 modalities: Sequence[str],
                 feature_dims: Dict[str, int],
                 encoders: dict,
                 neck: dict,
                 head: dict,
                 aux_losses: Optional[List[dict]] = None,
                 contrastive_dim: Optional[int] = None,
                 normalize_inputs: bool = True,
                 mixup_alpha: float = 0.0,
                 modality_dropout: float = 0.0,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        # Built here from our registry: BaseModel would look the type up in
        # MMEngine's root registry, which does not know our preprocessors
        # unless a default scope happens to be active.
        preprocessor = MODELS.build(
            data_preprocessor or dict(type='EmotionDataPreprocessor'))
        super().__init__(data_preprocessor=preprocessor, init_cfg=init_cfg)
        self.modalities = list(modalities)
        if not self.modalities:
            raise ValueError('modalities must name at least one modality')
        repeated = sorted({m for m in self.modalities
                           if self.modalities.count(m) > 1})
        if repeated:  # the fusion would see one modality twice
            raise ValueError(f'model.modalities names {repeated} more than '
                             f'once ({self.modalities}); expected each '
                             'modality once')
        missing = [m for m in self.modalities if m not in feature_dims]
        if missing:
            raise KeyError(f'feature_dims has no size for {missing}')
        self.normalize_inputs = normalize_inputs
        self.input_norms = nn.ModuleDict({
            m: FeatureStandardizer(feature_dims[m]) for m in self.modalities
        }) if normalize_inputs else None
        enc_cfgs = _per_modality(encoders, self.modalities)
        built = {}
        for m, cfg in enc_cfgs.items():
            cfg.setdefault('in_dim', feature_dims[m])
            built[m] = ENCODERS.build(cfg)
        self.encoders = nn.ModuleDict(built)
        dims = {getattr(e, 'out_dim', None) for e in built.values()}
        if len(dims) != 1 or None in dims:
            raise ValueError('all encoders must expose the same out_dim to '
                             f'be fused, got {dims}')
        emb_dim = dims.pop()
        neck = dict(neck, modalities=self.modalities)
        neck.setdefault('in_dim', emb_dim)
        self.neck = FUSION_NECKS.build(neck)
        self.head = HEADS.build(dict(head, in_dim=getattr(
            self.neck, 'out_dim', emb_dim)))
        self.aux_losses = nn.ModuleList(
            [LOSSES.build(cfg) for cfg in (aux_losses or [])])
        self.contrastive_proj = nn.ModuleDict({
            m: nn.Linear(emb_dim, contrastive_dim) for m in self.modalities
        }) if contrastive_dim and self.aux_losses else None
        if mixup_alpha < 0:
            raise ValueError(f'mixup_alpha must be >= 0 (0 = off), got '
                             f'{mixup_alpha}')
        if mixup_alpha and self.aux_losses:
            raise ValueError(
                'mixup_alpha > 0 cannot be combined with aux_losses '
                f'{[type(loss).__name__ for loss in self.aux_losses]}: a '
                'mixed clip has two labels and a contrastive loss needs '
                'one; set mixup_alpha=0 or drop the aux losses')
        if mixup_alpha and 'mix' not in inspect.signature(
                self.head.loss).parameters:
            raise ValueError(f'mixup_alpha > 0 needs a head whose loss() '
                             f'takes mix=(perm, lam); '
                             f'{type(self.head).__name__}.loss does not')
        self.mixup_alpha = mixup_alpha
        if not 0.0 <= modality_dropout < 1.0:
            raise ValueError(f'modality_dropout must be in [0, 1) (0 = off), '
                             f'got {modality_dropout}')
        self.modality_dropout = modality_dropout

    # ------------------------------------------------------------ features
    def present_mask(self, data_samples: Optional[List[EmotionSample]],
                     device: torch.device, batch_size: int = 0
                     ) -> torch.Tensor:
        """``(B, M)`` bool: which modalities each clip really has.

        Without ``data_samples`` (bulk inference on raw tensors) every
        modality counts as present.
        """
        if data_samples is None:
            return torch.ones(batch_size, len(self.modalities),
                              dtype=torch.bool, device=device)
        mask = torch.tensor([[s.present(m) for m in self.modalities]
                             for s in data_samples], device=device)
        empty = (~mask).all(1)
        if bool(empty.any()):
            names = [data_samples[i].name for i in empty.nonzero()[:, 0]]
            raise ValueError(f'clips {names[:5]} have none of the modalities '
                             f'{self.modalities}; nothing to predict from')
        return mask

    def frame_mask(self, x: torch.Tensor, modality: str,
                   data_samples: Optional[List[EmotionSample]]
                   ) -> Optional[torch.Tensor]:
        """``(B, T)`` valid-frame mask for frame-level input, else None."""
        if x.dim() != 3 or data_samples is None:
            return None
        lengths = torch.tensor([s.get('lengths', {}).get(modality, x.shape[1])
                                for s in data_samples], device=x.device)
        return torch.arange(x.shape[1], device=x.device) < lengths[:, None]

    def embed(self, inputs: Dict[str, torch.Tensor],
              data_samples: Optional[List[EmotionSample]] = None
              ) -> Dict[str, torch.Tensor]:
        """Per-modality embeddings ``{m: (B, H)}``."""
        absent = [m for m in self.modalities if m not in inputs]
        if absent:
            raise KeyError(f'the model uses modalities {absent} but the batch '
                           f'only has {sorted(inputs)}; add them to the '
                           "dataset's data_prefix/modalities")
        z = {}
        for m in self.modalities:
            x = inputs[m]
            # A modality missing from input_norms had its statistics folded
            # into its encoder (folded_input_norms); a built model has all.
            if self.input_norms is not None and m in self.input_norms:
                norm = self.input_norms[m]
                if not norm.is_fitted:
                    raise RuntimeError(
                        f'input statistics for {m!r} are not fitted: add '
                        "dict(type='FeatureNormHook') to custom_hooks, load "
                        'a trained checkpoint, or set normalize_inputs=False')
                x = norm(x)
            z[m] = self.encoders[m](x, self.frame_mask(x, m, data_samples))
        return z

    def extract_feat(self, inputs: Dict[str, torch.Tensor],
                     data_samples: Optional[List[EmotionSample]] = None,
                     present: Optional[torch.Tensor] = None) -> dict:
        """Embeddings, fused vector and fusion weights of a batch.

        ``present`` ``(B, M)`` overrides the modality mask read from
        ``data_samples`` (mixed clips carry the union of two clips' masks;
        modality dropout removes some).
        """
        z = self.embed(inputs, data_samples)
        first = next(iter(z.values()))
        if present is None:
            present = self.present_mask(data_samples, first.device,
                                        len(first))
        out = self.neck(z, present, data_samples)
        return dict(z=z, present=present, **out)

    # --------------------------------------------------------------- modes
    def forward(self, inputs: Dict[str, torch.Tensor],
                data_samples: Optional[List[EmotionSample]] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':  # logits (B, C); data_samples optional
            return self.head(self.extract_feat(inputs, data_samples)['fused'])
        raise ValueError(f'invalid mode {mode!r}; expected loss, predict or '
                         'tensor')

    def loss(self, inputs: Dict[str, torch.Tensor],
             data_samples: List[EmotionSample]) -> Dict[str, torch.Tensor]:
        present = self.present_mask(data_samples, next(iter(
            inputs.values())).device)
        mix = {}
        if self.mixup_alpha:
            inputs, present, perm, lam = mix_modalities(
                {m: inputs[m] for m in self.modalities}, present,
                self.mixup_alpha)
            mix = dict(mix=(perm, lam))
        present = drop_modalities(present, self.modality_dropout)
        feats = self.extract_feat(inputs, data_samples, present=present)
        losses = self.head.loss(feats['fused'], data_samples, **mix)
        if self.aux_losses:
            z = feats['z']
            if self.contrastive_proj is not None:
                z = {m: self.contrastive_proj[m](v) for m, v in z.items()}
            labels, weights = labels_and_weights(data_samples,
                                                 feats['fused'].device)
            # Masked (absent) modalities are neither anchors nor negatives.
            present = {m: feats['present'][:, j]
                       for j, m in enumerate(self.modalities)}
            for loss in self.aux_losses:
                terms = loss(z, labels, weights, present=present)
                clash = sorted(set(terms) & set(losses))
                if clash:  # dict.update would drop one of them silently
                    raise KeyError(
                        f'{type(loss).__name__} returns loss keys {clash} '
                        'that another loss (head or aux_losses) already '
                        'uses; give each aux loss its own key names (a '
                        'second BDCL: a subclass with another loss_prefix)')
                losses.update(terms)
        return losses

    def predict(self, inputs: Dict[str, torch.Tensor],
                data_samples: List[EmotionSample]) -> List[EmotionSample]:
        feats = self.extract_feat(inputs, data_samples)
        samples = self.head.predict(feats['fused'], data_samples)
        if feats.get('weights') is not None:
            for sample, w in zip(samples, feats['weights']):
                sample.modality_weights = w.detach()
        return samples

    def folded_input_norms(self) -> 'MultimodalEmotionClassifier':
        """An inference twin with the standardisation folded into encoders.

        Every modality whose encoder offers ``fold_input_norm`` (the MLP
        projector) gets a copy of that encoder whose first Linear also
        standardises (``W' = W / sigma``, ``b' = b - W' mu``), saving a pass
        over the ``(B, D)`` inputs; the others keep their standardiser.
        Every other module is shared with this model, which is not changed
        (its parameters, buffers and checkpoints stay as trained). Put the
        model in eval mode first; the twin is for utterance-level
        ``mode='tensor'`` inference (the pool scoring of pseudo-labelling),
        not for training.

        Returns:
            the twin (``self`` when nothing could be folded).
        """
        if self.input_norms is None:
            return self
        encoders, norms = dict(self.encoders), dict(self.input_norms)
        for m in self.modalities:
            fold = getattr(encoders[m], 'fold_input_norm', None)
            # unfitted statistics stay, so that embed() explains the error
            folded = fold(norms[m]) if fold is not None and \
                norms[m].is_fitted else None
            if folded is not None:
                encoders[m] = folded
                del norms[m]
        if len(norms) == len(self.input_norms):
            return self
        twin = copy.copy(self)
        # a module dict of its own, so that rebinding below leaves self alone
        twin._modules = dict(self._modules)
        twin.encoders = nn.ModuleDict(encoders)
        twin.input_norms = nn.ModuleDict(norms)
        return twin

    def fit_input_norms(self, stats: Dict[str, Union[tuple, list]]) -> None:
        """Set standardisation statistics ``{m: (mean (D,), std (D,))}``."""
        if self.input_norms is None:
            return
        for m in self.modalities:
            self.input_norms[m].fit(*stats[m])

    @property
    def input_norms_fitted(self) -> bool:
        return self.input_norms is None or all(
            n.is_fitted for n in self.input_norms.values())
