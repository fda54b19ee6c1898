"""TransformersMLLMPriorGenerator with a tiny local model, end to end.

A random tiny LLaVA saved to a temp folder (as the encoders' tiny
checkpoints are) is taught one valid reply, then runs through the generation
tool into a valid store, whose embeddings stage 2's dataset and model take.
"""
import csv
import os.path as osp

import numpy as np
import pytest
import torch
from fake_openai import write_frames
from prior_testutils import make_clips, run_tool, write_teacher_config
from tiny_mllm import REPLY, build_tiny_mllm, teach_reply

from mer_test_utils import TINY_SIZES
from mer_toolbox.fileio.clip_list import read_clip_list
from mer_toolbox.fileio.prior_store import iter_records
from mer_toolbox.priors import (TransformersMLLMPriorGenerator, build_prompt,
                                run_generation)

pytestmark = pytest.mark.slow
NUM_CLIPS = 6


@pytest.fixture(scope='module')
def taught(tmp_path_factory, tiny_demo_root):
    """Frames for the first demo training clips and a tiny taught MLLM."""
    root = tmp_path_factory.mktemp('mllm')
    with open(osp.join(tiny_demo_root, 'label-train.csv'),
              encoding='utf-8') as f:
        names = [row['name'] for row in csv.DictReader(f)][:NUM_CLIPS]
    make_clips(str(root), names)
    write_frames(str(root), names, count=2)
    folder = build_tiny_mllm(str(root / 'tiny-mllm'), hidden=32,
                             corpus=[build_prompt(f'{names[0]} 说话')] * 4)
    generator = TransformersMLLMPriorGenerator(
        model=folder, frame_dir=str(root / 'frames'), audio='none',
        device='cpu', batch_size=4, max_new_tokens=160)
    generator.setup()
    clips = read_clip_list(str(root / 'clips.csv'))
    teach_reply(generator, clips[:2], folder)
    return dict(root=root, folder=folder, names=names,
                generator=generator, clips=clips)


def test_tool_writes_a_valid_store_that_stage_two_reads(taught, tiny_demo_root,
                                                        capsys):
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate

    from mer_toolbox.registry import DATASETS, MODELS
    from mer_toolbox.engine.setup_env import register_all_modules
    root = taught['root']
    store = str(root / 'out' / 'priors.jsonl')
    config = write_teacher_config(
        str(root / 'cfg.py'), str(root), store,
        dict(type='TransformersMLLMPriorGenerator', model=taught['folder'],
             frame_dir=str(root / 'frames'), audio='none', device='cpu',
             dtype='float32', max_new_tokens=160))
    # The tool's prior embedder must match stage 2's (demo: hashing, 128).
    with open(config, 'a', encoding='utf-8') as f:
        f.write("prior_embedder = dict(type='HashingTextEmbedder', dim=128)\n"
                "prior_generator.pop('max_attempts')\n"
                "for _k in ('requests_per_minute', 'timeout_s', "
                "'backoff_initial_s', 'backoff_max_s', 'max_concurrency'):\n"
                "    prior_generator.pop(_k)\n")
    assert run_tool([config, '--no-progress']) == 0
    assert f'ok {NUM_CLIPS}, failed 0' in capsys.readouterr().out
    records = list(iter_records(store))
    assert len(records) == NUM_CLIPS and all(r.ok for r in records)
    assert records[0].teacher == 'tiny-mllm'
    assert records[0].prompt_version == 'v1-chat1-none'
    assert records[0].usage['input_tokens'] > 100
    assert records[0].action_units == [6, 12]

    register_all_modules()
    cfg = Config.fromfile(osp.join(osp.dirname(osp.dirname(
        osp.dirname(osp.abspath(__file__)))), 'configs', 'prior_stage2.py'))
    dataset = DATASETS.build(dict(
        cfg.train_dataloader.dataset, data_root=tiny_demo_root,
        sizes=TINY_SIZES, prior_file=store + '.emb'))
    index = {dataset[i]['data_samples'].name: i for i in range(NUM_CLIPS + 4)}
    items = [dataset[index[n]] for n in taught['names']]
    assert all(bool(i['data_samples'].prior['has_prior']) for i in items)
    assert np.allclose(items[0]['data_samples'].prior['contributions'],
                       [0.5, 0.3, 0.2])
    # Untrained stage-1 parts: no fitted input statistics to normalise with.
    model = MODELS.build(dict(cfg.model, normalize_inputs=False))
    # the frozen head's logit-adjusted loss needs the training class prior
    model.head.loss_module.set_class_counts(
        np.bincount(dataset.labels(), minlength=6).tolist())
    model.train()
    batch = model.data_preprocessor(pseudo_collate(items), True)
    losses = model(**batch, mode='loss')
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for n, p in model.named_parameters()
             if n.startswith('prior_') and p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)


def test_clips_are_batched_and_failures_recorded(taught, tmp_path):
    generator, clips = taught['generator'], taught['clips']
    sizes = []
    generate = generator._generate
    generator._generate = lambda batch: sizes.append(len(batch)) or \
        generate(batch)
    try:
        summary = run_generation(generator, clips, str(tmp_path / 'p.jsonl'),
                                 progress=False, handle_signals=False)
    finally:
        del generator._generate
    assert summary.ok == NUM_CLIPS
    assert sum(sizes) == NUM_CLIPS and 1 < max(sizes) <= 4  # batched
    # A reply cut at max_new_tokens, and a clip without frames.
    generator.max_new_tokens = 10
    (tmp_path / 'frames').mkdir()
    generator.media.frame_dir = str(tmp_path / 'frames')
    write_frames(str(tmp_path), [clips[0].name], count=1)
    try:
        summary = run_generation(generator, clips[:2],
                                 str(tmp_path / 'q.jsonl'), progress=False,
                                 handle_signals=False)
    finally:
        generator.max_new_tokens = 160
        generator.media.frame_dir = str(taught['root'] / 'frames')
    assert summary.failed == {'max_tokens': 1, 'missing_input': 1}


def test_options_checked():
    with pytest.raises(ValueError, match='input_audio'):
        TransformersMLLMPriorGenerator('m', audio='input_audio')
    with pytest.raises(ValueError, match='dtype'):
        TransformersMLLMPriorGenerator('m', dtype='float8')
    assert REPLY.startswith('{')
