"""Decode clips in DataLoader worker processes while the encoders run.

Decoding, face cropping and audio resampling are CPU work; the encoders wait
for them when one process does both. :func:`iter_decoded` hands that work to
PyTorch's ``DataLoader`` (``num_workers`` processes, ``prefetch_factor``
clips each in flight, so memory stays bounded) and yields the decoded clips
in list order, so the files, logs and summary do not depend on the number of
workers. ``num_workers=0`` decodes in the calling process, one clip at a
time, through the same code.

A bad clip is a :class:`~mer_toolbox.fileio.clip_errors.ClipError` inside its
:class:`~mer_toolbox.media.pipeline.DecodedClip`, exactly as without
workers; a worker that dies (e.g. a crash inside FFmpeg) stops the run with
the DataLoader's error, and ``--resume`` continues after it.
"""
import multiprocessing
import pickle
import sys
from dataclasses import dataclass
from typing import Iterator, Optional, Sequence, Tuple

from torch.utils.data import DataLoader, Dataset

from ..fileio.clip_list import Clip
from .pipeline import ClipDecoder, DecodedClip


@dataclass(frozen=True)
class DecodeJob:
    """One clip to decode.

    Attributes:
        index: the clip's position in the full clip list (orders the logs).
        item: the clip.
        only: feature sets still to extract (``None`` = all).
        modalities: inputs those sets need.
    """
    index: int
    item: Clip
    only: Optional[Tuple[str, ...]]
    modalities: Tuple[str, ...]


class ClipDecodeDataset(Dataset):
    """``dataset[i]`` decodes ``jobs[i]``: ``(job, DecodedClip)``."""

    def __init__(self, decoder: ClipDecoder, jobs: Sequence[DecodeJob]) -> None:
        self.decoder = decoder
        self.jobs = list(jobs)

    def __len__(self) -> int:
        return len(self.jobs)

    def __getitem__(self, i: int) -> Tuple[DecodeJob, DecodedClip]:
        job = self.jobs[i]
        return job, self.decoder(job.item.video, job.item.subtitle,
                                 job.modalities)


def _as_is(sample):
    """Collate function: a decoded clip travels unchanged (no tensors)."""
    return sample


def _one_thread(worker_id: int) -> None:
    # torch already runs one thread per worker; OpenCV would start one per
    # core in every worker and they would fight for the same cores
    cv2 = sys.modules.get('cv2')
    if cv2 is not None:
        cv2.setNumThreads(1)


def check_decode_options(decoder: ClipDecoder, num_workers: int,
                         prefetch_factor: int,
                         start_method: Optional[str]) -> None:
    """Reject settings the DataLoader would fail on later, or silently.

    Raises:
        ValueError: negative ``num_workers``, ``prefetch_factor < 1``, an
            unknown start method, a face detector on CUDA with forked
            workers (CUDA cannot run in a forked child: every clip would
            fail), or, for ``'spawn'`` / ``'forkserver'``, a decoder that
            cannot be pickled to the workers.
    """
    if not isinstance(num_workers, int) or num_workers < 0:
        raise ValueError(f'decode.num_workers must be an int >= 0, got '
                         f'{num_workers!r}')
    if not isinstance(prefetch_factor, int) or prefetch_factor < 1:
        raise ValueError(f'decode.prefetch_factor must be an int >= 1, got '
                         f'{prefetch_factor!r}')
    methods = multiprocessing.get_all_start_methods()
    if start_method is not None and start_method not in methods:
        raise ValueError(f'decode.start_method must be one of {methods}, got '
                         f'{start_method!r}')
    method = start_method or multiprocessing.get_start_method()
    detector = getattr(decoder.cropper, 'detector', None)
    device = getattr(detector, 'device', None)
    if (num_workers > 0 and method == 'fork' and device is not None
            and getattr(device, 'type', device) == 'cuda'):
        raise ValueError("the face detector runs on CUDA, which forked "
                         "decode workers cannot use: set decode.start_method"
                         "='spawn', or run the detector on CPU")
    if num_workers > 0 and method != 'fork':
        try:
            pickle.dumps(decoder)
        except Exception as err:  # noqa: BLE001 any pickling failure
            raise ValueError(
                f'decode.start_method={method!r} pickles the decoder into each '
                f'worker, and its face detector {type(detector).__name__} '
                f'cannot be pickled ({type(err).__name__}: {err}); use the '
                "'fork' start method or the mtcnn detector") from err


def iter_decoded(decoder: ClipDecoder, jobs: Sequence[DecodeJob],
                 num_workers: int = 0, prefetch_factor: int = 2,
                 start_method: Optional[str] = None
                 ) -> Iterator[Tuple[DecodeJob, DecodedClip]]:
    """Decode ``jobs`` in order, in ``num_workers`` processes.

    Args:
        decoder: the extractor's :class:`ClipDecoder` (copied to workers).
        jobs: clips to decode.
        num_workers: decode processes; 0 decodes here.
        prefetch_factor: clips decoded ahead per worker; at most
            ``num_workers * prefetch_factor`` decoded clips wait in memory.
        start_method: ``'fork'`` / ``'spawn'`` / ``'forkserver'``; ``None``
            is the platform's default.

    Returns:
        An iterator of ``(job, DecodedClip)`` in the order of ``jobs``.
    """
    check_decode_options(decoder, num_workers, prefetch_factor, start_method)
    if not jobs:
        return iter(())
    loader = DataLoader(
        ClipDecodeDataset(decoder, jobs), batch_size=None, shuffle=False,
        num_workers=num_workers, collate_fn=_as_is,
        prefetch_factor=prefetch_factor if num_workers else None,
        worker_init_fn=_one_thread if num_workers else None,
        multiprocessing_context=start_method if num_workers else None)
    return iter(loader)
