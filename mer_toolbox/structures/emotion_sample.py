"""The one data contract of mer_toolbox.

A batch is ``dict(inputs=dict[str, Tensor], data_samples=list[EmotionSample])``:

* ``inputs`` is keyed by modality name (``'video'``, ``'audio'``, ``'text'``, or
  any name a config chooses). After the data preprocessor each value is
  ``(B, D)`` (utterance level) or ``(B, T, D)`` (frame level, zero padded; the
  valid length of each clip is in its sample's ``lengths``).
* each :class:`EmotionSample` describes one clip:

  ===================  =====================================================
  ``name``             clip id (metainfo, str)
  ``gt_label``         ``(1,)`` long tensor; ``-1`` when the clip is unlabelled
  ``weight``           float, the sample's weight in the losses (1.0 for
                       labelled clips; a confidence for pseudo-labelled ones)
  ``modality_present`` ``dict[str, bool]``: False when a modality was
                       missing and the dataset's policy masked it
  ``lengths``          ``dict[str, int]`` valid frames of frame-level inputs
  ``prior``            optional prior record (dict) or its cached embeddings
  ``pred_score``       ``(C,)`` float tensor of class probabilities (set by
                       the head's ``predict``)
  ``pred_label``       ``(1,)`` long tensor (set by the head's ``predict``)
  ``modality_weights`` optional ``(M,)`` fusion weights (set by the model)
  ===================  =====================================================

Class names and order come from the dataset's ``metainfo['classes']``.
"""
from typing import Dict, Optional, Union

import torch
from mmengine.structures import BaseDataElement


class EmotionSample(BaseDataElement):
    """One clip's annotation, prediction and bookkeeping (see module doc)."""

    def set_gt_label(self, label: Union[int, torch.Tensor]) -> 'EmotionSample':
        """Set the ground-truth (or pseudo) label; ``-1`` means unlabelled."""
        self.gt_label = torch.as_tensor(label, dtype=torch.long).reshape(1)
        return self

    @property
    def label(self) -> int:
        """The label as a Python int, ``-1`` when unlabelled."""
        if 'gt_label' not in self:
            return -1
        return int(self.gt_label.item())

    def set_pred(self, score: torch.Tensor,
                 modality_weights: Optional[torch.Tensor] = None
                 ) -> 'EmotionSample':
        """Store class probabilities ``(C,)`` and the argmax label."""
        self.pred_score = score.detach()
        self.pred_label = score.argmax(-1, keepdim=True).detach()
        if modality_weights is not None:
            self.modality_weights = modality_weights.detach()
        return self

    def present(self, modality: str) -> bool:
        """Whether ``modality`` was really observed for this clip."""
        flags: Dict[str, bool] = self.get('modality_present', {})
        return bool(flags.get(modality, True))
