"""Stage 2: the frozen stage-1 classifier plus a trained prior branch."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from ...fileio.prior_embeddings import records_to_arrays
from ...fileio.prior_record import CONTRIBUTION_KEYS, PriorRecord
from ...registry import ENCODERS, FUSION_NECKS, MODELS, PRIOR_EMBEDDERS
from ...structures import EmotionSample
from .multimodal_classifier import MultimodalEmotionClassifier
from .prior_batch import collate_priors

#: What the paper freezes in stage 2: encoders, projectors, stage-1 fusion,
#: classifier layer (and the input statistics / BDCL projections).
DEFAULT_FROZEN = ('input_norms', 'encoders', 'neck', 'head',
                  'contrastive_proj')
#: Submodules stage 2 adds; everything else comes from the stage-1 checkpoint.
PRIOR_BRANCH = ('prior_projs', 'prior_default', 'prior_neck')


@MODELS.register_module()
class PriorGuidedEmotionClassifier(MultimodalEmotionClassifier):
    """Stage-1 network + prior branch (eqs. 10-11), the stage-2 model.

    For each clip with a prior (``sample.prior``, see
    :meth:`mer_toolbox.datasets.prior_lookup.PriorLookup.tensors`)::

        z_m        = encoders[m](norm(x_m))                 frozen, stage 1
        fused_1, a = neck(z)                                frozen, stage 1
        e_m        = prior_projs[m](Embed(I_m))             eq. 10
        delta      = prior_neck(z, e, R)                    eq. 11, R weights
        logits     = head(fused_1 + delta)                  frozen head

    The prior branch is a residual on the stage-1 fused vector whose output
    projection starts at zero, so training starts at the stage-1 predictions
    (the paper feeds the R-weighted ``F_m`` to the classifier directly; the
    residual keeps the frozen head's input distribution and cannot start
    worse than stage 1).

    **Fallback without a prior** (teacher failed, clip not in the cache,
    inference without a teacher, or ``drop_priors_at_test``): ``e_m`` is a
    learned default vector per modality and ``R`` is the stage-1 attention
    weights ``a`` (uniform over present modalities for necks without
    weights). Training replaces each clip's prior by this fallback with
    probability ``prior_dropout`` so the defaults are learned; predictions
    made through it carry ``used_prior_fallback=True``.

    **Freezing**: parameters under the ``frozen`` prefixes get
    ``requires_grad=False`` and their modules stay in eval mode even after
    ``model.train()`` (no dropout, fixed statistics). Use the optimizer
    constructor ``TrainableParamsOptimWrapperConstructor`` so they are not
    in the optimizer either.

    Args:
        prior_dims: size ``P_m`` of each modality's cached prior embedding
            (demo: video ``58 + D``, audio / text ``D``).
        prior_encoder: ``ENCODERS`` config of the per-modality ``Proj``
            (``in_dim`` / ``hidden_dim`` are filled).
        prior_neck: ``FUSION_NECKS`` config of the prior fusion
            (``modalities``, ``in_dim``, ``out_dim`` are filled).
        frozen: module name prefixes to freeze (default: the paper's).
        prior_dropout: per-clip probability of training through the
            fallback.
        drop_priors_at_test: ignore every prior outside training (measures
            the model as a teacher-free predictor).
        prior_embedder: ``PRIOR_EMBEDDERS`` config of the embedder the prior
            cache was built with; only needed for samples that carry raw
            prior records (single-clip inference), built on first use.
        *args, **kwargs: :class:`MultimodalEmotionClassifier` arguments;
            they must describe the stage-1 network being loaded.
    """

    uses_priors = True

    def __init__(self, *args, prior_dims: Dict[str, int],
                 prior_encoder: Optional[dict] = None,
                 prior_neck: Optional[dict] = None,
                 frozen: Sequence[str] = DEFAULT_FROZEN,
                 prior_dropout: float = 0.2,
                 drop_priors_at_test: bool = False,
                 prior_embedder: Optional[dict] = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.mixup_alpha:  # the priors of two clips do not mix
            raise ValueError('stage 2 reads each clip\'s own teacher prior; '
                             'mixup would mix the features but not the '
                             'priors: set model.mixup_alpha=0')
        if not 0.0 <= prior_dropout < 1.0:
            raise ValueError(f'prior_dropout must be in [0, 1), got '
                             f'{prior_dropout}')
        unknown = [m for m in self.modalities if m not in CONTRIBUTION_KEYS]
        missing = [m for m in self.modalities if m not in prior_dims]
        if unknown or missing:
            raise ValueError(f'priors exist for {list(CONTRIBUTION_KEYS)} and '
                             f'prior_dims has {sorted(prior_dims)}; cannot '
                             f'serve modalities {unknown + missing}')
        self.prior_dims = {m: int(prior_dims[m]) for m in self.modalities}
        self.prior_dropout = prior_dropout
        self.drop_priors_at_test = drop_priors_at_test
        self.prior_embedder_cfg = prior_embedder
        self._embedder = None
        emb_dim = next(iter(self.encoders.values())).out_dim
        enc_cfg = dict(prior_encoder or dict(type='PriorProjector'))
        self.prior_projs = nn.ModuleDict({
            m: ENCODERS.build(dict(enc_cfg, in_dim=self.prior_dims[m],
                                   hidden_dim=emb_dim))
            for m in self.modalities})
        self.prior_default = nn.ParameterDict({
            m: nn.Parameter(torch.zeros(emb_dim)) for m in self.modalities})
        self.prior_neck = FUSION_NECKS.build(dict(
            prior_neck or dict(type='PriorGuidedFusionNeck'),
            modalities=self.modalities, in_dim=emb_dim,
            out_dim=getattr(self.neck, 'out_dim', emb_dim)))
        self.frozen_names = self._freeze(frozen)

    # -------------------------------------------------------------- freezing
    def _freeze(self, prefixes: Sequence[str]) -> List[str]:
        names = []
        for prefix in prefixes:
            root = prefix.split('.')[0]
            if not hasattr(self, root):
                raise ValueError(f'cannot freeze {prefix!r}: the model has no '
                                 f'submodule {root!r}')
            if getattr(self, root) is None:  # e.g. no BDCL projections
                continue
            module = self.get_submodule(prefix)
            module.requires_grad_(False)
            names.append(prefix)
        return names

    def train(self, mode: bool = True) -> 'PriorGuidedEmotionClassifier':
        """Set the mode; frozen modules always stay in eval mode."""
        super().train(mode)
        for name in self.frozen_names:
            self.get_submodule(name).eval()
        return self

    def checkpoint_required_keys(self) -> Dict[str, Tuple[int, ...]]:
        """State keys (and shapes) a stage-1 checkpoint must provide."""
        return {k: tuple(v.shape) for k, v in self.state_dict().items()
                if not k.startswith(PRIOR_BRANCH)}

    # ---------------------------------------------------------------- priors
    def _embed_record(self, record) -> dict:
        """Arrays of a raw prior record, with the (lazily built) embedder."""
        if self._embedder is None:
            self._embedder = PRIOR_EMBEDDERS.build(self.prior_embedder_cfg)
        arrays = records_to_arrays([PriorRecord.from_dict(record)],
                                   self._embedder)
        return {k: v[0] for k, v in arrays.items()}  # the one row

    def batch_priors(self, data_samples: Optional[List[EmotionSample]],
                     batch_size: int, device: torch.device):
        """``({m: (B, P_m)}, R (B, M), has_prior (B,))``, see
        :func:`.prior_batch.collate_priors`."""
        return collate_priors(
            data_samples, self.modalities, self.prior_dims, batch_size,
            device, self._embed_record if self.prior_embedder_cfg else None)

    def extract_feat(self, inputs: Dict[str, torch.Tensor],
                     data_samples: Optional[List[EmotionSample]] = None,
                     present: Optional[torch.Tensor] = None) -> dict:
        """Stage-1 features plus the prior branch's residual (eqs. 10-11).

        ``present`` ``(B, M)`` overrides the modality mask, as in the parent
        (the prior fusion uses the same mask as the stage-1 fusion).
        Returns the parent's dict with ``fused`` = stage-1 fused + prior
        residual, ``weights`` = the ``R`` used, ``use_prior (B,)`` and the
        stage-1 ``base_fused`` / ``base_weights``.
        """
        feats = super().extract_feat(inputs, data_samples, present)
        z, present = feats['z'], feats['present']  # {m: (B, H)}, (B, M)
        b, device = present.shape[0], present.device
        priors, r, use = self.batch_priors(data_samples, b, device)
        if self.training and self.prior_dropout > 0:
            use = use & (torch.rand(b, device=device) >= self.prior_dropout)
        elif not self.training and self.drop_priors_at_test:
            use = torch.zeros_like(use)
        base_w = feats.get('weights')
        if base_w is None:  # neck without weights: uniform over present
            base_w = present.float() / present.sum(-1, keepdim=True)
        # A teacher that gave all weight to absent modalities says nothing.
        use = use & ((r * present).sum(-1) > 1e-6)
        r = torch.where(use[:, None], r, base_w.detach())  # (B, M)
        keep = use[:, None]
        e = {m: torch.where(keep, self.prior_projs[m](priors[m]),
                            self.prior_default[m].expand(b, -1))
             for m in self.modalities}  # {m: (B, H)}
        out = self.prior_neck(z, present, data_samples, prior_embeds=e,
                              weights=r)
        return dict(feats, fused=feats['fused'] + out['fused'],
                    weights=out['weights'], use_prior=use,
                    base_fused=feats['fused'], base_weights=feats['weights'])

    def predict(self, inputs: Dict[str, torch.Tensor],
                data_samples: List[EmotionSample]) -> List[EmotionSample]:
        """Predictions; each sample also gets ``used_prior_fallback`` (and
        its negation ``used_prior``, read by :mod:`mer_toolbox.apis`)."""
        feats = self.extract_feat(inputs, data_samples)
        samples = self.head.predict(feats['fused'], data_samples)
        for sample, w, used in zip(samples, feats['weights'],
                                   feats['use_prior']):
            sample.modality_weights = w.detach()
            sample.used_prior_fallback = not bool(used)
            sample.used_prior = bool(used)
        return samples
