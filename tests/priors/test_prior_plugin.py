"""A prior generator plugin, registered through custom_imports, runs through
tools/generate_priors.py unchanged."""
import os.path as osp
import subprocess
import sys

from prior_testutils import REPO, tool_env

from mer_toolbox.fileio.prior_store import load_priors
from mer_toolbox.registry import PRIOR_GENERATORS


def test_plugin_generator_through_the_tool(tmp_path):
    # Not importable from the package: only custom_imports can bring it in.
    assert 'SubtitleKeywordPriorGenerator' not in PRIOR_GENERATORS.module_dict
    store = str(tmp_path / 'plugin.jsonl')
    env = tool_env()  # no examples/plugins on PYTHONPATH: the tool finds
    # the plugin module next to the config
    result = subprocess.run(
        [sys.executable, osp.join('tools', 'generate_priors.py'),
         osp.join('examples', 'plugins', 'my_prior_config.py'),
         '--store', store, '--no-progress'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert 'teacher subtitle-keywords / prompt kw-v1' in result.stdout
    priors = load_priors(store)
    assert len(priors) == 12
    assert priors['demo_happy_0'].label == 'happy'
    assert priors['demo_neutral_0'].label == 'neutral'
    assert osp.isdir(store + '.emb')
