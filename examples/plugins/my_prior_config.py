# Prior generation with the plugin teacher in my_prior_generator.py.
#
#   python tools/generate_priors.py examples/plugins/my_prior_config.py
custom_imports = dict(imports=['my_prior_generator'],
                      allow_failed_imports=False)

clips = dict(list_file='configs/priors/demo/clips.csv')

prior_generator = dict(
    type='SubtitleKeywordPriorGenerator',
    keywords=dict(happy=['开心', 'glad'], sad=['难过', 'miss'],
                  angry=['滚', 'hate'], worried=['怎么办', 'afraid'],
                  surprise=['天哪', 'wow']))

prior_store = 'work_dirs/priors/subtitle-keywords/priors.jsonl'
prior_embedder = dict(type='HashingTextEmbedder', dim=64)
