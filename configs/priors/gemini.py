# Reasoning priors from Gemini (the paper's teacher) for the MER2024 clips.
#
#   export GEMINI_API_KEY=...        # never in this file: the key is read
#                                    # from the environment only
#   python tools/generate_priors.py configs/priors/gemini.py --dry-run
#   python tools/generate_priors.py configs/priors/gemini.py
#   python tools/generate_priors.py configs/priors/gemini.py --resume
#
# Each clip's video and subtitle are sent to Google's API (a third party):
# check that your dataset licence allows it (docs/priors.md, "Privacy").
_base_ = ['_base_/mer2024_clips.py']  # `clips`: the MER2024 clip list

prior_generator = dict(
    type='GeminiPriorGenerator',
    model='gemini-2.5-flash',
    generation=dict(temperature=0.2, max_output_tokens=4096),
    client=dict(
        base_url=None,  # None: GOOGLE_GEMINI_BASE_URL or the SDK's default
        max_concurrency=8,
        requests_per_minute=60,  # set to your quota tier
        timeout_s=120),
    retry=dict(max_attempts=5),
    # Larger videos go through the Files API (uploaded, deleted after use).
    upload=dict(inline_max_bytes=14 * 2**20),
    # Assumed USD list prices per 1M tokens (recorded 2026-11; check yours).
    pricing=dict(price_input_per_1m=0.30, price_output_per_1m=2.50))

prior_store = 'work_dirs/priors/gemini-2.5-flash/priors.jsonl'

prior_embedder = dict(type='SentenceEmbedder')  # all-MiniLM-L6-v2, offline
