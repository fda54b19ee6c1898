# Import the priors the paper's authors published with their follow-up work
# (JSON with 推理过程 / 情绪 / label / 贡献度 per clip) into a prior store.
#
#   python tools/generate_priors.py configs/priors/paper_json.py
data_root = 'data/mer2024'

prior_generator = dict(
    type='PaperJsonPriorImporter',
    path=data_root + '/priors/paper_gemini.json',
    teacher='paper-gemini',
    prompt_version='paper-json')

# No `clips`: every clip in the file is imported.
prior_store = 'work_dirs/priors/paper-gemini/priors.jsonl'

prior_embedder = dict(type='SentenceEmbedder')
