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
data_root = 'data/mer2024'

# Any CSV with a `name` column works; label-disdim.csv lists the labelled
# clips. For the unlabelled pool use a CSV of its names.
clips = dict(
    list_file=data_root + '/label-disdim.csv',
    video_dir=data_root + '/video',
    video_ext='.mp4',
    subtitle_file=data_root + '/subtitle_chieng.csv',
    subtitle_column='chinese')

prior_generator = dict(
    type='GeminiPriorGenerator',
    model='gemini-2.5-flash',
    temperature=0.2,
    max_output_tokens=4096,
    base_url=None,  # None: GOOGLE_GEMINI_BASE_URL or the SDK's default
    max_concurrency=8,
    requests_per_minute=60,  # set to your quota tier
    timeout_s=120,
    max_attempts=5,
    # Assumed USD list prices per 1M tokens (recorded 2026-11; check yours).
    price_input_per_1m=0.30,
    price_output_per_1m=2.50)

prior_store = 'work_dirs/priors/gemini-2.5-flash/priors.jsonl'

prior_embedder = dict(type='SentenceEmbedder')  # all-MiniLM-L6-v2, offline
