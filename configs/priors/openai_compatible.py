# Reasoning priors from a model behind an OpenAI-compatible server: a local
# vLLM / SGLang / Ollama / LM Studio, or a hosted API. Clips stay on your
# machine when the server does.
#
#   vllm serve Qwen/Qwen2.5-VL-7B-Instruct --port 8000     # for example
#   python tools/generate_priors.py configs/priors/openai_compatible.py --dry-run
#   python tools/generate_priors.py configs/priors/openai_compatible.py
#   python tools/generate_priors.py configs/priors/openai_compatible.py --resume
#
# A hosted API needs a key: export OPENAI_API_KEY=... (never in this file).
_base_ = ['_base_/mer2024_clips.py']  # `clips`: the MER2024 clip list

prior_generator = dict(
    type='OpenAICompatiblePriorGenerator',
    model='Qwen/Qwen2.5-VL-7B-Instruct',  # the name the server serves
    base_url='http://127.0.0.1:8000/v1',
    structured_output='auto',  # JSON schema; dropped if the server refuses it
    num_frames=8,
    frame_dir=None,  # e.g. 'data/mer2024/openface_face' (<name>/*.jpg crops)
    audio='prosody',  # 'input_audio' for models that hear (e.g. Qwen2.5-Omni)
    retry_refusals=True,  # ask once more after "I cannot determine ..."
    max_concurrency=16,
    requests_per_minute=None,  # a local server: no quota
    timeout_s=120,
    max_attempts=5,
    price_input_per_1m=0.0,  # a local server costs no tokens
    price_output_per_1m=0.0)

prior_store = 'work_dirs/priors/qwen2.5-vl-7b/priors.jsonl'

prior_embedder = dict(type='SentenceEmbedder')
