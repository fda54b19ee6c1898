"""Box helpers shared by the face detectors: IoU, greedy NMS, downscaling.

Boxes here are ``(N, 4)`` float tensors ``(x1, y1, x2, y2)`` in pixels; the
detectors hand ``(x, y, w, h)`` integer tuples to :class:`FaceCropper`. NMS is
our own (torchvision's compiled ops do not load on every torch build).
"""
from typing import List, Optional, Tuple

import numpy as np
import torch


def box_iou_one(box: torch.Tensor, boxes: torch.Tensor,
                mode: str = 'union') -> torch.Tensor:
    """Overlap of one ``(4,)`` box with ``(N, 4)`` boxes, as ``(N,)``.

    Args:
        mode: ``'union'`` (IoU) or ``'min'`` (intersection over the smaller
            box: MTCNN's last stage uses it to drop a box nested in another).
    """
    inter_w = (torch.minimum(box[2], boxes[:, 2]) -
               torch.maximum(box[0], boxes[:, 0])).clamp(min=0)
    inter_h = (torch.minimum(box[3], boxes[:, 3]) -
               torch.maximum(box[1], boxes[:, 1])).clamp(min=0)
    inter = inter_w * inter_h  # (N,)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])  # (N,)
    if mode == 'union':
        denom = area + areas - inter
    elif mode == 'min':
        denom = torch.minimum(area, areas)
    else:
        raise ValueError(f"mode must be 'union' or 'min', got {mode!r}")
    return inter / denom.clamp(min=1e-9)


def nms(boxes: torch.Tensor, scores: torch.Tensor, threshold: float,
        mode: str = 'union') -> torch.Tensor:
    """Greedy non-maximum suppression.

    Args:
        boxes: ``(N, 4)`` ``(x1, y1, x2, y2)``.
        scores: ``(N,)``.
        threshold: a box overlapping a kept, higher-scoring box by more than
            this is dropped.
        mode: overlap measure, see :func:`box_iou_one`.

    Returns:
        ``(K,)`` long indices of the kept boxes, highest score first.
    """
    order = torch.argsort(scores, descending=True, stable=True)
    boxes = boxes[order].float()  # (N, 4) best first
    alive = torch.ones(len(order), dtype=torch.bool)
    keep = []
    # one pass per *kept* box; each compares against all boxes at once
    for i in range(len(order)):
        if not alive[i]:
            continue
        keep.append(i)
        overlap = box_iou_one(boxes[i], boxes[i + 1:], mode)
        alive[i + 1:] &= overlap <= threshold
    return order[torch.as_tensor(keep, dtype=torch.long)]


def downscale(frame: np.ndarray, max_side: Optional[int]
              ) -> Tuple[np.ndarray, float]:
    """Shrink ``(H, W, 3)`` so its longer side is at most ``max_side``.

    Returns:
        ``(frame, scale)``; divide boxes found on the result by ``scale``.
    """
    height, width = frame.shape[:2]
    if not max_side or max(height, width) <= max_side:
        return frame, 1.0
    import cv2
    scale = max_side / max(height, width)
    small = cv2.resize(frame, (round(width * scale), round(height * scale)),
                       interpolation=cv2.INTER_AREA)
    return small, scale


def to_frame_boxes(corners, scale: float, width: int, height: int
                   ) -> List[Tuple[int, int, int, int]]:
    """``(x1, y1, x2, y2)`` rows found at ``scale`` -> ``(x, y, w, h)`` in frame.

    Boxes are clipped to the frame; empty ones are dropped.
    """
    out = []
    for x1, y1, x2, y2 in np.asarray(corners, dtype=np.float64).reshape(-1, 4):
        x1, x2 = np.clip([x1 / scale, x2 / scale], 0, width)
        y1, y2 = np.clip([y1 / scale, y2 / scale], 0, height)
        x, y = int(round(x1)), int(round(y1))
        w, h = int(round(x2)) - x, int(round(y2)) - y
        if w > 0 and h > 0:
            out.append((x, y, w, h))
    return out
