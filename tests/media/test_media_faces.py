"""Face crops: geometry with a stubbed detector, fallbacks, the real Haar model."""
import numpy as np
import pytest

from mer_toolbox.fileio.clip_errors import NO_FACE, ClipError
from mer_toolbox.media import FaceCropper, build_face_detector, square_box
from mer_toolbox.media.faces import letterbox_resize


class StubDetector:
    """Returns preset boxes per call, in order."""

    is_real = True

    def __init__(self, per_frame):
        self.per_frame = list(per_frame)

    def detect(self, frame):
        return self.per_frame.pop(0)


def test_square_box_margin_and_clamping():
    # 20x10 box centred at (50, 40), margin 0.25 -> side 30 around the centre
    assert square_box((40, 35, 20, 10), 0.25, 200, 100) == (35, 25, 65, 55)
    # near the top-left corner: shifted inside, not padded
    assert square_box((0, 0, 20, 20), 0.5, 200, 100) == (0, 0, 40, 40)
    # near the bottom-right corner
    assert square_box((190, 90, 10, 10), 0.5, 200, 100) == (180, 80, 200, 100)
    # larger than the frame: the side is capped at the shorter frame side
    assert square_box((0, 0, 200, 100), 0.5, 200, 100) == (50, 0, 150, 100)


def test_letterbox():
    out = letterbox_resize(np.ones((2, 4, 3), np.uint8), 4)
    assert out.shape == (4, 4, 3)
    assert out[:, :, 0].tolist() == [[0] * 4, [1] * 4, [1] * 4, [0] * 4]


def test_crop_takes_the_largest_face_with_margin():
    frames = np.zeros((2, 100, 200, 3), np.uint8)
    frames[:, 40:60, 120:140] = 255  # the big face: a white 20x20 square
    big, small = (120, 40, 20, 20), (10, 10, 5, 5)
    cropper = FaceCropper(StubDetector([[small, big], [big]]), margin=0.5,
                          size=40)
    crops = cropper(frames)
    assert crops.crops.shape == (2, 40, 40, 3) and crops.fallback == ''
    assert crops.detected.tolist() == [True, True]
    # side 40 around the face: the white square fills the central 20x20
    assert (crops.crops[:, 10:30, 10:30] == 255).all()
    assert (crops.crops[:, :8] == 0).all() and (crops.crops[:, 32:] == 0).all()


def test_frames_without_a_face_reuse_the_nearest_box():
    frames = np.zeros((3, 100, 200, 3), np.uint8)
    frames[:, 40:60, 120:140] = 255
    box = (120, 40, 20, 20)
    crops = FaceCropper(StubDetector([[], [box], []]), margin=0.5, size=40)(frames)
    assert crops.detected.tolist() == [False, True, False]
    assert (crops.crops[:, 10:30, 10:30] == 255).all()


def test_no_face_anywhere_falls_back_or_fails():
    frames = np.full((2, 50, 100, 3), 7, np.uint8)
    crops = FaceCropper(StubDetector([[], []]), size=20)(frames)
    assert crops.fallback == 'whole_frame' and crops.crops.shape == (2, 20, 20, 3)
    assert (crops.crops[:, 0] == 0).all()  # letterbox padding above the frame
    assert (crops.crops[:, 10] == 7).all()
    with pytest.raises(ClipError) as info:
        FaceCropper(StubDetector([[], []]), on_no_face='fail')(frames)
    assert info.value.reason == NO_FACE
    # the 'none' detector is a choice: never a failure, never a warning
    crops = FaceCropper(dict(type='none'), size=20, on_no_face='fail')(frames)
    assert crops.fallback == 'detector_none'


def test_haar_finds_no_face_in_synthetic_frames():
    frames = np.random.default_rng(0).integers(0, 255, (2, 64, 96, 3),
                                               dtype=np.uint8)
    crops = FaceCropper(dict(type='opencv_haar'), size=32)(frames)
    assert crops.fallback == 'whole_frame'


def test_haar_finds_the_face_in_a_photo():
    """matplotlib ships a portrait (Grace Hopper): the real positive path."""
    cbook = pytest.importorskip('matplotlib.cbook')
    image = pytest.importorskip('PIL.Image')
    path = cbook.get_sample_data('grace_hopper.jpg', asfileobj=False)
    photo = np.asarray(image.open(path).convert('RGB'))  # (600, 512, 3)
    faces = build_face_detector(dict(type='opencv_haar')).detect(photo)
    assert len(faces) >= 1
    x, y, w, h = max(faces, key=lambda b: b[2] * b[3])
    # the face is in the upper middle of the portrait
    assert 150 < x + w / 2 < 360 and 120 < y + h / 2 < 330 and w > 120
    crops = FaceCropper(dict(type='opencv_haar'), size=64)(photo[None])
    assert crops.fallback == '' and crops.detected.all()


def test_bad_detector_configs():
    with pytest.raises(ValueError, match='unknown face detector'):
        build_face_detector(dict(type='retinaface'))
    with pytest.raises(FileNotFoundError, match='Haar cascade'):
        build_face_detector(dict(type='opencv_haar', cascade='nope.xml'))
    with pytest.raises(ValueError, match='on_no_face'):
        FaceCropper(dict(type='none'), on_no_face='skip')


def test_coverage_summary_and_its_summary_line():
    from mer_toolbox.media.runner import coverage_summary, format_summary
    cov = coverage_summary({'a': 1.0, 'b': 0.5, 'c': 0.0})
    assert (cov['mean'], cov['min'], cov['clips_full'], cov['clips_partial'],
            cov['clips_none']) == (0.5, 0.0, 1, 1, 1)
    assert coverage_summary({})['mean'] is None
    summary = dict(clips=3, ok=3, failed=0, skipped_done=0, seconds=1.0,
                   clips_per_second=3.0, failures_by_reason={},
                   warnings_by_reason={}, timings={'faces': 1.0},
                   face_detector='mtcnn', face_coverage=cov)
    assert ('faces (mtcnn): coverage mean 0.500, min 0.000; clips full 1, '
            'partial 1, none 1') in format_summary(summary)
