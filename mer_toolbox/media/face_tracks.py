"""Face tracks across the sampled frames of one clip.

Detections of neighbouring frames are linked into tracks by overlap (or a
small move, as sampled frames can be far apart in time); the main
speaker's track is the one with the highest presence score (frames seen,
weighted by face size and closeness to the centre); frames where that track
has no detection get a box interpolated between its detections before and
after (held constant past its first / last one).
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

#: ``(x, y, w, h)`` in pixels of the frame.
Box = Tuple[int, int, int, int]


@dataclass
class FaceTrack:
    """One face followed over frames: ``boxes[frame index] = box``."""
    boxes: Dict[int, Box] = field(default_factory=dict)

    @property
    def last(self) -> Box:
        return self.boxes[max(self.boxes)]


def box_iou(a: Box, b: Box) -> float:
    """IoU of two ``(x, y, w, h)`` boxes."""
    inter_w = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    inter_h = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = inter_w * inter_h
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def same_face(last: Box, box: Box, min_iou: float, max_shift: float
              ) -> Optional[Tuple[float, float]]:
    """Affinity of a track's last box and a new box, ``None`` if unrelated.

    Related when they overlap by ``min_iou``, or, since sampled frames can be
    far apart in time, when the centre moved at most ``max_shift`` face sides
    and the size changed less than 1.5x. Higher tuples are better.
    """
    iou = box_iou(last, box)
    side = np.sqrt(last[2] * last[3])
    shift = np.hypot(last[0] + last[2] / 2 - box[0] - box[2] / 2,
                     last[1] + last[3] / 2 - box[1] - box[3] / 2) / side
    growth = np.sqrt(box[2] * box[3]) / side
    if iou >= min_iou or (shift <= max_shift and 1 / 1.5 < growth < 1.5):
        return iou, -float(shift)
    return None


def link_tracks(detections: Sequence[Optional[Sequence[Box]]],
                min_iou: float = 0.2, max_shift: float = 0.75
                ) -> List[FaceTrack]:
    """Greedily link per-frame detections into tracks.

    Args:
        detections: per frame, its boxes; ``None`` = frame not run through
            the detector (it neither extends nor breaks a track).
        min_iou / max_shift: when a box may continue a track, see
            :func:`same_face`. Best pairs link first; an unlinked box starts
            a track. A track survives frames where its face was missed.
    """
    tracks: List[FaceTrack] = []
    for t, boxes in enumerate(detections):
        if not boxes:
            continue
        pairs = []
        for k, track in enumerate(tracks):
            for j, box in enumerate(boxes):
                affinity = same_face(track.last, box, min_iou, max_shift)
                if affinity is not None:
                    pairs.append((affinity, k, j))
        used_tracks, used_boxes = set(), set()
        for _, k, j in sorted(pairs, reverse=True):
            if k in used_tracks or j in used_boxes:
                continue
            tracks[k].boxes[t] = tuple(boxes[j])
            used_tracks.add(k)
            used_boxes.add(j)
        for j, box in enumerate(boxes):
            if j not in used_boxes:
                tracks.append(FaceTrack({t: tuple(box)}))
    return tracks


def presence_score(track: FaceTrack, frame_w: int, frame_h: int) -> float:
    """How much a track looks like the main speaker: summed over its frames,
    ``sqrt(face area / frame area) * (1 - distance of its centre from the
    frame centre / half diagonal)``, so persistence, size and centrality all
    count."""
    half_diag = 0.5 * np.hypot(frame_w, frame_h)
    score = 0.0
    for x, y, w, h in track.boxes.values():
        size = np.sqrt(w * h / float(frame_w * frame_h))
        off = np.hypot(x + w / 2 - frame_w / 2, y + h / 2 - frame_h / 2)
        score += size * (1.0 - min(off / half_diag, 1.0))
    return float(score)


def main_track(tracks: Sequence[FaceTrack], frame_w: int, frame_h: int
               ) -> Optional[FaceTrack]:
    """The track with the highest :func:`presence_score` (``None`` if none)."""
    if not tracks:
        return None
    return max(tracks, key=lambda tr: presence_score(tr, frame_w, frame_h))


def interpolate_track(track: FaceTrack, num_frames: int) -> List[Box]:
    """A box for each of ``num_frames`` frames from the track's detections:
    linear between detections, constant before the first and after the last."""
    known = np.array(sorted(track.boxes))  # (K,)
    values = np.array([track.boxes[t] for t in known], dtype=np.float64)  # (K, 4)
    frames = np.arange(num_frames)
    cols = [np.interp(frames, known, values[:, c]) for c in range(4)]
    return [tuple(int(round(v)) for v in row) for row in np.stack(cols, 1)]


def keyframe_indices(num_frames: int, detect_every: int) -> List[int]:
    """Frames to run the detector on: every ``detect_every``-th and the last."""
    if detect_every < 1:
        raise ValueError(f'detect_every must be >= 1, got {detect_every}')
    keys = list(range(0, num_frames, detect_every))
    if num_frames and keys[-1] != num_frames - 1:
        keys.append(num_frames - 1)
    return keys
