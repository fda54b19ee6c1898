"""An offline, rule-based teacher: priors without a network or a key.

It reads the same three dimensions the Gemini teacher reports, from inputs a
user can compute locally (formats in :mod:`.offline_inputs`):

* **video** - AU detections scored with the shared AU -> emotion table
  (:func:`.facs.emotion_support`); evidence strength = the largest support,
  ``neutral`` included (a clear prototype, or a clearly relaxed face, is
  strong evidence);
* **audio** - prosody statistics as z-scores against the input file's own
  clips (so no speaker / recording norms are needed), combined per class by
  :data:`PROSODY_RULES` through a sigmoid; strength = ``tanh`` of the mean
  absolute z-score (an unremarkable voice says little);
* **text** - emotion keywords in the subtitle (:data:`DEFAULT_LEXICON`, or
  the config's); strength grows with the number of hits.

Contribution weights are the three strengths normalised to sum 1 (uniform
over the modalities that have data when every strength is 0); scores are the
contribution-weighted supports; the label is their argmax. A clip with no
input for any modality is recorded as failed (``missing_input``).

These rules are deliberately simple and transparent: they make the pipeline
run end to end and give stage 2 a weak but honest prior, not the paper's.
"""
import math
from typing import Dict, List, Mapping, Optional, Sequence

from ..constants import MER2024_CLASSES
from ..fileio.facs import AU_EMOTION_TABLE, AU_NAMES, emotion_support
from ..fileio.prior_record import PriorRecord
from ..registry import PRIOR_GENERATORS
from .base import BasePriorGenerator
from ..fileio.clip_list import Clip
from .offline_inputs import feature_stats, read_au_detections, read_prosody

#: class -> prosody z-feature -> weight (positive: higher value supports it).
PROSODY_RULES: Dict[str, Dict[str, float]] = {
    'angry': {'energy_db': 1.0, 'pitch_std_hz': 0.5, 'speech_rate': 0.5},
    'happy': {'pitch_std_hz': 1.0, 'pitch_mean_hz': 0.5, 'energy_db': 0.5},
    'surprise': {'pitch_mean_hz': 1.0, 'pitch_std_hz': 1.0},
    'sad': {'energy_db': -1.0, 'speech_rate': -1.0, 'pitch_std_hz': -0.5},
    'worried': {'pitch_mean_hz': 0.5, 'speech_rate': 0.5, 'energy_db': -0.5},
    'neutral': {},  # support = exp(-mean |z|): an unremarkable voice
}

#: class -> keywords (Chinese and English; matched as lower-case substrings).
DEFAULT_LEXICON: Dict[str, List[str]] = {
    'happy': ['开心', '高兴', '哈哈', '太好了', '喜欢', 'happy', 'glad',
              'great', 'love'],
    'angry': ['生气', '气死', '滚', '混蛋', '烦死', 'angry', 'damn',
              'shut up', 'hate'],
    'sad': ['难过', '伤心', '哭', '对不起', '可惜', 'sad', 'sorry', 'miss',
            'cry'],
    'worried': ['担心', '怎么办', '害怕', '紧张', '万一', 'worried', 'afraid',
                'nervous', 'what if'],
    'surprise': ['天哪', '真的吗', '什么', '竟然', '没想到', 'wow', 'really',
                 'what?', 'no way'],
    'neutral': [],
}


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@PRIOR_GENERATORS.register_module()
class RuleBasedPriorGenerator(BasePriorGenerator):
    """Offline teacher from AU detections, prosody statistics and subtitles.

    Args:
        au_file: AU detections (CSV / JSON / OpenFace folder); optional.
        prosody_file: prosody statistics (CSV / JSON); optional.
        classes: the dataset's classes (each needs rows in the AU table and
            :data:`PROSODY_RULES`).
        au_threshold: activation at which an AU is listed as present.
        lexicon: class -> keywords; default :data:`DEFAULT_LEXICON`.
        teacher, prompt_version: the records' key.
    """

    def __init__(self, au_file: Optional[str] = None,
                 prosody_file: Optional[str] = None,
                 classes: Sequence[str] = MER2024_CLASSES,
                 au_threshold: float = 0.3,
                 lexicon: Optional[Mapping[str, Sequence[str]]] = None,
                 teacher: str = 'rule-based',
                 prompt_version: str = 'rules-v1') -> None:
        super().__init__(teacher, prompt_version, classes)
        missing = [c for c in classes
                   if c not in AU_EMOTION_TABLE or c not in PROSODY_RULES]
        if missing:
            raise ValueError(f'no AU / prosody rules for classes {missing}')
        if au_file is None and prosody_file is None:
            raise ValueError('RuleBasedPriorGenerator needs au_file and/or '
                             'prosody_file')
        self.au_threshold = au_threshold
        self.lexicon = {c: [w.lower() for w in words] for c, words in
                        (lexicon or DEFAULT_LEXICON).items()}
        self.aus = read_au_detections(au_file) if au_file else {}
        self.prosody = read_prosody(prosody_file) if prosody_file else {}
        self.stats = feature_stats(self.prosody.values())

    def default_clips(self) -> Optional[List[Clip]]:
        return [Clip(n) for n in sorted(set(self.aus) | set(self.prosody))]

    # --- per modality: (support per class, strength, text) -------------------
    def _visual(self, acts: Dict[int, float]):
        support = emotion_support(acts, self.classes)
        strength = max(support.values())  # a clear face, neutral included
        active = [au for au, a in acts.items() if a >= self.au_threshold]
        best = max(self.classes, key=lambda c: support[c])
        listed = ', '.join(f'AU{au} {AU_NAMES.get(au, "?")} ({acts[au]:.2f})'
                           for au in active)
        text = (f'Active AUs: {listed or "none above threshold"}. '
                f'Closest prototype: {best} (support {support[best]:.2f}).')
        return support, strength, active, text

    def _audio(self, values: Dict[str, float]):
        z = {k: max(-3.0, min(3.0, (v - self.stats[k][0]) / self.stats[k][1]))
             for k, v in values.items()}
        spread = sum(abs(v) for v in z.values()) / len(z)
        support = {}
        for cls in self.classes:
            rule = PROSODY_RULES[cls]
            if not rule:
                support[cls] = math.exp(-spread)
                continue
            used = {k: w for k, w in rule.items() if k in z}
            support[cls] = (_sigmoid(2 * sum(w * z[k] for k, w in used.items())
                                     / sum(abs(w) for w in used.values()))
                            if used else 0.5)
        best = max(self.classes, key=lambda c: support[c])
        described = ', '.join(f'{k} {values[k]:g} (z {z[k]:+.1f})' for k in z)
        text = (f'Prosody: {described}. Closest pattern: {best} '
                f'(support {support[best]:.2f}).')
        return support, math.tanh(spread), text

    def _text(self, subtitle: str):
        lowered = subtitle.lower()
        hits = {c: [w for w in self.lexicon.get(c, []) if w in lowered]
                for c in self.classes}
        total = sum(len(h) for h in hits.values())
        support = {c: len(hits[c]) / total if total else 0.0
                   for c in self.classes}
        found = '; '.join(f'{c}: {", ".join(h)}' for c, h in hits.items() if h)
        text = (f'Emotion keywords: {found}.' if found else
                'No emotion keywords in the subtitle.')
        return support, min(1.0, total / 2.0), text

    def generate(self, clip: Clip) -> PriorRecord:
        supports, strengths, texts = {}, {}, {}
        active: List[int] = []
        if clip.name in self.aus:
            supports['video'], strengths['video'], active, texts['video'] = \
                self._visual(self.aus[clip.name])
        if self.prosody.get(clip.name):
            supports['audio'], strengths['audio'], texts['audio'] = \
                self._audio(self.prosody[clip.name])
        if clip.subtitle and clip.subtitle.strip():
            supports['text'], strengths['text'], texts['text'] = \
                self._text(clip.subtitle)
        if not supports:
            return self.failure(clip, 'missing_input', 'no AU detections, '
                                'prosody statistics or subtitle', attempts=0)
        total = sum(strengths.values())
        weights = {m: (strengths.get(m, 0.0) / total if total else
                       (1.0 / len(supports) if m in supports else 0.0))
                   for m in ('video', 'audio', 'text')}
        scores = {c: min(1.0, sum(weights[m] * supports[m][c]
                                  for m in supports)) for c in self.classes}
        label = max(self.classes, key=lambda c: scores[c])
        summary = ', '.join(f'{m} {weights[m]:.0%}' for m in weights)
        return self.record(
            clip, label=label, scores=scores, action_units=sorted(active),
            visual_reasoning=texts.get('video', 'No AU detections.'),
            prosody_reasoning=texts.get('audio', 'No prosody statistics.'),
            subtitle_semantics=texts.get('text', 'No subtitle.'),
            reasoning=f'Evidence weights {summary}: {label}.',
            contributions=weights, attempts=0)
