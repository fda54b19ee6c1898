"""A local vision-language teacher through transformers (no network).

Any checkpoint that ``AutoProcessor`` + ``AutoModelForImageTextToText`` load
and whose processor has a chat template (Qwen2.5-VL, LLaVA, Idefics3,
SmolVLM, Gemma 3, ...). Per clip, one chat message: the versioned prompt with
the subtitle, ``num_frames`` face frames as images (:mod:`.clip_media`), and
the audio as a text description of its prosody (``audio='prosody'``) or not
at all (``'none'``). Audio-language models (Qwen2-Audio, Qwen2.5-Omni) are
served best by vLLM and reached through
:class:`~.openai_compat.OpenAICompatiblePriorGenerator` with
``audio='input_audio'``.

Batching: clips in flight (the run loop keeps ``batch_size`` of them) are
gathered into one left-padded ``generate`` call, run in a worker thread so
the loop keeps preparing the next clips' frames. Decoding is greedy by
default (reproducible priors). The reply is not constrained while it is
generated: it is parsed (fenced JSON accepted) and validated after, exactly
like the API teachers' (:class:`~.api_teacher.ChatPriorGenerator`); invalid
replies are failed records. ``usage`` counts prompt and generated tokens;
``cost`` is 0.
"""
import asyncio
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..constants import MER2024_CLASSES
from ..fileio.prior_record import PriorRecord
from ..registry import PRIOR_GENERATORS
from .api_teacher import ChatPriorGenerator
from .clip_media import ChatMedia, MissingMedia, frames_note
from ..fileio.clip_list import Clip
from .prompt import build_prompt

_DTYPES = ('auto', 'float32', 'bfloat16', 'float16')


@PRIOR_GENERATORS.register_module()
class TransformersMLLMPriorGenerator(ChatPriorGenerator):
    """Reasoning priors from a local vision-language model.

    Args:
        model: checkpoint folder or hub id (``AutoModelForImageTextToText``).
        classes: the dataset's classes.
        teacher: teacher id in the records; default the folder / hub name.
        device: ``'auto'`` (CUDA when available), ``'cpu'``, ``'cuda:1'``...
        dtype: ``'auto'`` (bfloat16 on CUDA, float32 on CPU), ``'float32'``,
            ``'bfloat16'`` or ``'float16'``.
        batch_size: clips per ``generate`` call.
        batch_wait_s: how long a batch waits to fill before it runs.
        max_new_tokens: reply limit (a cut reply is ``max_tokens``).
        do_sample: sample instead of greedy decoding.
        temperature: sampling temperature (with ``do_sample``).
        num_frames: face frames per clip.
        frame_dir: folder of ``<name>/*.jpg|png`` face crops; None decodes
            the clip's video.
        frame_max_side: decoded frames are downscaled to this longer side.
        audio: ``'prosody'`` or ``'none'``.
        prosody_file: per-clip prosody statistics (the offline teacher's
            format); clips it lacks are measured from their audio.
        retry_refusals: ask once more after a refusal (:mod:`.api_teacher`).
        trust_remote_code: passed to ``from_pretrained`` (only for
            checkpoints you trust).
        model_kwargs: more ``from_pretrained`` arguments for the model (e.g.
            ``attn_implementation``).
    """

    def __init__(self, model: str,
                 classes: Sequence[str] = MER2024_CLASSES,
                 teacher: Optional[str] = None,
                 device: str = 'auto',
                 dtype: str = 'auto',
                 batch_size: int = 4,
                 batch_wait_s: float = 0.05,
                 max_new_tokens: int = 1024,
                 do_sample: bool = False,
                 temperature: float = 0.2,
                 num_frames: int = 8,
                 frame_dir: Optional[str] = None,
                 frame_max_side: Optional[int] = 448,
                 audio: str = 'prosody',
                 prosody_file: Optional[str] = None,
                 retry_refusals: bool = False,
                 trust_remote_code: bool = False,
                 model_kwargs: Optional[Dict[str, Any]] = None) -> None:
        if audio == 'input_audio':  # no AutoModel class takes images + audio
            raise ValueError('TransformersMLLMPriorGenerator sends audio as '
                             "'prosody' text or 'none'; serve an audio model"
                             ' with vLLM and use '
                             'OpenAICompatiblePriorGenerator for input_audio')
        if dtype not in _DTYPES:
            raise ValueError(f'dtype must be one of {_DTYPES}, got {dtype!r}')
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        name = model.rstrip('/').replace('\\', '/').split('/')[-1]
        media = ChatMedia(num_frames, frame_dir, frame_max_side, audio,
                          prosody_file)
        super().__init__(teacher or name, media.prompt_version, classes,
                         max_concurrency=batch_size,
                         retry_refusals=retry_refusals)
        self.model_path = model
        self.device = device
        self.dtype = dtype
        self.batch_size = batch_size
        self.batch_wait_s = batch_wait_s
        self.max_new_tokens = max_new_tokens
        self.do_sample = do_sample
        self.temperature = temperature
        self.media = media
        self.trust_remote_code = trust_remote_code
        self.model_kwargs = dict(model_kwargs or {})
        self._model = None
        self._processor = None
        self._queue: Optional[asyncio.Queue] = None
        self._worker: Optional[asyncio.Task] = None

    # --- lifecycle -----------------------------------------------------------
    def setup(self) -> None:
        """Load the processor and the model (once)."""
        if self._model is not None:
            return
        import torch

        from ..utils.torchvision_compat import ensure_torchvision_importable
        ensure_torchvision_importable()  # image processors import it
        from transformers import AutoModelForImageTextToText, AutoProcessor
        device = self.device
        if device == 'auto':
            device = 'cuda' if torch.cuda.is_available() else 'cpu'
        dtype = self.dtype
        if dtype == 'auto':
            dtype = 'bfloat16' if device.startswith('cuda') else 'float32'
        self._processor = AutoProcessor.from_pretrained(
            self.model_path, trust_remote_code=self.trust_remote_code)
        # Batched generation appends to the right: pad prompts on the left.
        self._processor.tokenizer.padding_side = 'left'
        self._model = AutoModelForImageTextToText.from_pretrained(
            self.model_path, dtype=getattr(torch, dtype),
            trust_remote_code=self.trust_remote_code,
            **self.model_kwargs).to(device).eval()

    async def aclose(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self._worker, self._queue = None, None

    def describe(self, clips: Sequence[Clip]) -> str:
        first = clips[0] if clips else Clip('<clip>')
        return '\n'.join([
            f'TransformersMLLMPriorGenerator: {self.model_path} on '
            f'{self.device} ({self.dtype}), teacher {self.teacher!r}, prompt '
            f'{self.prompt_version}, batch {self.batch_size}, '
            f'{self.media.describe()}; local, no paid calls',
            f'--- prompt for {first.name} (frames are separate parts) ---',
            build_prompt(first.subtitle, self.classes),
            '--- end of prompt ---'])

    # --- one clip ------------------------------------------------------------
    def conversation(self, clip: Clip) -> Tuple[List[dict], List[Any]]:
        """The user message's content parts and its frames (PIL images).

        Blocking (reads or decodes frames and audio).

        Raises:
            MissingMedia: the clip's frames cannot be read.
        """
        import io

        from PIL import Image
        images = [Image.open(io.BytesIO(f.data)).convert('RGB')
                  for f in self.media.frames(clip)]
        content = ([{'type': 'text',
                     'text': build_prompt(clip.subtitle, self.classes)},
                    {'type': 'text', 'text': frames_note(len(images))}]
                   + [{'type': 'image'} for _ in images]
                   + [{'type': 'text', 'text': self.media.audio_note(clip)}])
        return content, images

    def chat_text(self, content: List[dict]) -> str:
        """The processor's chat template applied to one user message."""
        return self._processor.apply_chat_template(
            [{'role': 'user', 'content': content}],
            add_generation_prompt=True, tokenize=False)

    async def agenerate(self, clip: Clip) -> PriorRecord:
        if self._model is None:
            self.setup()
        try:
            content, images = await asyncio.to_thread(self.conversation, clip)
        except MissingMedia as err:
            return self.failure(clip, 'missing_input', str(err), attempts=0)

        async def send(note: str) -> PriorRecord:
            extra = [{'type': 'text', 'text': note}] if note else []
            text, usage, finished = await self._submit(content + extra,
                                                       images)
            extra_fields = dict(usage=usage, attempts=1,
                                model_version=self.model_path)
            if not finished:
                return self.failure(clip, 'max_tokens', 'reply cut at '
                                    f'{self.max_new_tokens} tokens',
                                    **extra_fields)
            return self.reply_record(clip, text, **extra_fields)
        return await self.ask(clip, send)

    # --- batching ------------------------------------------------------------
    async def _submit(self, content: List[dict], images: List[Any]
                      ) -> Tuple[str, Dict[str, int], bool]:
        """Queue one conversation; ``(reply, usage, finished)`` when done."""
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._worker = asyncio.ensure_future(self._serve())
        future = asyncio.get_running_loop().create_future()
        await self._queue.put((content, images, future))
        return await future

    async def _serve(self) -> None:
        """Take up to ``batch_size`` queued conversations, generate, repeat."""
        while True:
            batch = [await self._queue.get()]
            # The other clips in flight are still reading their frames: wait
            # up to batch_wait_s for them (short next to a generate call).
            # (Polled: cancelling a queue.get() on a timeout can lose an item.)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.batch_wait_s
            while len(batch) < self.batch_size:
                if not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                elif loop.time() < deadline:
                    await asyncio.sleep(0.002)
                else:
                    break
            try:
                results = await asyncio.to_thread(
                    self._generate, [(c, i) for c, i, _ in batch])
            except Exception as err:  # e.g. out of memory: stops the run
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(err)
                continue
            for (_, _, future), result in zip(batch, results):
                if not future.done():
                    future.set_result(result)

    def _generate(self, batch: List[Tuple[List[dict], List[Any]]]
                  ) -> List[Tuple[str, Dict[str, int], bool]]:
        """One batched ``generate`` (runs in a worker thread)."""
        import torch
        processor, model = self._processor, self._model
        texts = [self.chat_text(content) for content, _ in batch]
        inputs = processor(text=texts, images=[i for _, i in batch],
                           padding=True, return_tensors='pt').to(model.device)
        if 'pixel_values' in inputs:
            inputs['pixel_values'] = inputs['pixel_values'].to(model.dtype)
        sampling = (dict(do_sample=True, temperature=self.temperature)
                    if self.do_sample else dict(do_sample=False))
        tokenizer = processor.tokenizer
        eos = model.generation_config.eos_token_id
        if eos is None:
            eos = tokenizer.eos_token_id
        eos = torch.tensor(eos if isinstance(eos, list) else [eos])
        pad = tokenizer.pad_token_id
        with torch.inference_mode():
            output = model.generate(
                **inputs, max_new_tokens=self.max_new_tokens,
                pad_token_id=pad if pad is not None else int(eos[0]),
                **sampling)
        new = output[:, inputs['input_ids'].shape[1]:].cpu()  # (B, T_new)
        results = []
        for row, mask in zip(new, inputs['attention_mask']):
            ended = torch.isin(row, eos).nonzero()
            length = int(ended[0]) + 1 if len(ended) else len(row)
            text = tokenizer.decode(row[:length], skip_special_tokens=True)
            results.append((text, {'input_tokens': int(mask.sum()),
                                   'output_tokens': length}, len(ended) > 0))
        return results

