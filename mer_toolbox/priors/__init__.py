"""Reasoning priors: teachers (Gemini, OpenAI-compatible servers, local
transformers MLLMs, importers, offline), the generation run and the prior text
embedders. The record schema, the store and the cache of prior arrays are
shared file formats and live in :mod:`mer_toolbox.fileio`.

Importing this package registers every generator in ``PRIOR_GENERATORS`` and
every embedder in ``PRIOR_EMBEDDERS`` (the registries' lazy location). It
stays light: ``google.genai``, ``httpx2`` and ``transformers`` are imported
only inside the classes that call them.
"""
from .base import BasePriorGenerator
from .embedding import HashingTextEmbedder, SentenceEmbedder
from .gemini import GeminiPriorGenerator
from .importers import PaperJsonPriorImporter, RecordFilePriorImporter
from .offline import RuleBasedPriorGenerator
from .openai_compat import OpenAICompatiblePriorGenerator
from .prompt import PROMPT_VERSION, build_prompt, response_schema
from .retrying import FatalTeacherError
from .runner import RunSummary, plan_clips, run_generation
from .transformers_mllm import TransformersMLLMPriorGenerator

__all__ = [
    'BasePriorGenerator', 'FatalTeacherError', 'GeminiPriorGenerator',
    'HashingTextEmbedder', 'OpenAICompatiblePriorGenerator', 'PROMPT_VERSION',
    'PaperJsonPriorImporter', 'RecordFilePriorImporter',
    'RuleBasedPriorGenerator', 'RunSummary', 'SentenceEmbedder',
    'TransformersMLLMPriorGenerator', 'build_prompt', 'plan_clips',
    'response_schema', 'run_generation',
]
