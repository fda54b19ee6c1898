"""Face tracks: linking, the main speaker's track, interpolation, keyframes."""
import numpy as np
import pytest

from mer_toolbox.media import FaceCropper
from mer_toolbox.media.face_tracks import (FaceTrack, box_iou,
                                           interpolate_track, keyframe_indices,
                                           link_tracks, main_track)

W, H = 640, 360
SPEAKER = (280, 120, 80, 80)  # central, present throughout
EXTRA = (20, 20, 40, 40)      # small face in a corner


class CountingDetector:
    """Preset boxes per frame index; records which frames it was run on."""

    is_real = True

    def __init__(self, per_frame):
        self.per_frame = per_frame
        self.calls = []

    def detect(self, frame):
        t = int(frame[0, 0, 0])  # the test writes the frame index there
        self.calls.append(t)
        return self.per_frame[t]


def _frames(n):
    frames = np.zeros((n, H, W, 3), np.uint8)
    frames[:, 0, 0, 0] = np.arange(n)
    return frames


def test_box_iou():
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert box_iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert box_iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0


def test_link_tracks_follows_two_faces_through_gaps():
    moving = [(280 + 4 * t, 120, 80, 80) for t in range(5)]
    dets = [[moving[0], EXTRA], [EXTRA, moving[1]], [], None,
            [moving[4]]]
    tracks = link_tracks(dets)
    assert len(tracks) == 2
    speaker = [tr for tr in tracks if 0 in tr.boxes and
               tr.boxes[0] == moving[0]][0]
    # frame 2 had no face, frame 3 was not run: the track survives both
    assert sorted(speaker.boxes) == [0, 1, 4]
    assert speaker.boxes[4] == moving[4]


def test_a_far_away_or_resized_box_starts_a_new_track():
    assert len(link_tracks([[SPEAKER], [(500, 250, 80, 80)]])) == 2
    assert len(link_tracks([[SPEAKER], [(340, 120, 80, 80)]])) == 1  # 0.75 side
    assert len(link_tracks([[SPEAKER], [(341, 120, 80, 80)]])) == 2
    assert len(link_tracks([[SPEAKER], [(280, 120, 130, 130)]])) == 1  # IoU
    assert len(link_tracks([[SPEAKER], [(300, 140, 20, 20)]])) == 2


def test_main_track_prefers_persistent_large_central_faces():
    speaker = FaceTrack({t: SPEAKER for t in range(10)})
    corner_big = FaceTrack({t: (0, 0, 120, 120) for t in range(3)})
    corner_small = FaceTrack({t: EXTRA for t in range(10)})
    assert main_track([corner_big, speaker, corner_small], W, H) is speaker
    # a big central face seen once loses to the speaker seen in every frame
    flash = FaceTrack({0: (200, 60, 240, 240)})
    assert main_track([flash, speaker], W, H) is speaker
    assert main_track([], W, H) is None


def test_interpolate_track_is_linear_between_and_held_outside():
    track = FaceTrack({1: (0, 0, 10, 10), 3: (20, 10, 30, 10)})
    boxes = interpolate_track(track, 6)
    assert boxes[0] == boxes[1] == (0, 0, 10, 10)
    assert boxes[2] == (10, 5, 20, 10)
    assert boxes[3] == boxes[4] == boxes[5] == (20, 10, 30, 10)


def test_keyframes():
    assert keyframe_indices(7, 1) == list(range(7))
    assert keyframe_indices(7, 3) == [0, 3, 6]
    assert keyframe_indices(8, 3) == [0, 3, 6, 7]
    with pytest.raises(ValueError, match='detect_every'):
        keyframe_indices(5, 0)


def test_cropper_follows_the_speaker_not_the_largest_box():
    # frame 1: a bigger face flashes in a corner; per-frame "largest box"
    # would jump to it, the track keeps the speaker
    per_frame = {0: [SPEAKER, EXTRA], 1: [(0, 0, 120, 120), SPEAKER],
                 2: [SPEAKER], 3: [EXTRA]}
    frames = _frames(4)
    frames[:, 120:200, 280:360] = 200  # the speaker's face region
    det = CountingDetector(per_frame)
    crops = FaceCropper(det, margin=0.0, size=80)(frames)
    assert crops.fallback == '' and crops.num_tracks == 3
    assert crops.detected.tolist() == [True, True, True, False]
    assert crops.coverage == pytest.approx(0.75)
    assert (crops.crops[:, 5:75, 5:75] == 200).all()  # every frame: speaker


def test_cropper_detects_only_on_keyframes_and_interpolates():
    # moved 30 px in between: IoU 0.14, but a shift of 0.75 face sides
    per_frame = {0: [(100, 100, 40, 40)], 4: [(130, 100, 40, 40)]}
    det = CountingDetector(per_frame)
    cropper = FaceCropper(det, margin=0.0, size=40, detect_every=4)
    boxes, detected, coverage, _ = cropper.main_boxes(_frames(5))
    assert det.calls == [0, 4]
    assert boxes[2] == (115, 100, 40, 40)
    assert detected.tolist() == [True, False, False, False, True]
    assert coverage == 1.0
    with pytest.raises(ValueError, match='detect_every'):
        FaceCropper(det, detect_every=0)
