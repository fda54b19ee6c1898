"""Bad-input cases: configs, label CSVs and feature files."""
import io
import os
import unicodedata
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Tuple

import numpy as np

from bad_input_common import (BASE_CONFIG, DIMS, FOLDERS, NAMES, POOL, ToolFailed,
                              case, dataset_cfg, model_cfg, read_all,
                              tool_main, write_store)
from mer_toolbox.fileio.feature_store import pack_npy_store
from mer_toolbox.engine.hooks import FeatureNormHook
from mer_toolbox.registry import DATASETS, MODELS
from mer_toolbox.engine.setup_env import load_config


# ----------------------------------------------------------------- configs
@case('config-unknown-type', KeyError,
      says=("'MLPFeatureProjecter'", 'mer_toolbox::encoder registry',
            'Did you mean: MLPFeatureProjector'))
def _(tmp: Path, shared: Any) -> Callable:
    cfg = model_cfg()
    cfg['encoders']['type'] = 'MLPFeatureProjecter'
    return lambda: MODELS.build(cfg)


@case('config-unknown-dataset-type', KeyError,
      says=("'MERFeatureDatset'", 'dataset registry', 'MERFeatureDataset'))
def _(tmp: Path, shared: Any) -> Callable:
    cfg = dataset_cfg(write_store(tmp), type='MERFeatureDatset')
    return lambda: DATASETS.build(cfg)


@case('config-misspelt-top-level-key', KeyError,
      says=('typo.py', "'optim_wraper' is read by nothing",
            "did you mean 'optim_wrapper'"))
def _(tmp: Path, shared: Any) -> Callable:
    path = tmp / 'typo.py'
    path.write_text(f'_base_ = [{BASE_CONFIG!r}]\n'
                    "optim_wraper = dict(optimizer=dict(lr=0.1))\n")
    return lambda: load_config(str(path))


@case('config-missing-file', FileNotFoundError,
      says=('nope.py', 'does not exist'))
def _(tmp: Path, shared: Any) -> Callable:
    return lambda: load_config(str(tmp / 'nope.py'))


@case('config-model-modality-not-in-data', ValueError,
      says=("model uses modalities ['text']", 'labels.csv',
            "serves ['video', 'audio']", 'data_prefix'))
def _(tmp: Path, shared: Any) -> Callable:
    model = MODELS.build(model_cfg(('video', 'audio', 'text'), text=5))
    dataset = DATASETS.build(dataset_cfg(write_store(tmp)))
    runner = SimpleNamespace(model=model, train_dataloader=SimpleNamespace(
        dataset=dataset))
    return lambda: FeatureNormHook().before_train(runner)  # first hook run


@case('config-dataset-modality-not-in-data-prefix', ValueError,
      says=("modalities ['text'] are not in the data",
            "feature folders for ['audio', 'video']"))
def _(tmp: Path, shared: Any) -> Callable:
    return read_all(write_store(tmp), modalities=['video', 'text'])


@case('config-bad-missing-modality-policy', ValueError,
      says=('missing_modality', "('error', 'mask')", "got 'drop'"))
def _(tmp: Path, shared: Any) -> Callable:
    return read_all(write_store(tmp), missing_modality='drop')


@case('config-feature-dims-missing-modality', KeyError,
      says=("feature_dims has no size for ['audio']",))
def _(tmp: Path, shared: Any) -> Callable:
    cfg = model_cfg()
    cfg['feature_dims'] = dict(video=4)
    return lambda: MODELS.build(cfg)


@case('config-unknown-feature-layout', ValueError,
      says=("unknown feature layout 'zarr'", "'npy', 'packed'"))
def _(tmp: Path, shared: Any) -> Callable:
    return read_all(write_store(tmp), layout='zarr')


@case('config-extraction-section-typo', ToolFailed,
      says=('exit 2', 'bad.py', "config keys nothing reads: ['vidoe']"))
def _(tmp: Path, shared: Any) -> Callable:
    path = tmp / 'bad.py'
    path.write_text(f"clips = dict(video_root={str(tmp)!r})\n"
                    "vidoe = dict(num_frames=4)\n"
                    "feature_sets = []\n"
                    f"output = dict(root={str(tmp / 'feats')!r})\n")
    return tool_main('extract_features', [path, '--no-progress'])


# -------------------------------------------------------------- label CSVs
def label_case(id: str, text: str, says: Tuple[str, ...]) -> None:
    """``labels.csv`` replaced by ``text``."""
    def make(tmp: Path, shared: Any) -> Callable[[], list]:
        root = write_store(tmp)
        (root / 'labels.csv').write_text(text)
        return read_all(root)
    case(id, ValueError, says)(make)


label_case('labels-unknown-label',
           'name,discrete\nclip_a,happy\nclip_b,joyful\n',
           ('labels.csv:3', "'clip_b'", "unknown label 'joyful'",
            "expected one of ['neutral'"))
label_case('labels-duplicate-clip',
           'name,discrete\nclip_a,happy\nclip_b,sad\nclip_a,sad\n',
           ('labels.csv:4', "duplicate clip name 'clip_a'", 'first on line 2'))
label_case('labels-empty-file', '',
           ('labels.csv', 'empty file', "expected a header with a 'name'"))
label_case('labels-header-only', 'name,discrete\n',
           ('labels.csv', 'no clips listed (header only)'))
label_case('labels-no-name-column', 'clip,discrete\nclip_a,happy\n',
           ('labels.csv', "no 'name' column", "['clip', 'discrete']"))
label_case('labels-no-label-column', 'name,emotion\nclip_a,happy\n',
           ('labels.csv', "no 'discrete' label column", 'labelled=False'))
label_case('labels-empty-clip-name', 'name,discrete\n,happy\n',
           ('labels.csv:2', 'empty clip name'))
label_case('labels-duplicate-column',
           'name,discrete,discrete\nclip_a,happy,sad\n',
           ('labels.csv', "duplicate column names ['discrete']",
            'expected each column once'))
# the clip name rule (mer_toolbox/fileio/clip_name.py): a name becomes a file
label_case('labels-clip-name-traversal', 'name,discrete\n../../x,happy\n',
           ('labels.csv:2', "'../../x'", 'path separator',
            'expected a plain file name'))
label_case('labels-clip-name-absolute', 'name,discrete\n/abs/dir/x,happy\n',
           ('labels.csv:2', "'/abs/dir/x'", 'path separator'))
label_case('labels-clip-name-control-char',
           'name,discrete\n"clip\nx",happy\n',
           ('labels.csv:2', 'control character'))
label_case('labels-clip-name-too-long', f'name,discrete\n{"a" * 300},happy\n',
           ('labels.csv:2', 'is 300 bytes long', 'at most 200 UTF-8 bytes'))


@case('labels-not-utf8', ValueError,
      says=('labels.csv', 'not UTF-8', 'expected a UTF-8 CSV'))
def _(tmp: Path, shared: Any) -> Callable:
    root = write_store(tmp)
    (root / 'labels.csv').write_bytes('name,discrete\nclip_é,happy\n'
                                      .encode('latin-1'))
    return read_all(root)


def nfd_name_found(tmp: Path, shared: Any, items: Any) -> None:
    assert items[0]['data_samples'].name == unicodedata.normalize(
        'NFC', 'café')


@case('labels-clip-name-nfd-matches-nfc-file', None, kept=nfd_name_found)
def _(tmp: Path, shared: Any) -> Callable:
    root = write_store(tmp)
    for m, d in DIMS.items():  # files written with the composed spelling
        np.save(root / FOLDERS[m] / (unicodedata.normalize('NFC', 'café') +
                                     '.npy'), np.ones(d, np.float32))
    (root / 'labels.csv').write_text(
        'name,discrete\n' + unicodedata.normalize('NFD', 'café') + ',happy\n',
        encoding='utf-8')
    return read_all(root)


@case('labels-missing-file', FileNotFoundError,
      says=('nope.csv', 'does not exist'))
def _(tmp: Path, shared: Any) -> Callable:
    return read_all(write_store(tmp), ann_file='nope.csv')


def speaker_case(id: str, text: str, says: Tuple[str, ...]) -> None:
    """``labels.csv`` replaced by ``text``, read with speaker centring."""
    def make(tmp: Path, shared: Any) -> Callable[[], list]:
        root = write_store(tmp)
        (root / 'labels.csv').write_text(text)
        return read_all(root, speaker_centering='speaker')
    case(id, ValueError, says)(make)


speaker_case('labels-speaker-column-missing',
             'name,discrete\nclip_a,happy\nclip_b,sad\n',
             ('labels.csv', "no 'speaker' column", "['name', 'discrete']",
              'speaker_centering needs it for every clip'))
speaker_case('labels-speaker-cell-empty',
             'name,discrete,speaker\nclip_a,happy,s1\nclip_b,sad,\n',
             ('labels.csv:3', "'clip_b'", "empty 'speaker' cell"))
speaker_case('labels-speaker-one-clip',
             'name,discrete,speaker\nclip_a,happy,s1\nclip_b,sad,s1\n'
             'clip_c,angry,s2\n',
             ('labels.csv', "\"'s2' (1)\"", 'fewer than 2 clips',
              'speaker_centering=None'))


# ----------------------------------------------------------- feature files
def feature_case(id: str, array: Any, says: Tuple[str, ...]) -> None:
    """``video-UTT/clip_c.npy`` replaced by ``array`` (bytes: raw file)."""
    def make(tmp: Path, shared: Any) -> Callable[[], list]:
        root = write_store(tmp)
        path = root / 'video-UTT' / 'clip_c.npy'
        if isinstance(array, bytes):
            path.write_bytes(array)
        else:
            np.save(path, array)
        return read_all(root)
    case(id, ValueError, says)(make)


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def with_value(value: float) -> np.ndarray:
    x = np.ones(4, np.float32)
    x[1] = value
    return x


feature_case('features-wrong-dim', np.ones(5, np.float32),
             ('video-UTT/clip_c', 'expected feature dimension 4', 'got 5'))
feature_case('features-nan', with_value(np.nan),
             ('video-UTT/clip_c', '1 NaN/Inf value(s)'))
feature_case('features-inf', with_value(np.inf),
             ('video-UTT/clip_c', '1 NaN/Inf value(s)'))
feature_case('features-corrupt-npy', b'not a numpy file',
             ('video-UTT/clip_c.npy', "unreadable feature file for clip "
              "'clip_c'", 'no .npy header', 'written by np.save'))
feature_case('features-truncated-npy', npy_bytes(np.ones(4, np.float32))[:-8],
             ('video-UTT/clip_c.npy', "unreadable feature file for clip "
              "'clip_c'", 'written by np.save'))
feature_case('features-empty-npy', b'',
             ('video-UTT/clip_c.npy', "'clip_c'", 'no .npy header'))
feature_case('features-3d-array', np.ones((2, 2, 4), np.float32),
             ('video-UTT/clip_c', 'expected a (D,) or (T, D) array',
              'shape (2, 2, 4)'))
feature_case('features-integer-dtype', np.ones(4, np.int64),
             ('video-UTT/clip_c', 'expected floating-point features',
              'int64'))
feature_case('features-zero-frames', np.ones((0, 4), np.float32),
             ('video-UTT/clip_c', 'frame-level features have 0 frames'))
feature_case('features-rank-differs-from-folder', np.ones((3, 4), np.float32),
             ('video-UTT/clip_c', 'shape (3, 4) is frame-level (T, D)',
              'folder is utterance-level', 'one level per feature folder'))


def huge_header() -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, dict(
        descr='<f4', fortran_order=False, shape=(100000, 1000000)))
    return buffer.getvalue() + bytes(16)


feature_case('features-header-larger-than-file', huge_header(),
             ('video-UTT/clip_c.npy', 'declares shape (100000, 1000000)',
              'the file has 144', 'is it truncated'))


def special_npy(id: str, make_entry: Callable[[Path], None],
                says: str) -> None:
    """``video-UTT/clip_c.npy`` replaced by a non-file entry."""
    def make(tmp: Path, shared: Any) -> Callable[[], list]:
        root = write_store(tmp)
        path = root / 'video-UTT' / 'clip_c.npy'
        path.unlink()
        make_entry(path)
        return read_all(root)
    case(id, ValueError, ('video-UTT/clip_c.npy', "clip 'clip_c'", says,
                          'expected an array written by np.save'))(make)


special_npy('features-directory-named-npy', Path.mkdir, 'is a directory')
special_npy('features-fifo-named-npy', lambda p: os.mkfifo(p), 'is a FIFO')


@case('features-missing-file', FileNotFoundError,
      says=('labels.csv', "no 'audio' features", 'audio-UTT', "['clip_b']",
            'missing_modality="mask"'))
def _(tmp: Path, shared: Any) -> Callable:
    root = write_store(tmp)
    (root / 'audio-UTT' / 'clip_b.npy').unlink()
    return read_all(root)


def masked_clip_b(tmp: Path, shared: Any, items: Any) -> None:
    sample = items[1]['data_samples']
    assert sample.name == 'clip_b' and not sample.present('audio')
    assert sample.present('video')
    assert not items[1]['inputs']['audio'].any()
    assert all(item['data_samples'].present('audio')
               for i, item in enumerate(items) if i != 1)


@case('features-missing-file-masked', None, kept=masked_clip_b)
def _(tmp: Path, shared: Any) -> Callable:
    root = write_store(tmp)
    (root / 'audio-UTT' / 'clip_b.npy').unlink()
    return read_all(root, missing_modality='mask')


@case('features-missing-folder', FileNotFoundError,
      says=('audio-FRA', 'does not exist'))
def _(tmp: Path, shared: Any) -> Callable:
    return read_all(write_store(tmp), data_prefix=dict(FOLDERS,
                                                       audio='audio-FRA'))


def packed(tmp: Path) -> Path:
    """The store with its video features also packed into ``video-PK``."""
    root = write_store(tmp)
    pack_npy_store(str(root / 'video-UTT'), str(root / 'video-PK'))
    return root


def packed_prefix() -> dict:
    return dict(data_prefix=dict(FOLDERS, video='video-PK'))


@case('features-packed-duplicate-names', ValueError,
      says=('video-PK/names.txt', "duplicate clip name 'clip_a'",
            'lines 1 and 3'))
def _(tmp: Path, shared: Any) -> Callable:
    root = packed(tmp)
    names = root / 'video-PK' / 'names.txt'
    lines = names.read_text().splitlines()
    names.write_text('\n'.join(lines[:2] + ['clip_a'] + lines[3:]) + '\n')
    return read_all(root, **packed_prefix())


@case('features-packed-rows-mismatch', ValueError,
      says=('video-PK', 'data.npy has 8 rows but names.txt lists 7 clips'))
def _(tmp: Path, shared: Any) -> Callable:
    root = packed(tmp)
    names = root / 'video-PK' / 'names.txt'
    names.write_text('\n'.join(names.read_text().splitlines()[:7]) + '\n')
    return read_all(root, **packed_prefix())


@case('features-packed-inf-bulk-load', ValueError,
      says=('video-PK/clip_c', 'NaN/Inf'))
def _(tmp: Path, shared: Any) -> Callable:
    root = packed(tmp)
    data = np.load(root / 'video-PK' / 'data.npy')
    data[2, 1] = np.inf  # clip_c's row
    np.save(root / 'video-PK' / 'data.npy', data)
    dataset = DATASETS.build(dataset_cfg(root, **packed_prefix()))
    return lambda: dataset.load_rows(0, len(dataset))


def old_pack_intact(tmp: Path, shared: Any, result: Any) -> None:
    folder = tmp / 'video-PK'
    names = (folder / 'names.txt').read_text().split()
    assert names == list(NAMES + POOL)
    assert np.isfinite(np.load(folder / 'data.npy')).all()
    assert not (tmp / 'video-PK.tmp-packing').exists()


@case('features-nan-while-packing', ValueError,
      says=('video-UTT/clip_c.npy', 'NaN/Inf'), kept=old_pack_intact)
def _(tmp: Path, shared: Any) -> Callable:
    root = packed(tmp)  # a pack from an earlier, good run
    np.save(root / 'video-UTT' / 'clip_c.npy', with_value(np.nan))
    return lambda: pack_npy_store(str(root / 'video-UTT'),
                                  str(root / 'video-PK'))


