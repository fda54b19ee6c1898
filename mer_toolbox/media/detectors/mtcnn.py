"""MTCNN (Zhang et al., 2016): a three-stage cascade of small CNNs.

The network is our own torch code; its weights are the MIT-licensed
``pnet.pt`` / ``rnet.pt`` / ``onet.pt`` state dicts that ship inside the
``facenet-pytorch`` wheel. That package cannot be a dependency (it pins
``torch<2.3``, ``numpy<2`` and imports torchvision's NMS), so only its files
are read: straight out of the downloaded wheel, or out of an installed copy,
without importing it. ``scripts/install.sh`` downloads the wheel into
:func:`default_weights_dir`; by hand::

    pip download --no-deps --only-binary :all: facenet-pytorch==2.6.0 \\
        -d ~/.cache/mer_toolbox

Stages: P-Net scans an image pyramid for candidate 12x12 windows, R-Net
re-scores 24x24 crops of them, O-Net 48x48 crops; each stage regresses its
boxes and drops overlaps with NMS (:func:`.boxes.nms`).
"""
import glob
import importlib.util
import io
import os
import os.path as osp
import zipfile
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from mer_toolbox.registry import FACE_DETECTORS
from .boxes import downscale, nms, to_frame_boxes

NET_NAMES = ('pnet', 'rnet', 'onet')
WHEEL_GLOB = 'facenet_pytorch-*.whl'
DOWNLOAD_HINT = ('pip download --no-deps --only-binary :all: '
                 'facenet-pytorch==2.6.0 -d {dir}')


def default_weights_dir() -> str:
    """``$MER_TOOLBOX_CACHE`` or ``~/.cache/mer_toolbox``: where install.sh puts the wheel."""
    return os.environ.get('MER_TOOLBOX_CACHE') or osp.join(
        os.environ.get('XDG_CACHE_HOME') or osp.expanduser('~/.cache'),
        'mer_toolbox')


def installed_weights_dirs() -> List[str]:
    """``data`` folders of an installed ``facenet_pytorch`` (not imported:
    its code needs torchvision's compiled ops)."""
    spec = importlib.util.find_spec('facenet_pytorch')
    roots = (spec.submodule_search_locations or []) if spec else []
    return [osp.join(root, 'data') for root in roots]


def find_mtcnn_weights(weights: Optional[str] = None) -> str:
    """Locate the MTCNN weights: a ``.whl`` file or a folder with ``pnet.pt``.

    Args:
        weights: a facenet-pytorch wheel, a folder holding the three ``.pt``
            files, or a folder holding the wheel. ``None`` searches an
            installed ``facenet_pytorch`` (not imported), then
            :func:`default_weights_dir`.

    Raises:
        FileNotFoundError: nothing found; the message says how to get it.
    """
    candidates = [weights] if weights else []
    if not weights:
        candidates += installed_weights_dirs() + [default_weights_dir()]
    for path in candidates:
        if osp.isfile(path) and path.endswith('.whl'):
            return path
        if all(osp.isfile(osp.join(path, f'{n}.pt')) for n in NET_NAMES):
            return path
        wheels = sorted(glob.glob(osp.join(path, WHEEL_GLOB)))
        if wheels:
            return wheels[-1]
    raise FileNotFoundError(
        f'MTCNN weights not found (looked in {candidates}). They ship inside '
        'the facenet-pytorch wheel; get it without installing it: '
        + DOWNLOAD_HINT.format(dir=weights if weights and osp.isdir(weights)
                               else default_weights_dir())
        + " (scripts/install.sh does this), or choose another face detector "
        "(dict(type='dlib_hog') or dict(type='opencv_haar')).")


def load_mtcnn_state_dicts(path: str) -> Dict[str, dict]:
    """``{'pnet': state_dict, 'rnet': ..., 'onet': ...}`` from a wheel or folder.

    Loaded with ``weights_only=True``: plain tensors, no code runs.
    """
    out = {}
    if path.endswith('.whl'):
        with zipfile.ZipFile(path) as wheel:
            for name in NET_NAMES:
                blob = wheel.read(f'facenet_pytorch/data/{name}.pt')
                out[name] = torch.load(io.BytesIO(blob), map_location='cpu',
                                       weights_only=True)
    else:
        for name in NET_NAMES:
            out[name] = torch.load(osp.join(path, f'{name}.pt'),
                                   map_location='cpu', weights_only=True)
    return out


def _conv(c_in: int, c_out: int, k: int) -> Tuple[nn.Conv2d, nn.PReLU]:
    return nn.Conv2d(c_in, c_out, k), nn.PReLU(c_out)


class PNet(nn.Module):
    """Proposal net, fully convolutional: ``(B, 3, H, W)`` -> box offsets
    ``(B, 4, H', W')`` and face probability ``(B, H', W')``, one cell per
    12x12 window at stride 2."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = _conv(3, 10, 3)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2, self.prelu2 = _conv(10, 16, 3)
        self.conv3, self.prelu3 = _conv(16, 32, 3)
        self.conv4_1 = nn.Conv2d(32, 2, 1)
        self.conv4_2 = nn.Conv2d(32, 4, 1)

    def forward(self, x: torch.Tensor):
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.prelu3(self.conv3(self.prelu2(self.conv2(x))))
        return self.conv4_2(x), self.conv4_1(x).softmax(1)[:, 1]


class _RefineNet(nn.Module):
    """Shared tail of R-Net / O-Net: conv features -> dense -> outputs."""

    def _flatten(self, x: torch.Tensor) -> torch.Tensor:
        # the weights were converted from Caffe, whose dense layers read the
        # feature map as (W, H, C): keep that order
        return x.permute(0, 3, 2, 1).flatten(1)


class RNet(_RefineNet):
    """Refine net: ``(N, 3, 24, 24)`` -> offsets ``(N, 4)``, probability ``(N,)``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = _conv(3, 28, 3)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = _conv(28, 48, 3)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = _conv(48, 64, 2)
        self.dense4, self.prelu4 = nn.Linear(576, 128), nn.PReLU(128)
        self.dense5_1 = nn.Linear(128, 2)
        self.dense5_2 = nn.Linear(128, 4)

    def forward(self, x: torch.Tensor):
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu3(self.conv3(x))  # (N, 64, 3, 3)
        x = self.prelu4(self.dense4(self._flatten(x)))  # (N, 128)
        return self.dense5_2(x), self.dense5_1(x).softmax(1)[:, 1]


class ONet(_RefineNet):
    """Output net: ``(N, 3, 48, 48)`` -> offsets ``(N, 4)``, probability ``(N,)``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = _conv(3, 32, 3)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = _conv(32, 64, 3)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = _conv(64, 64, 3)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4, self.prelu4 = _conv(64, 128, 2)
        self.dense5, self.prelu5 = nn.Linear(1152, 256), nn.PReLU(256)
        self.dense6_1 = nn.Linear(256, 2)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)  # 5 landmarks, unused here

    def forward(self, x: torch.Tensor):
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu4(self.conv4(x))  # (N, 128, 3, 3)
        x = self.prelu5(self.dense5(self._flatten(x)))  # (N, 256)
        return self.dense6_2(x), self.dense6_1(x).softmax(1)[:, 1]


def _normalise(pixels: np.ndarray) -> torch.Tensor:
    """``(..., H, W, 3)`` uint8 -> ``(..., 3, H, W)`` float in about [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(pixels)).float()
    return ((x - 127.5) / 128.0).movedim(-1, -3)


def _square(boxes: torch.Tensor) -> torch.Tensor:
    """Grow ``(N, 4)`` corner boxes to squares around the same centre."""
    side = torch.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    return torch.stack([cx - side / 2, cy - side / 2,
                        cx + side / 2, cy + side / 2], 1)


def _regress(boxes: torch.Tensor, offsets: torch.Tensor,
             plus_one: bool) -> torch.Tensor:
    """Apply MTCNN's ``(N, 4)`` offsets, given as fractions of the box size.

    ``plus_one`` counts sizes in pixels inclusive (``x2 - x1 + 1``), as the
    R-Net / O-Net offsets were trained; P-Net's use ``x2 - x1``.
    """
    extra = 1.0 if plus_one else 0.0
    w = boxes[:, 2] - boxes[:, 0] + extra
    h = boxes[:, 3] - boxes[:, 1] + extra
    return boxes + offsets * torch.stack([w, h, w, h], 1)


def _crops(image: np.ndarray, boxes: torch.Tensor, size: int) -> np.ndarray:
    """Cut ``(N, 4)`` boxes out of ``(H, W, 3)`` and resize them to
    ``(N, size, size, 3)``; the part of a box outside the image is black, so
    a face cut by the frame edge keeps its proportions."""
    import cv2
    height, width = image.shape[:2]
    out = np.zeros((len(boxes), size, size, 3), np.uint8)
    for i, (x1, y1, x2, y2) in enumerate(boxes.round().long().tolist()):
        if x2 - x1 < 1 or y2 - y1 < 1:
            continue
        patch = np.zeros((y2 - y1, x2 - x1, 3), np.uint8)
        sx1, sy1 = max(x1, 0), max(y1, 0)
        sx2, sy2 = min(x2, width), min(y2, height)
        if sx2 > sx1 and sy2 > sy1:
            patch[sy1 - y1:sy2 - y1, sx1 - x1:sx2 - x1] = image[sy1:sy2, sx1:sx2]
        out[i] = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)
    return out


@FACE_DETECTORS.register_module(name='mtcnn')
class MTCNNFaceDetector:
    """MTCNN face detector on CPU or GPU, no torchvision.

    Args:
        weights: wheel / folder of the weights (:func:`find_mtcnn_weights`).
        thresholds: face-probability cut of P-Net, R-Net, O-Net.
        min_size_ratio: smallest face side searched, as a fraction of the
            shorter side of the (downscaled) frame; at least 12 px.
        factor: image pyramid step.
        detect_max_side: frames are downscaled to this longer side first
            (boxes are mapped back); ``None`` keeps full size.
        edge_pad: black border added on every side, as a fraction of the
            shorter side, so that P-Net's windows can reach past the frame
            edge and find faces the frame cuts.
        device: torch device of the three nets.
    """

    is_real = True

    def __init__(self, weights: Optional[str] = None,
                 thresholds: Sequence[float] = (0.6, 0.7, 0.7),
                 min_size_ratio: float = 0.05, factor: float = 0.709,
                 detect_max_side: Optional[int] = 640,
                 edge_pad: float = 0.1, device: str = 'cpu') -> None:
        if len(thresholds) != 3:
            raise ValueError(f'thresholds takes 3 values, got {thresholds}')
        self.weights = find_mtcnn_weights(weights)
        states = load_mtcnn_state_dicts(self.weights)
        self.device = torch.device(device)
        self.nets = {}
        for name, cls in zip(NET_NAMES, (PNet, RNet, ONet)):
            net = cls()
            net.load_state_dict(states[name])
            self.nets[name] = net.eval().requires_grad_(False).to(self.device)
        self.thresholds = tuple(float(t) for t in thresholds)
        self.min_size_ratio = min_size_ratio
        self.factor = factor
        self.detect_max_side = detect_max_side
        self.edge_pad = edge_pad

    def detect(self, frame: np.ndarray) -> list:
        """Return the faces of one ``(H, W, 3)`` RGB frame as ``(x, y, w, h)``."""
        small, scale = downscale(frame, self.detect_max_side)
        pad = int(round(self.edge_pad * min(small.shape[:2])))
        if pad:
            small = np.pad(small, ((pad, pad), (pad, pad), (0, 0)))
        with torch.inference_mode():
            boxes = self.detect_corners(small)[:, :4] - pad  # (K, 4)
        return to_frame_boxes(boxes.numpy(), scale, frame.shape[1],
                              frame.shape[0])

    def detect_corners(self, image: np.ndarray) -> torch.Tensor:
        """All three stages on ``(H, W, 3)`` uint8 RGB.

        Returns:
            ``(K, 5)`` ``(x1, y1, x2, y2, probability)`` on CPU.
        """
        boxes = self._propose(image)
        for stage, (name, size) in enumerate((('rnet', 24), ('onet', 48)), 1):
            if not len(boxes):
                break
            boxes = _square(boxes[:, :4])
            x = _normalise(_crops(image, boxes, size)).to(self.device)
            offsets, prob = (t.float().cpu() for t in self.nets[name](x))
            keep = prob > self.thresholds[stage]
            boxes = _regress(boxes[keep], offsets[keep], plus_one=True)
            boxes = torch.cat([boxes, prob[keep, None]], 1)  # (K, 5)
            mode = 'min' if name == 'onet' else 'union'
            boxes = boxes[nms(boxes[:, :4], boxes[:, 4], 0.7, mode)]
        return boxes

    def _propose(self, image: np.ndarray) -> torch.Tensor:
        """P-Net over the pyramid: ``(K, 5)`` candidate boxes in pixels."""
        import cv2
        height, width = image.shape[:2]
        min_face = max(12.0, self.min_size_ratio * min(height, width))
        scale = 12.0 / min_face
        found = []
        while min(height, width) * scale >= 12:
            size = (int(width * scale + 1), int(height * scale + 1))
            resized = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            offsets, prob = self.nets['pnet'](
                _normalise(resized)[None].to(self.device))
            offsets, prob = offsets[0].float().cpu(), prob[0].float().cpu()
            rows, cols = torch.nonzero(prob > self.thresholds[0], as_tuple=True)
            if len(rows):
                # each output cell is a 12x12 window at stride 2 of this level
                corner = torch.stack([cols, rows], 1).float() * 2
                boxes = torch.cat([(corner + 1) / scale,
                                   (corner + 12) / scale], 1).floor()  # (K, 4)
                score = prob[rows, cols]
                reg = offsets[:, rows, cols].T  # (K, 4)
                keep = nms(boxes, score, 0.5)
                found.append(torch.cat([boxes[keep], score[keep, None],
                                        reg[keep]], 1))
            scale *= self.factor
        if not found:
            return torch.zeros((0, 5))
        cand = torch.cat(found)  # (K, 9)
        cand = cand[nms(cand[:, :4], cand[:, 4], 0.7)]
        boxes = _regress(cand[:, :4], cand[:, 5:], plus_one=False)
        return torch.cat([boxes, cand[:, 4:5]], 1)
