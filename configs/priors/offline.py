# Offline, rule-based priors: no network, no key. Runs as is on the demo inputs
# in configs/priors/demo (12 clips); point the three files at your own OpenFace
# AU detections, prosody statistics and clip list for real data (formats:
# docs/priors.md, "Offline teacher").
#
#   python tools/generate_priors.py configs/priors/offline.py
demo_root = 'configs/priors/demo'

clips = dict(list_file=demo_root + '/clips.csv')  # its `subtitle` column

prior_generator = dict(
    type='RuleBasedPriorGenerator',
    au_file=demo_root + '/aus.csv',
    prosody_file=demo_root + '/prosody.csv',
    au_threshold=0.3)

prior_store = 'work_dirs/priors/rule-based/priors.jsonl'

# Hashing keeps the demo instant and model-free; use
# dict(type='SentenceEmbedder') (all-MiniLM-L6-v2) for real runs.
prior_embedder = dict(type='HashingTextEmbedder', dim=256)
