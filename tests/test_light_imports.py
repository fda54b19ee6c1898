"""A bare ``import mer_toolbox.models`` loads no optional heavy stack and
neither the media nor the priors code (see docs/architecture.md)."""
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: Never loaded by importing the models.
NEVER = ('timm', 'google.genai', 'av', 'cv2', 'mer_toolbox.media',
         'mer_toolbox.priors')
#: Loaded by MMEngine itself when installed (mmengine.optim registers
#: transformers' Adafactor), so only "not added by us" can be asserted.
HEAVY = NEVER + ('transformers',)

PROBE = f"""
import json, sys
heavy = {HEAVY!r} + ('mer_toolbox.models',)  # the last: a control
loaded = lambda: [m for m in heavy if m in sys.modules]
import mmengine.model, torch  # what any MMEngine model pays anyway
before = loaded()
import mer_toolbox.models
print(json.dumps(dict(before=before, after=loaded())))
"""


def run_probe(code: str) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO)] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
    out = subprocess.run([sys.executable, '-c', code], cwd=REPO, env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_bare_models_import_loads_no_heavy_stack():
    result = run_probe(PROBE)
    # the control proves the probe sees what the import loads
    assert 'mer_toolbox.models' in result['after']
    assert [m for m in result['after'] if m in NEVER] == []
    added = sorted(set(result['after']) - set(result['before'])
                   - {'mer_toolbox.models'})
    assert added == [], f'import mer_toolbox.models loaded {added}'
