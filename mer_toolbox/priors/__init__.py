"""Reasoning priors: schema, store, teachers (Gemini, OpenAI-compatible
servers, local transformers MLLMs, importers, offline) and prior embeddings.

Importing this package registers every generator in ``PRIOR_GENERATORS`` and
every embedder in ``PRIOR_EMBEDDERS`` (the registries' lazy location). It
stays light: ``google.genai``, ``httpx2`` and ``transformers`` are imported
only inside the classes that call them.
"""
from .base import BasePriorGenerator
from .clips import Clip, read_clip_list
from .embedding import HashingTextEmbedder, SentenceEmbedder
from .facs import AU_EMOTION_TABLE, VALID_AUS, emotion_support
from .gemini import GeminiPriorGenerator
from .importers import PaperJsonPriorImporter, RecordFilePriorImporter
from .offline import RuleBasedPriorGenerator
from .openai_compat import OpenAICompatiblePriorGenerator
from .prior_cache import (build_prior_embeddings, load_prior_embeddings,
                          prior_embedding_meta)
from .prompt import PROMPT_VERSION, build_prompt, response_schema
from .retrying import FatalTeacherError
from .runner import RunSummary, plan_clips, run_generation
from .schema import (FAILURE_REASONS, PriorRecord, PriorValidationError,
                     record_from_payload)
from .store import PriorStoreWriter, iter_records, latest_records, load_priors
from .transformers_mllm import TransformersMLLMPriorGenerator

__all__ = [
    'AU_EMOTION_TABLE', 'BasePriorGenerator', 'Clip', 'FAILURE_REASONS',
    'FatalTeacherError', 'GeminiPriorGenerator', 'HashingTextEmbedder',
    'OpenAICompatiblePriorGenerator',
    'PROMPT_VERSION', 'PaperJsonPriorImporter', 'PriorRecord',
    'PriorStoreWriter', 'PriorValidationError', 'RecordFilePriorImporter',
    'RuleBasedPriorGenerator', 'RunSummary', 'SentenceEmbedder',
    'TransformersMLLMPriorGenerator', 'VALID_AUS',
    'build_prior_embeddings', 'build_prompt', 'emotion_support',
    'iter_records', 'latest_records', 'load_prior_embeddings', 'load_priors',
    'plan_clips', 'prior_embedding_meta', 'read_clip_list',
    'record_from_payload', 'response_schema', 'run_generation',
]
