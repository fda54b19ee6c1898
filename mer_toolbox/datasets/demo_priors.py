"""Simulated teacher priors for the embedded demo data (stage 2 on the demo).

:func:`ensure_demo_priors` writes, next to the demo data, a prior store made
by a seeded *simulated* MLLM teacher and its embedding cache, the same files
``tools/generate_priors.py`` makes for real clips (records validated with
:mod:`mer_toolbox.fileio.prior_record`, written with the store API, embedded
with :func:`~mer_toolbox.fileio.prior_embeddings.build_prior_embeddings` and
the ``HashingTextEmbedder``, built through ``PRIOR_EMBEDDERS``)::

    <data_root>/priors/demo-teacher.jsonl       one record per clip
    <data_root>/priors/demo-teacher.jsonl.emb/  cached embeddings (stage 2)
    <data_root>/priors/demo_priors.json         settings + measured accuracy

How the teacher is simulated, per train / val / test clip (the pool gets no
priors; ``hidden/clip_factors.csv`` holds each clip's true label and
per-modality gains):

* **label** - right with probability ``accuracy`` (0.72, the paper's Gemini
  zero-shot figure) on average, more often on clips with a strong signal and
  less on ambiguous ones (a real teacher fails on the hard clips too, so its
  errors overlap the student's); a wrong label is a plausible confusion
  (:data:`CONFUSIONS`: worried <-> sad / neutral, surprise <-> happy / angry).
* **action units** - the FACS prototype of the teacher's label
  (:data:`~mer_toolbox.fileio.facs.AU_EMOTION_TABLE`; core AUs usually,
  accompanying ones sometimes, fewer when the face is uninformative) plus
  occasional detector noise.
* **reasoning texts** - per modality, templated with cue words of the
  teacher's label when that modality carries signal for the clip (gain >
  :data:`INFORMATIVE_GAIN`), otherwise an "unclear" sentence; so a text
  embedder sees the teacher's judgement where the teacher could see it.
* **contributions** - ``softmax(gain / 0.5 + noise)`` over video / audio /
  text: the modality that really carries the clip's signal is favoured.
* **scores** - peaked at the teacher's label.
* **failures** - a ``failure_rate`` share of clips gets a failed record
  (teacher error), so stage 2's no-prior fallback runs on real data.

Deterministic for a seed (record timestamps are fixed); written atomically
(staged in a temporary folder, then renamed) so concurrent ranks may race.
"""
import csv
import json
import os
import os.path as osp
from typing import Dict, List

import numpy as np

from ..constants import MER2024_CLASSES
from ..fileio.atomic import staged_directory
from ..fileio.facs import AU_EMOTION_TABLE, AU_NAMES
from ..fileio.prior_embeddings import build_prior_embeddings
from ..fileio.prior_record import PriorRecord
from ..fileio.prior_store import PriorStoreWriter
from ..registry import PRIOR_EMBEDDERS

DEMO_PRIORS_VERSION = 1
DEMO_TEACHER = 'simulated-gemini'
DEMO_PROMPT_VERSION = 'demo-v1'
PRIOR_SPLITS = ('train', 'val', 'test')
#: Prior cache folder, relative to the demo ``data_root``.
DEMO_PRIOR_FILE = 'priors/demo-teacher.jsonl.emb'
#: A modality whose gain is below this carries (almost) no signal.
INFORMATIVE_GAIN = 0.2
MODALITIES = ('video', 'audio', 'text')

#: True class -> (wrong teacher label, probability) when the teacher errs.
CONFUSIONS: Dict[str, Dict[str, float]] = {
    'neutral': {'worried': 0.35, 'sad': 0.3, 'happy': 0.2, 'angry': 0.15},
    'angry': {'surprise': 0.35, 'neutral': 0.3, 'worried': 0.2, 'sad': 0.15},
    'happy': {'surprise': 0.45, 'neutral': 0.4, 'angry': 0.15},
    'sad': {'worried': 0.5, 'neutral': 0.4, 'angry': 0.1},
    'worried': {'sad': 0.45, 'neutral': 0.4, 'surprise': 0.15},
    'surprise': {'happy': 0.5, 'angry': 0.3, 'worried': 0.2},
}
_CUES = {
    'video': {
        'neutral': ['relaxed face', 'calm gaze', 'no visible tension'],
        'angry': ['glaring eyes', 'tight lips', 'furrowed brows'],
        'happy': ['broad smile', 'crinkled eyes', 'raised cheeks'],
        'sad': ['drooping mouth corners', 'downcast eyes', 'tearful look'],
        'worried': ['raised inner brows', 'tense forehead', 'darting eyes'],
        'surprise': ['wide open eyes', 'arched eyebrows', 'dropped jaw'],
    },
    'audio': {
        'neutral': ['steady pitch', 'even volume', 'flat intonation'],
        'angry': ['loud harsh voice', 'sharp emphasis', 'clipped fast speech'],
        'happy': ['bright lively tone', 'laughter', 'melodic rising pitch'],
        'sad': ['low soft voice', 'slow pace', 'sighing'],
        'worried': ['hesitant speech', 'shaky voice', 'shallow breaths'],
        'surprise': ['sudden pitch jump', 'exclamation', 'gasp'],
    },
    'text': {
        'neutral': ['states facts', 'ordinary remark', 'plain question'],
        'angry': ['insult', 'complaint', 'shut up'],
        'happy': ['thanks', 'great news', 'joke'],
        'sad': ['apology', 'loss', 'miss you'],
        'worried': ['what if', 'afraid', 'nervous question'],
        'surprise': ['really', 'no way', 'unexpected news'],
    },
}
_UNCLEAR = {
    'video': 'The face is partly hidden and the expression is unclear',
    'audio': 'The voice is barely audible, the prosody gives no clear cue',
    'text': 'The subtitle is short and carries no emotional content',
}
_FAILURES = ('non_json', 'rate_limited', 'refused', 'timeout')
_TIMESTAMP = '2025-01-01T00:00:00Z'  # fixed: same seed, same bytes


def _read_factors(root: str) -> List[dict]:
    path = osp.join(root, 'hidden', 'clip_factors.csv')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} is missing: {root} is not demo data '
                                '(see mer_toolbox.datasets.ensure_demo_data)')
    with open(path, encoding='utf-8') as f:
        return [r for r in csv.DictReader(f) if r['split'] in PRIOR_SPLITS]


def _teacher_label(rng: np.random.Generator, truth: str,
                   p_correct: float) -> str:
    if rng.random() < p_correct:
        return truth
    wrong = CONFUSIONS[truth]
    return str(rng.choice(list(wrong), p=list(wrong.values())))


def _action_units(rng: np.random.Generator, label: str,
                  face_informative: bool) -> List[int]:
    keep_core = 0.85 if face_informative else 0.4
    aus = [au for au, w in AU_EMOTION_TABLE[label].items()
           if rng.random() < (keep_core if w >= 1 else 0.35)]
    if rng.random() < 0.2:  # a detector's spurious activation
        aus.append(int(rng.choice([1, 2, 4, 6, 12, 15, 25, 43, 45])))
    return sorted(set(aus))


def _modality_text(rng: np.random.Generator, modality: str, label: str,
                   informative: bool) -> str:
    if not informative:
        text = _UNCLEAR[modality]
        if rng.random() < 0.3:  # a stray cue the teacher over-reads
            other = str(rng.choice(MER2024_CLASSES))
            text += f'; perhaps {rng.choice(_CUES[modality][other])}'
        return text + '.'
    cues = rng.choice(_CUES[modality][label], size=2, replace=False)
    return f'{cues[0].capitalize()} and {cues[1]}, which suggests {label}.'


def _record(rng: np.random.Generator, row: dict, p_correct: float,
            failure_rate: float) -> PriorRecord:
    name = row['name']
    if rng.random() < failure_rate:
        return PriorRecord.failure(
            name, DEMO_TEACHER, DEMO_PROMPT_VERSION,
            reason=str(rng.choice(_FAILURES)), detail='simulated failure',
            attempts=3, created_at=_TIMESTAMP)
    gains = np.array([float(row[f'gain_{m}']) for m in MODALITIES])  # (3,)
    informative = gains > INFORMATIVE_GAIN
    label = _teacher_label(rng, row['label'], p_correct)
    logits = gains / 0.5 + rng.normal(scale=0.25, size=3)
    weights = np.exp(logits - logits.max())
    weights /= weights.sum()
    scores = {c: round(float(rng.uniform(0.0, 0.25)), 4)
              for c in MER2024_CLASSES}
    if label != row['label']:  # the truth stays a runner-up
        scores[row['label']] = round(float(rng.uniform(0.2, 0.5)), 4)
    scores[label] = round(float(rng.uniform(0.55, 0.95)), 4)
    aus = _action_units(rng, label, bool(informative[0]))
    au_text = ', '.join(f'AU{a} {AU_NAMES.get(a, "")}'.strip() for a in aus)
    texts = {m: _modality_text(rng, m, label, bool(informative[i]))
             for i, m in enumerate(MODALITIES)}
    strongest = MODALITIES[int(np.argmax(weights))]
    return PriorRecord(
        name=name, teacher=DEMO_TEACHER, prompt_version=DEMO_PROMPT_VERSION,
        label=label, scores=scores, action_units=aus,
        visual_reasoning=f'Active AUs: {au_text or "none"}. {texts["video"]}',
        prosody_reasoning=texts['audio'],
        subtitle_semantics=texts['text'],
        reasoning=f'Overall {label}; the {strongest} evidence is strongest.',
        contributions={m: float(w) for m, w in zip(MODALITIES, weights)},
        usage=dict(input_tokens=0, output_tokens=0), created_at=_TIMESTAMP,
    ).validate(MER2024_CLASSES)


def simulate_teacher(root: str, seed: int = 0, accuracy: float = 0.72,
                     failure_rate: float = 0.05) -> List[PriorRecord]:
    """The simulated teacher's records for the demo clips, in factor order.

    Args:
        root: demo data root (must hold ``hidden/clip_factors.csv``).
        seed: teacher seed.
        accuracy: mean probability that the teacher's label is right.
        failure_rate: share of clips whose record is a failure.
    """
    rows = _read_factors(root)
    rng = np.random.default_rng([seed, 2508])  # never the features' stream
    signal = np.array([sum(float(r[f'gain_{m}']) for m in MODALITIES)
                       for r in rows])  # (N,)
    z = (signal - signal.mean()) / max(float(signal.std()), 1e-6)
    # Harder clips (weak total signal) fool the teacher more often.
    p_correct = np.clip(accuracy + 0.12 * z, 0.3, 0.98)  # (N,)
    return [_record(rng, r, float(p), failure_rate)
            for r, p in zip(rows, p_correct)]


def _teacher_report(rows: List[dict], records: List[PriorRecord]) -> dict:
    report = {}
    for split in PRIOR_SPLITS:
        pairs = [(r['label'], rec) for r, rec in zip(rows, records)
                 if r['split'] == split]
        ok = [(t, rec.label) for t, rec in pairs if rec.ok]
        report[split] = dict(
            clips=len(pairs), failed=len(pairs) - len(ok),
            accuracy=round(float(np.mean([t == p for t, p in ok])), 4)
            if ok else None)
    return report


def ensure_demo_priors(root: str, seed: int = 0, accuracy: float = 0.72,
                       failure_rate: float = 0.05,
                       embed_dim: int = 128) -> str:
    """Create the demo priors under ``root/priors`` unless already there.

    Args:
        root: an existing demo data root (:func:`ensure_demo_data`).
        seed: teacher seed.
        accuracy: the simulated teacher's mean label accuracy.
        failure_rate: share of failed records.
        embed_dim: size of the :class:`HashingTextEmbedder` text embeddings
            (video prior = 58 AU multi-hot + ``embed_dim``).

    Returns:
        the embedding cache folder (``root/`` + :data:`DEMO_PRIOR_FILE`).

    Raises:
        ValueError: ``root/priors`` was made with other settings.
    """
    settings = dict(version=DEMO_PRIORS_VERSION, seed=seed, accuracy=accuracy,
                    failure_rate=failure_rate, embed_dim=embed_dim)
    folder = osp.join(root, 'priors')
    meta_path = osp.join(folder, 'demo_priors.json')
    if osp.isfile(meta_path):
        with open(meta_path, encoding='utf-8') as f:
            stored = json.load(f)
        have = {k: stored.get(k) for k in settings}
        if have != settings:
            raise ValueError(f'{folder} holds demo priors made with {have}, '
                             f'but {settings} was requested; delete it or '
                             'use another data_root')
        return osp.join(root, DEMO_PRIOR_FILE)
    rows = _read_factors(root)
    records = simulate_teacher(root, seed, accuracy, failure_rate)
    with staged_directory(folder, 'demo_priors.json') as staging:
        store = osp.join(staging, 'demo-teacher.jsonl')
        with PriorStoreWriter(store, fsync=False) as writer:
            for record in records:
                writer.append(record)
        os.remove(store + '.lock')
        # built through the registry: the embedders live with the teachers
        # (mer_toolbox.priors), which a dataset module must not import
        embedder = PRIOR_EMBEDDERS.build(
            dict(type='HashingTextEmbedder', dim=embed_dim))
        build_prior_embeddings(store, embedder, classes=MER2024_CLASSES)
        meta = dict(settings, teacher=DEMO_TEACHER,
                    prompt_version=DEMO_PROMPT_VERSION,
                    prior_file=DEMO_PRIOR_FILE,
                    teacher_report=_teacher_report(rows, records))
        with open(osp.join(staging, 'demo_priors.json'), 'w',
                  encoding='utf-8') as f:
            json.dump(meta, f, indent=2)
    return osp.join(root, DEMO_PRIOR_FILE)


def demo_prior_report(root: str) -> dict:
    """The simulated teacher's measured accuracy / failures per split."""
    with open(osp.join(root, 'priors', 'demo_priors.json'),
              encoding='utf-8') as f:
        return json.load(f)['teacher_report']
