"""tools/generate_priors.py: dry run, limit, resume, retry-failed, registry."""
import os.path as osp
import subprocess
import sys

import pytest
from fake_gemini import SAFETY
from prior_testutils import REPO, run_tool, tool_env, write_gemini_config

from mer_toolbox.fileio.prior_store import latest_records
from mer_toolbox.priors import BasePriorGenerator
from mer_toolbox.registry import PRIOR_GENERATORS

DEMO = osp.join(REPO, 'configs', 'priors', 'demo')
SAMPLE = osp.join(osp.dirname(__file__), 'data', 'paper_priors_sample.json')


def test_dry_run_prints_prompt_calls_and_cost(fake_gemini, clip_dir,
                                              canary_key, monkeypatch, capsys):
    monkeypatch.delenv('GEMINI_API_KEY')  # a dry run needs no key
    store = str(clip_dir / 'p.jsonl')
    config = write_gemini_config(str(clip_dir / 'cfg.py'), str(clip_dir),
                                 store, fake_gemini.url)
    (clip_dir / 'video' / 'c7.mp4').unlink()
    assert run_tool([config, '--dry-run', '--limit', '5']) == 0
    out = capsys.readouterr().out
    assert '--- prompt for c0' in out and 'c0 说话' in out
    assert 'calls to make: 5' in out
    assert 'estimated cost: $0.0' in out
    run_tool([config, '--dry-run'])
    assert '(1 without a video file' in capsys.readouterr().out
    assert fake_gemini.requests == [] and not osp.exists(store)


def test_limit_resume_and_retry_failed(fake_gemini, clip_dir, canary_key,
                                       capsys):
    store = str(clip_dir / 'p.jsonl')
    config = write_gemini_config(str(clip_dir / 'cfg.py'), str(clip_dir),
                                 store, fake_gemini.url)
    fake_gemini.script['c1'] = [SAFETY]
    assert run_tool([config, '--limit', '3', '--no-progress']) == 0
    assert 'ok 2, failed 1 (refused: 1)' in capsys.readouterr().out
    with pytest.raises(RuntimeError, match='--resume'):
        run_tool([config, '--no-progress'])
    assert run_tool([config, '--resume', '--no-progress']) == 0
    out = capsys.readouterr().out
    assert 'ok 5, failed 0' in out and '2 already ok, 1 failed before' in out
    assert fake_gemini.calls_per_clip()['c1'] == 1
    assert run_tool([config, '--resume', '--retry-failed',
                     '--no-progress']) == 0
    assert 'ok 1, failed 0' in capsys.readouterr().out
    assert fake_gemini.calls_per_clip() == {f'c{i}': 1 + (i == 1)
                                            for i in range(8)}
    assert all(r.ok for r in latest_records(store).values())


def test_missing_store_and_unknown_type(tmp_path):
    config = tmp_path / 'cfg.py'
    config.write_text("prior_generator = dict(type='GeminiPriorGenerater')\n")
    with pytest.raises(ValueError, match='prior_store'):
        run_tool([config])
    with pytest.raises(KeyError, match='Did you mean: GeminiPriorGenerator'):
        run_tool([config, '--store', tmp_path / 'p.jsonl', '--dry-run'])


# Every registered generator builds from a config (timm-style sweep): a new
# generator must be added here with a minimal config.
MINIMAL = {
    'GeminiPriorGenerator': dict(),
    'OpenAICompatiblePriorGenerator': dict(model='any-vlm'),
    'PaperJsonPriorImporter': dict(path=SAMPLE),
    'RecordFilePriorImporter': 'demo store',  # built from the demo priors
    'RuleBasedPriorGenerator': dict(au_file=osp.join(DEMO, 'aus.csv')),
    'TransformersMLLMPriorGenerator': dict(model='any/local-vlm'),
}


@pytest.mark.parametrize('name', sorted(PRIOR_GENERATORS.module_dict))
def test_every_generator_builds(name, tiny_demo_root):
    if name not in MINIMAL:  # a plugin registered by another test
        pytest.skip(f'{name} is not part of mer_toolbox')
    kwargs = MINIMAL[name]
    if kwargs == 'demo store':  # a real store: the simulated demo teacher's
        from mer_toolbox.datasets.demo_priors import ensure_demo_priors
        emb = ensure_demo_priors(tiny_demo_root)
        kwargs = dict(path=emb[:-len('.emb')])
    generator = PRIOR_GENERATORS.build(dict(type=name, **kwargs))
    assert isinstance(generator, BasePriorGenerator)
    assert generator.teacher and generator.prompt_version
    assert generator.describe([])


def test_package_import_stays_light():
    # The SDK and transformers are imported only by the classes that call
    # them, so configs, importers and the offline teacher load fast.
    code = ('import sys, mer_toolbox.priors; '
            'print([m for m in ("google.genai", "transformers", "httpx2") '
            'if m in sys.modules])')
    result = subprocess.run([sys.executable, '-c', code], cwd=REPO,
                            env=tool_env(), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '[]'


def test_openai_compatible_config_dry_run(clip_dir, tmp_path, capsys):
    config = osp.join(REPO, 'configs', 'priors', 'openai_compatible.py')
    assert run_tool([
        config, '--dry-run', '--store', tmp_path / 'p.jsonl', '--cfg-options',
        f'clips.list_file={clip_dir / "clips.csv"}',
        f'clips.video_root={clip_dir / "video"}',
        'clips.subtitle_file=None']) == 0
    out = capsys.readouterr().out
    assert 'http://127.0.0.1:8000/v1' in out and '8 face frames' in out
    assert 'calls to make: 8' in out and 'estimated cost: $0.0000' in out


def test_gemini_dry_run_on_a_fresh_clone_notes_the_missing_list(
        tmp_path, monkeypatch, capsys):
    monkeypatch.delenv('GEMINI_API_KEY', raising=False)
    monkeypatch.setenv('MER2024_ROOT', str(tmp_path / 'no_data_yet'))
    config = osp.join(REPO, 'configs', 'priors', 'gemini.py')
    store = ['--store', str(tmp_path / 'p.jsonl')]
    assert run_tool([config, '--dry-run', *store]) == 0
    out = capsys.readouterr().out
    assert 'no_data_yet/label-disdim.csv' in out and 'MER2024_ROOT' in out
    assert 'calls to make: 0' in out
    with pytest.raises(FileNotFoundError, match='point MER2024_ROOT'):
        run_tool([config, *store])


def test_gemini_config_reads_clips_under_mer2024_root(
        clip_dir, tmp_path, monkeypatch, capsys):
    root = tmp_path / 'mer2024'
    root.mkdir()
    (root / 'label-disdim.csv').write_text(
        (clip_dir / 'clips.csv').read_text())
    (root / 'video').symlink_to(clip_dir / 'video')
    monkeypatch.setenv('MER2024_ROOT', str(root))
    config = osp.join(REPO, 'configs', 'priors', 'gemini.py')
    assert run_tool([config, '--dry-run', '--store', tmp_path / 'p.jsonl',
                     '--cfg-options', 'clips.subtitle_file=None']) == 0
    assert 'calls to make: 8' in capsys.readouterr().out
