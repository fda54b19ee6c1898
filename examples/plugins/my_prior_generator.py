"""Example plugin: a custom prior generator registered from outside the package.

``SubtitleKeywordPriorGenerator`` is a toy teacher that reads only the
subtitle. It shows the whole contract of a prior generator:

* subclass :class:`mer_toolbox.priors.BasePriorGenerator` and register it in
  ``PRIOR_GENERATORS``;
* set ``teacher`` and ``prompt_version`` (the store key: bump the version
  whenever the rules change);
* implement ``generate(clip)`` (or the coroutine ``agenerate`` for a network
  teacher) and return ``self.record(...)`` or ``self.failure(...)``; never
  raise for a bad clip.

Use it with ``tools/generate_priors.py`` unchanged (see my_prior_config.py):

    python tools/generate_priors.py examples/plugins/my_prior_config.py
"""
from typing import Dict, Optional, Sequence

from mer_toolbox.constants import MER2024_CLASSES
from mer_toolbox.fileio.clip_list import Clip
from mer_toolbox.fileio.prior_record import PriorRecord
from mer_toolbox.priors import BasePriorGenerator
from mer_toolbox.registry import PRIOR_GENERATORS


@PRIOR_GENERATORS.register_module()
class SubtitleKeywordPriorGenerator(BasePriorGenerator):
    """Label a clip by counting class keywords in its subtitle.

    Args:
        keywords: class -> words that signal it.
        classes: the dataset's classes.
        fallback: class given when no keyword matches.
    """

    def __init__(self, keywords: Dict[str, Sequence[str]],
                 classes: Sequence[str] = MER2024_CLASSES,
                 fallback: str = 'neutral') -> None:
        super().__init__(teacher='subtitle-keywords', prompt_version='kw-v1',
                         classes=classes)
        self.keywords = keywords
        self.fallback = fallback

    def generate(self, clip: Clip) -> PriorRecord:
        subtitle: Optional[str] = clip.subtitle
        if not subtitle:
            return self.failure(clip, 'missing_input', 'no subtitle')
        hits = {c: sum(w in subtitle.lower() for w in self.keywords.get(c, []))
                for c in self.classes}
        total = sum(hits.values())
        label = max(hits, key=hits.get) if total else self.fallback
        scores = {c: (hits[c] / total if total else float(c == label))
                  for c in self.classes}
        return self.record(
            clip, label=label, scores=scores,
            subtitle_semantics=f'{total} keyword hits: {hits}',
            reasoning=f'Subtitle keywords point to {label}.',
            contributions={'video': 0.0, 'audio': 0.0, 'text': 1.0})
