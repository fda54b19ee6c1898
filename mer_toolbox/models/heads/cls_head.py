"""Classification head: owns its loss and its prediction."""
from typing import List, Optional, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from ...registry import HEADS, LOSSES
from ...structures import EmotionSample


def labels_and_weights(data_samples: List[EmotionSample],
                       device: torch.device):
    """Batch labels ``(B,)`` (-1 = no label) and loss weights ``(B,)``."""
    labels = torch.tensor([s.label for s in data_samples], device=device)
    weights = torch.tensor([float(s.get('weight', 1.0)) for s in data_samples],
                           device=device)
    return labels, weights


@HEADS.register_module()
class LinearClsHead(BaseModule):
    """Dropout + (optional hidden layer) + linear classifier.

    Args:
        in_dim: fused feature size.
        num_classes: number of emotion classes ``C``.
        hidden_dim: optional hidden layer width (``None``: a single Linear).
        dropout: dropout on the input.
        loss: classification loss config (LOSSES), called as
            ``loss(logits, labels, weight)``.
        init_cfg: MMEngine weight initialisation, e.g.
            ``dict(type='Normal', layer='Linear', std=0.01)``; applied by
            the model's ``init_weights()`` (default: PyTorch's init).
    """

    def __init__(self, in_dim: int, num_classes: int,
                 hidden_dim: Optional[int] = None, dropout: float = 0.0,
                 loss: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        layers: List[nn.Module] = [nn.Dropout(dropout)]
        if hidden_dim:
            layers += [nn.Linear(in_dim, hidden_dim), nn.ReLU(inplace=True)]
            in_dim = hidden_dim
        self.pre_logits = nn.Sequential(*layers)
        self.fc = nn.Linear(in_dim, num_classes)
        self.loss_module = LOSSES.build(loss or dict(type='CrossEntropyLoss'))
        self.num_classes = num_classes

    def forward(self, fused: torch.Tensor) -> torch.Tensor:
        """``(B, H)`` -> logits ``(B, C)``."""
        return self.fc(self.pre_logits(fused))

    def loss(self, fused: torch.Tensor, data_samples: List[EmotionSample],
             mix: Optional[Tuple[torch.Tensor, float]] = None) -> dict:
        """Classification loss of a batch.

        Args:
            fused: ``(B, H)`` fused features.
            data_samples: the batch's samples (labels, loss weights).
            mix: ``(perm (B,), lam)`` when the inputs were mixed (mixup):
                clip ``i`` is ``lam * x_i + (1 - lam) * x_perm[i]``, so its
                loss is ``lam * L(y_i) + (1 - lam) * L(y_perm[i])``, each
                term with its own clip's loss weight.
        """
        labels, weights = labels_and_weights(data_samples, fused.device)
        logits = self(fused)
        loss = self.loss_module(logits, labels, weights)
        if mix is not None:
            perm, lam = mix
            loss = lam * loss + (1 - lam) * self.loss_module(
                logits, labels[perm], weights[perm])
        return dict(loss_cls=loss)

    def predict(self, fused: torch.Tensor,
                data_samples: Optional[List[EmotionSample]] = None
                ) -> List[EmotionSample]:
        """Class probabilities ``(C,)`` set on each sample (new ones when
        ``data_samples`` is None, e.g. bulk inference on raw tensors)."""
        scores = self(fused).softmax(-1)  # (B, C)
        if data_samples is None:
            data_samples = [EmotionSample() for _ in range(len(scores))]
        for sample, score in zip(data_samples, scores):
            sample.set_pred(score)
        return data_samples
