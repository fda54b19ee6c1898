"""The bad-input catalogue: every kind of bad input a user can hand the
toolbox, run through the real code path, one parametrised test.

Each :class:`Case` writes its bad input under the test's ``tmp_path`` and
returns the call a user's run would make. The test then checks that

(a) the call raises the documented exception type (a tool: exits non-zero),
(b) the message names the culprit (file, line, clip, key) and says what was
    expected (``says``: substrings that must all appear),
(c) nothing already computed is lost: every file that existed under
    ``tmp_path`` before the call is still there, byte for byte, plus the
    case's own ``kept`` check (a prior store keeps its records, a feature
    folder its files, an extraction run its finished clips).

``error=None`` marks input that must be *tolerated*; ``kept`` then asserts
how. Every case id is a row of ``docs/bad_input.md``.
"""
import hashlib
import importlib.util
import io
import json
import logging
import os.path as osp
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Dict, Optional, Tuple, Type

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mer_test_utils import REPO
from mer_toolbox.apis import CheckpointMismatchError, init_model
from mer_toolbox.apis.prior_input import load_prior
from mer_toolbox.constants import MER2024_CLASSES
from mer_toolbox.datasets import SemiSupervisedDataset, pack_npy_store
from mer_toolbox.engine import UnsafeCheckpointError, load_checkpoint_file
from mer_toolbox.engine.hooks import FeatureNormHook, PseudoLabelHook
from mer_toolbox.media import ClipError
from mer_toolbox.media.runner import build_extraction, run_extraction
from mer_toolbox.models.encoders.raw.base import RawEncoder
from mer_toolbox.priors.schema import PriorRecord, PriorValidationError
from mer_toolbox.priors.store import PriorStoreWriter, load_priors
from mer_toolbox.registry import DATASETS, HOOKS, MODELS
from mer_toolbox.utils.setup_env import load_config

TESTS = osp.dirname(osp.abspath(__file__))
sys.path[:0] = [osp.join(TESTS, 'apis'), osp.join(TESTS, 'media')]
from inference_assets import (prior_record, save_checkpoint,  # noqa: E402
                              write_train_config)
from media_fixtures import _media_dir  # noqa: E402  (cached clip files)

DIMS = dict(video=4, audio=3)
FOLDERS = {m: f'{m}-UTT' for m in DIMS}
NAMES = ('clip_a', 'clip_b', 'clip_c', 'clip_d')
POOL = ('pool_0', 'pool_1', 'pool_2', 'pool_3')
BASE_CONFIG = osp.join(REPO, 'configs', 'ablations', 'ce_bdcl.py')


# ------------------------------------------------------------ the catalogue
@dataclass(frozen=True)
class Case:
    """One bad input (see the module doc)."""

    id: str
    make: Callable[[Path, Any], Callable[[], Any]]
    error: Optional[Type[BaseException]]
    says: Tuple[str, ...] = ()
    kept: Optional[Callable[[Path, Any, Any], None]] = None
    needs: Tuple[str, ...] = ()


CASES = []


def case(id: str, error: Optional[Type[BaseException]],
         says: Tuple[str, ...] = (), kept: Optional[Callable] = None,
         needs: Tuple[str, ...] = ()) -> Callable:
    """Register the decorated ``make(tmp, shared) -> call`` as a case."""
    def register(make):
        CASES.append(Case(id, make, error, tuple(says), kept, tuple(needs)))
        return make
    return register


# ---------------------------------------------------------------- helpers
def write_store(root: Path) -> Path:
    """Labelled clips + a pool in the MERTools layout, ``labels.csv`` and
    ``pool.csv``; returns ``root``."""
    rng = np.random.default_rng(0)
    for m, d in DIMS.items():
        (root / FOLDERS[m]).mkdir(parents=True, exist_ok=True)
        for name in NAMES + POOL:
            np.save(root / FOLDERS[m] / f'{name}.npy',
                    rng.normal(size=d).astype(np.float32))
    labels = ''.join(f'{n},{c}\n' for n, c in zip(NAMES, MER2024_CLASSES))
    (root / 'labels.csv').write_text('name,discrete\n' + labels)
    (root / 'pool.csv').write_text('name\n' + ''.join(f'{n}\n' for n in POOL))
    return root


def dataset_cfg(root: Path, **overrides) -> dict:
    cfg = dict(type='MERFeatureDataset', ann_file='labels.csv',
               data_root=str(root), data_prefix=dict(FOLDERS),
               feature_dims=dict(DIMS))
    return dict(cfg, **overrides)


def read_all(root: Path, **overrides) -> Callable[[], list]:
    """Build the dataset and read every item, as an epoch does."""
    def call():
        dataset = DATASETS.build(dataset_cfg(root, **overrides))
        return [dataset[i] for i in range(len(dataset))]
    return call


def model_cfg(modalities: Tuple[str, ...] = ('video', 'audio'),
              **dims: int) -> dict:
    cfg = Config.fromfile(BASE_CONFIG).model
    cfg.modalities, cfg.feature_dims = list(modalities), dict(DIMS, **dims)
    return cfg.to_dict()


def snapshot(root: Path) -> Dict[str, str]:
    """Relative path -> sha1 of every file under ``root``."""
    return {str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob('*')) if p.is_file()}


class ToolFailed(Exception):
    """A tool's ``main()`` returned non-zero; the message is what it logged."""


def tool_main(tool: str, argv: list) -> Callable[[], int]:
    """Run ``tools/<tool>.py``'s ``main(argv)`` in this process."""
    def call():
        spec = importlib.util.spec_from_file_location(
            f'{tool}_tool', osp.join(REPO, 'tools', f'{tool}.py'))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        lines = []
        handler = logging.Handler()
        handler.emit = lambda record: lines.append(record.getMessage())
        logger = logging.getLogger('mer_toolbox')
        logger.addHandler(handler)
        try:
            code = module.main([str(a) for a in argv])
        finally:
            logger.removeHandler(handler)
        if code:
            raise ToolFailed(f'exit {code}: ' + '\n'.join(lines))
        return code
    return call


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


@case('labels-missing-file', FileNotFoundError,
      says=('nope.csv', 'does not exist'))
def _(tmp: Path, shared: Any) -> Callable:
    return read_all(write_store(tmp), ann_file='nope.csv')


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


# ------------------------------------------------------------- prior files
def store_case(id: str, bad_line: str, says: Tuple[str, ...]) -> None:
    """A prior store: an ok record of clip_a, then ``bad_line`` (line 2)."""
    def make(tmp: Path, shared: Any) -> Callable:
        store = tmp / 'priors.jsonl'
        store.write_text(json.dumps(prior_record('clip_a')) + '\n' +
                         bad_line + '\n')
        return lambda: load_priors(str(store), classes=MER2024_CLASSES)
    case(id, ValueError, says)(make)


def bad_record(**change) -> str:
    return json.dumps(prior_record('clip_b', **change))


store_case('priors-invalid-json', '{"name": "clip_b", "teacher": ',
           ('priors.jsonl:2', 'not a valid prior record', 'Expecting value'))
store_case('priors-label-outside-classes', bad_record(label='joy'),
           ('priors.jsonl:2', "'clip_b'", "label 'joy' is not one of"))
store_case('priors-contributions-not-summing-to-1',
           bad_record(contributions=dict(video=0.9, audio=0.4, text=0.2)),
           ('priors.jsonl:2', "'clip_b'", 'contributions sum to 1.5',
            'expected 1'))
store_case('priors-invalid-au-id', bad_record(action_units=[6, 99]),
           ('priors.jsonl:2', "'clip_b'", 'not FACS action units: [99]'))
store_case('priors-score-outside-range',
           bad_record(scores=dict.fromkeys(MER2024_CLASSES, 1.5)),
           ('priors.jsonl:2', "'clip_b'", 'scores outside [0, 1]'))
store_case('priors-unknown-record-key',
           json.dumps(dict(prior_record('clip_b'), api_key='x')),
           ('priors.jsonl:2', "unknown record keys ['api_key']"))


def torn_line_tolerated(tmp: Path, shared: Any, result: Any) -> None:
    before, after = result
    assert set(before) == {'clip_a'}  # the fragment is skipped, not an error
    assert set(after) == {'clip_a', 'clip_b'}  # cut, then appended after
    assert (tmp / 'priors.jsonl').read_text().count('\n') == 2


@case('priors-torn-last-line', None, kept=torn_line_tolerated)
def _(tmp: Path, shared: Any) -> Callable:
    store = tmp / 'priors.jsonl'
    store.write_text(json.dumps(prior_record('clip_a')) + '\n' +
                     '{"name": "clip_b", "teach')  # a write cut by a kill

    def call():
        before = load_priors(str(store))
        with PriorStoreWriter(str(store)) as writer:  # what a resume does
            writer.append(PriorRecord.from_dict(prior_record('clip_b')))
        return before, load_priors(str(store))
    return call


@case('priors-file-with-two-records', PriorValidationError,
      says=('two.json', 'not one JSON object', 'one record per line'))
def _(tmp: Path, shared: Any) -> Callable:
    path = tmp / 'two.json'
    path.write_text(json.dumps(prior_record('clip_a')) + '\n' +
                    json.dumps(prior_record('clip_b')) + '\n')
    return lambda: load_prior(str(path), MER2024_CLASSES)


# ------------------------------------------------------------------- clips
class LoudnessEncoder(RawEncoder):
    """A model-free audio encoder (RMS per 20 ms): the clip cases test
    decoding and bookkeeping, not a network. Passed as a class, never
    registered (the registry sweep would otherwise pick it up)."""

    modality = 'audio'

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.dim = 1

    def encode_frames(self, samples: np.ndarray) -> np.ndarray:
        usable = len(samples) // 320 * 320
        steps = samples[:usable].reshape(-1, 320)  # (T, 320)
        return np.sqrt((steps ** 2).mean(1, keepdims=True))  # (T, 1)


BAD_CLIPS = dict(garbage='corrupt file', truncated='corrupt file',
                 empty='zero-length clip', missing='unreadable path',
                 silent='no audio stream')


@pytest.fixture(scope='module')
def extraction(tmp_path_factory):
    """One extraction run over a good clip and every bad one, then a
    ``resume`` run; what the tool does, without the process."""
    media = Path(_media_dir())
    root = tmp_path_factory.mktemp('extraction')
    listing = root / 'clips.csv'
    listing.write_text('name,path\n' + ''.join(
        f'{n},{media / n}.mp4\n' for n in ['good', *BAD_CLIPS]))
    extractor, clips, output = build_extraction(dict(
        clips=dict(list_file=str(listing)),
        feature_sets=[dict(name='rms', encoder=dict(
            type=LoudnessEncoder, pretrained='none', device='cpu'))],
        output=dict(root=str(root / 'feats'))))
    first = run_extraction(extractor, clips, output['root'], progress=False)
    with open(root / 'feats' / 'failures.jsonl', encoding='utf-8') as f:
        failures = {r['clip']: r for r in map(json.loads, f)}
    good = root / 'feats' / 'rms-UTT' / 'good.npy'
    stamp = good.stat().st_mtime_ns
    again = run_extraction(extractor, clips, output['root'], resume=True,
                           progress=False)
    return SimpleNamespace(media=media, extractor=extractor, first=first,
                           again=again, failures=failures, good=good,
                           good_untouched=good.stat().st_mtime_ns == stamp)


def clip_case(name: str, reason: str) -> None:
    def make(tmp: Path, shared: Any) -> Callable:
        path = shared.extraction.media / f'{name}.mp4'
        return lambda: shared.extraction.extractor.extract_clip(str(path))

    def kept(tmp: Path, shared: Any, result: Any) -> None:
        run = shared.extraction
        assert run.first['exit_code'] == 1  # the tool exits 1
        assert run.failures[name]['reason'] == reason
        assert f'{name}.mp4' in run.failures[name]['detail']
        assert run.first['ok'] == 1 and run.good.is_file()
        assert run.again['skipped_done'] == 1 and run.good_untouched
    case(f'clips-{name}', ClipError, says=(f'{name}.mp4', reason),
         kept=kept, needs=('extraction',))(make)


for _name, _reason in BAD_CLIPS.items():
    clip_case(_name, _reason)


# ------------------------------------------------------------- checkpoints
@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A config over the tiny store and a checkpoint of its model with
    fitted input statistics (what training leaves behind)."""
    root = write_store(tmp_path_factory.mktemp('trained'))
    config = write_train_config(str(root / 'train.py'), str(root),
                                folders=FOLDERS, dims=DIMS, hidden_dim=8)
    checkpoint = save_checkpoint(config, str(root / 'model.pth'))
    return SimpleNamespace(root=root, config=config, checkpoint=checkpoint)


@case('checkpoint-missing-file', FileNotFoundError,
      says=('nope.pth', 'does not exist'), needs=('trained',))
def _(tmp: Path, shared: Any) -> Callable:
    return lambda: init_model(shared.trained.config, str(tmp / 'nope.pth'))


@case('checkpoint-wrong-shapes', CheckpointMismatchError,
      says=('model.pth', 'does not fit the model built from', 'wide.py',
            'size mismatch for encoders.video', 'torch.Size([8, 4])',
            'torch.Size([12, 4])'), needs=('trained',))
def _(tmp: Path, shared: Any) -> Callable:
    wide = write_train_config(str(tmp / 'wide.py'), str(shared.trained.root),
                              folders=FOLDERS, dims=DIMS, hidden_dim=12)
    return lambda: init_model(wide, shared.trained.checkpoint)


@case('checkpoint-no-input-statistics', CheckpointMismatchError,
      says=('raw.pth', 'no fitted input statistics'), needs=('trained',))
def _(tmp: Path, shared: Any) -> Callable:
    model = MODELS.build(Config.fromfile(shared.trained.config).model)
    torch.save({'state_dict': model.state_dict()}, tmp / 'raw.pth')
    return lambda: init_model(shared.trained.config, str(tmp / 'raw.pth'))


def truncated_checkpoint(id: str, keep: float,
                         says: Tuple[str, ...]) -> None:
    def make(tmp: Path, shared: Any) -> Callable:
        data = Path(shared.trained.checkpoint).read_bytes()
        path = tmp / f'{id}.pth'
        path.write_bytes(data[:int(len(data) * keep)])
        return lambda: init_model(shared.trained.config, str(path))
    case(f'checkpoint-{id}', RuntimeError, says=(f'{id}.pth',) + says,
         needs=('trained',))(make)


truncated_checkpoint('truncated', 0.5, ('bytes', 'written by torch.save'))
truncated_checkpoint('empty', 0.0, ('(0 bytes', 'Ran out of input'))


class _Payload:
    """Pickles as a call to os.system: the classic malicious checkpoint."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (__import__('os').system, (f'touch {self.marker}',))


def payload_not_run(tmp: Path, shared: Any, result: Any) -> None:
    assert not (tmp / 'pwned').exists()


@case('checkpoint-malicious-pickle', UnsafeCheckpointError,
      says=('evil.pth', 'system', 'safe loader', '--trust-checkpoint'),
      kept=payload_not_run, needs=('trained',))
def _(tmp: Path, shared: Any) -> Callable:
    state = torch.load(shared.trained.checkpoint, weights_only=False)
    state['meta'] = {'x': _Payload(str(tmp / 'pwned'))}
    torch.save(state, tmp / 'evil.pth')
    return lambda: init_model(shared.trained.config, str(tmp / 'evil.pth'))


# --------------------------------------------------------- pseudo-labelling
@case('pseudo-threshold-above-1', ValueError,
      says=('threshold must be in (0, 1]', 'got 1.5'))
def _(tmp: Path, shared: Any) -> Callable:
    return lambda: HOOKS.build(dict(type='PseudoLabelHook', threshold=1.5))


@case('pseudo-threshold-zero', ValueError,
      says=('threshold must be in (0, 1]', 'got 0'))
def _(tmp: Path, shared: Any) -> Callable:
    return lambda: HOOKS.build(dict(type='PseudoLabelHook', threshold=0.0))


def semi(root: Path, pool_file: str = 'pool.csv') -> Callable[[], Any]:
    return lambda: SemiSupervisedDataset(
        dataset_cfg(root), dataset_cfg(root, ann_file=pool_file,
                                       labelled=False))


@case('pseudo-empty-pool', ValueError,
      says=('pool.csv', 'no clips listed (header only)'))
def _(tmp: Path, shared: Any) -> Callable:
    root = write_store(tmp)
    (root / 'pool.csv').write_text('name\n')
    return semi(root)


@case('pseudo-pool-overlaps-labelled', ValueError,
      says=("1 pool clip(s) are also labelled", "['clip_b']",
            "overlap='drop'"))
def _(tmp: Path, shared: Any) -> Callable:
    root = write_store(tmp)
    (root / 'pool.csv').write_text('name\npool_0\nclip_b\npool_1\n')
    return semi(root)


def table_untouched(tmp: Path, shared: Any, result: Any) -> None:
    table = shared.table
    assert table.rounds == 0 and (table.labels == -1).all()
    saved = load_checkpoint_file(str(tmp / 'epoch_1.pth'))['pseudo_labels']
    assert saved['rounds'] == 1 and (saved['labels'] >= 0).all()


@case('pseudo-resume-with-changed-pool', ValueError,
      says=('unlabelled pool changed', 'checkpoint: 4 clips', 'now: 3 clips',
            'resume with the original pool'), kept=table_untouched)
def _(tmp: Path, shared: Any) -> Callable:
    root = write_store(tmp)

    def runner(pool_file: str) -> SimpleNamespace:
        dataset = semi(root, pool_file)()
        return SimpleNamespace(_resume=True, train_dataloader=SimpleNamespace(
            dataset=dataset))

    first, hook = runner('pool.csv'), PseudoLabelHook(cold_start=1)
    hook.before_run(first)
    hook.dataset.table.update(np.arange(4) % 6, np.ones(4), np.ones(4))
    checkpoint = {}
    hook.before_save_checkpoint(first, checkpoint)
    torch.save(checkpoint, tmp / 'epoch_1.pth')
    (root / 'pool3.csv').write_text('name\npool_0\npool_1\npool_3\n')
    second, resumed = runner('pool3.csv'), PseudoLabelHook(cold_start=1)
    resumed.before_run(second)
    shared.table = resumed.dataset.table
    return lambda: resumed.after_load_checkpoint(
        second, load_checkpoint_file(str(tmp / 'epoch_1.pth')))


# ------------------------------------------------------------- experiments
def cross_validation(root: Path, folds: int, **kwargs):
    from mer_toolbox.experiments import CrossValidation
    cfg = Config(dict(train_dataloader=dict(dataset=dataset_cfg(root)),
                      randomness=dict(seed=0)))
    return CrossValidation(cfg, str(root / 'cv'), folds, **kwargs)


@case('cv-folds-above-smallest-class', ValueError,
      says=('--folds 2 is larger than the smallest class', "'neutral' has 1 clip",
            'lower --folds'))
def _(tmp: Path, shared: Any) -> Callable:
    return cross_validation(write_store(tmp), 2).prepare


@case('cv-group-column-missing', ValueError,
      says=("--group-by 'speaker'", 'labels.csv has no such column',
            "columns: ['name', 'discrete']"))
def _(tmp: Path, shared: Any) -> Callable:
    return cross_validation(write_store(tmp), 2, group_by='speaker').prepare


@case('cv-fewer-groups-than-folds', ValueError,
      says=('--group-by: 2 group(s) cannot fill 3 folds',))
def _(tmp: Path, shared: Any) -> Callable:
    from mer_toolbox.experiments import make_folds
    labels, groups = [0, 1] * 6, ['spk_a'] * 6 + ['spk_b'] * 6
    return lambda: make_folds(labels, 3, groups=groups)


@case('cv-work-dir-of-another-k', ValueError,
      says=('cv_plan.json', 'a different --folds (5 there, 3 now)',
            'nothing was overwritten'))
def _(tmp: Path, shared: Any) -> Callable:
    from mer_toolbox.experiments.folds import check_or_write_plan
    plan = dict(folds=5, split_seed=0, group_by=None, config='x',
                folds_held_out=[])
    check_or_write_plan(str(tmp), plan)
    return lambda: check_or_write_plan(str(tmp), dict(plan, folds=3))


@case('cv-subset-names-unknown-clip', ValueError,
      says=('subset.csv: 1 clip(s) are not in', 'labels.csv', "['clip_z']"))
def _(tmp: Path, shared: Any) -> Callable:
    root = write_store(tmp)
    (root / 'subset.csv').write_text('name\nclip_a\nclip_z\n')
    return read_all(root, subset_file='subset.csv')


@case('sweep-search-space-unknown-key', KeyError,
      says=("search_space key 'model.head.dropuot' names no config key",
            "model.head has no 'dropuot'", "did you mean ['dropout']"))
def _(tmp: Path, shared: Any) -> Callable:
    from mer_toolbox.experiments.search_space import check_search_space
    cfg = Config.fromfile(BASE_CONFIG)
    cfg.search_space = {'model.head.dropuot': dict(type='float', low=0, high=1)}
    return lambda: check_search_space(cfg)


@case('sweep-storage-unreachable', ConnectionError,
      says=("--storage 'postgresql://user:***@127.0.0.1:9/optuna' cannot be "
            'reached or opened',))
def _(tmp: Path, shared: Any) -> Callable:
    pytest.importorskip('optuna')
    from mer_toolbox.experiments.sweep import open_study
    return lambda: open_study('postgresql://user:secret@127.0.0.1:9/optuna', 'study')


# -------------------------------------------------------------------- tests
def message_of(err: BaseException) -> str:
    return err.args[0] if isinstance(err, KeyError) and err.args else str(err)


@pytest.mark.parametrize('case', CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, request) -> None:
    shared = SimpleNamespace(**{n: request.getfixturevalue(n)
                                for n in case.needs})
    call = case.make(tmp_path, shared)
    before = snapshot(tmp_path)
    result = None
    if case.error is None:
        result = call()
    else:
        with pytest.raises(case.error) as info:
            call()
        message = message_of(info.value)
        missing = [part for part in case.says if part not in message]
        assert not missing, f'message lacks {missing}: {message}'
        # (c) a failing call never deletes or rewrites existing files
        assert snapshot(tmp_path) == before
    if case.kept is not None:
        case.kept(tmp_path, shared, result)


def test_catalogue_is_documented_and_large_enough() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 30
    doc = Path(REPO, 'docs', 'bad_input.md').read_text(encoding='utf-8')
    undocumented = [i for i in ids if f'`{i}`' not in doc]
    assert not undocumented, f'add rows to docs/bad_input.md: {undocumented}'
