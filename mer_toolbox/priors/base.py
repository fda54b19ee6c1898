"""The base class of every prior generator (the ``PRIOR_GENERATORS`` plugin point).

A generator turns one :class:`~mer_toolbox.fileio.clip_list.Clip` into one
:class:`~.schema.PriorRecord`. The run loop (:mod:`.runner`) owns everything
around that call: which clips still need a prior, concurrency, writing each
record durably, progress and the summary. So a plugin only implements
:meth:`BasePriorGenerator.generate` (or the async
:meth:`~BasePriorGenerator.agenerate` for network teachers) and sets
``teacher`` and ``prompt_version``.

Contract:

* per-clip problems (missing input, a blocked or invalid reply) are returned
  as failed records (:meth:`BasePriorGenerator.failure`), never raised;
* an exception stops the whole run (after the calls in flight finish): use it
  for what no other clip would survive either, e.g. a rejected API key;
* the record's key must be ``(clip.name, self.teacher, self.prompt_version)``.
"""
from typing import Dict, List, Optional, Sequence

from ..constants import MER2024_CLASSES
from ..fileio.prior_record import PriorRecord
from ..fileio.clip_list import Clip


class BasePriorGenerator:
    """Base prior generator.

    Args:
        teacher: teacher id written into every record (part of its key).
        prompt_version: prompt / rule-set revision (part of the key).
        classes: the dataset's classes; records' labels and scores use them.
        max_concurrency: how many clips the run loop processes at once.
    """

    def __init__(self, teacher: str, prompt_version: str,
                 classes: Sequence[str] = MER2024_CLASSES,
                 max_concurrency: int = 1) -> None:
        if max_concurrency < 1:
            raise ValueError(f'max_concurrency must be >= 1, got '
                             f'{max_concurrency}')
        self.teacher = teacher
        self.prompt_version = prompt_version
        self.classes = tuple(classes)
        self.max_concurrency = max_concurrency

    # --- to implement --------------------------------------------------------
    def generate(self, clip: Clip) -> PriorRecord:
        """One clip's prior (synchronous generators implement this)."""
        raise NotImplementedError(f'{type(self).__name__} implements neither '
                                  'generate() nor agenerate()')

    async def agenerate(self, clip: Clip) -> PriorRecord:
        """One clip's prior; network teachers override this coroutine.

        The default calls :meth:`generate` inline: offline teachers are cheap
        and a thread per clip would cost more than it saves.
        """
        return self.generate(clip)

    # --- optional hooks ------------------------------------------------------
    def setup(self) -> None:
        """Prepare for a real run (read keys, open clients); not on dry runs."""

    async def aclose(self) -> None:
        """Release what :meth:`setup` opened."""

    def default_clips(self) -> Optional[List[Clip]]:
        """Clips to use when the config gives no clip list (importers)."""
        return None

    def describe(self, clips: Sequence[Clip]) -> str:
        """What a dry run prints about this teacher (e.g. the prompt)."""
        return (f'{type(self).__name__}: teacher {self.teacher!r}, prompt '
                f'{self.prompt_version!r}; makes no paid calls.')

    def cost(self, usage: Dict[str, int]) -> float:
        """Estimated price (USD) of one record's token ``usage``."""
        return 0.0

    def estimate_cost(self, clips: Sequence[Clip]) -> float:
        """Estimated price (USD) of generating ``clips`` (for dry runs)."""
        return 0.0

    # --- helpers -------------------------------------------------------------
    def record(self, clip: Clip, **fields) -> PriorRecord:
        """An ok record for ``clip``, validated against :attr:`classes`."""
        return PriorRecord(name=clip.name, teacher=self.teacher,
                           prompt_version=self.prompt_version,
                           **fields).validate(self.classes)

    def failure(self, clip: Clip, reason: str, detail: str = '',
                **fields) -> PriorRecord:
        """A failed record for ``clip`` (see :data:`.schema.FAILURE_REASONS`)."""
        return PriorRecord.failure(clip.name, self.teacher,
                                   self.prompt_version, reason, detail,
                                   **fields)
