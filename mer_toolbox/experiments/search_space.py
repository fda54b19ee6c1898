"""The ``search_space`` a config declares for ``tools/sweep.py``.

Keys are dotted config paths; list items are addressed by index or, for
lists of component dicts such as ``custom_hooks``, by their ``type``::

    search_space = {
        'optim_wrapper.optimizer.lr': dict(type='float', low=1e-4, high=3e-3, log=True),
        'model.encoders.hidden_dim': dict(type='categorical', choices=[64, 128, 256]),
        'model.aux_losses.0.tau': dict(type='float', low=0.05, high=0.5),
        'custom_hooks.PseudoLabelHook.class_balanced_ratio': dict(type='float', low=0.3, high=0.9),
    }

Value specs map onto Optuna's ``suggest_*``: ``float`` (``low``, ``high``,
optional ``log`` / ``step``), ``int`` (the same) and ``categorical``
(``choices``).
"""
import copy
import difflib
from typing import Any, Dict, Mapping, Tuple

from mmengine.config import Config

SPEC_KEYS = {'float': ('low', 'high'), 'int': ('low', 'high'),
             'categorical': ('choices',)}


def _child(node: Any, part: str, key: str, walked: str) -> Tuple[Any, Any]:
    """``(container, index)`` of ``part`` inside ``node``, or a clear error."""
    where = walked or 'the config'
    if isinstance(node, (Mapping, Config)):
        if part in node:
            return node, part
        close = difflib.get_close_matches(part, [str(k) for k in node], n=3)
        hint = f'; did you mean {close}?' if close else ''
        raise KeyError(f'search_space key {key!r} names no config key: '
                       f'{where} has no {part!r}{hint}')
    if isinstance(node, (list, tuple)):
        if part.lstrip('-').isdigit() and -len(node) <= int(part) < len(node):
            return node, int(part)
        typed = [i for i, item in enumerate(node)
                 if isinstance(item, Mapping) and item.get('type') == part]
        if len(typed) == 1:
            return node, typed[0]
        types = [item.get('type') for item in node if isinstance(item, Mapping)]
        raise KeyError(f'search_space key {key!r} names no config key: '
                       f'{where} is a list of {len(node)} (types {types}); '
                       f'{part!r} is neither an index nor a unique type')
    raise KeyError(f'search_space key {key!r} names no config key: {where} '
                   f'is a {type(node).__name__}, not a dict or list')


def _locate(cfg: Mapping, key: str) -> Tuple[Any, Any]:
    node, walked = cfg, ''
    parts = key.split('.')
    for part in parts[:-1]:
        container, index = _child(node, part, key, walked)
        node, walked = container[index], f'{walked}.{part}'.lstrip('.')
    return _child(node, parts[-1], key, walked)


def check_search_space(cfg: Config) -> Dict[str, dict]:
    """The config's ``search_space``, validated against the config.

    Raises:
        KeyError: no ``search_space``, or an entry that names no config key.
        ValueError: an entry whose spec is not a float / int / categorical
            spec with its fields.
    """
    space = cfg.get('search_space')
    if not space:
        raise KeyError(f'{cfg.filename or "the config"} declares no '
                       'search_space (a dict of dotted config key -> spec; '
                       'see docs/experiments.md)')
    for key, spec in space.items():
        _locate(cfg, key)
        kind = spec.get('type') if isinstance(spec, Mapping) else None
        if kind not in SPEC_KEYS:
            raise ValueError(f'search_space[{key!r}]: type must be one of '
                             f'{sorted(SPEC_KEYS)}, got {spec!r}')
        missing = [f for f in SPEC_KEYS[kind] if f not in spec]
        if missing:
            raise ValueError(f'search_space[{key!r}]: a {kind} spec needs '
                             f'{missing}, got {dict(spec)}')
        if kind != 'categorical' and not spec['low'] < spec['high']:
            raise ValueError(f'search_space[{key!r}]: low must be below high, '
                             f'got {dict(spec)}')
    return {k: dict(v) for k, v in space.items()}


def suggest(trial, space: Mapping[str, dict]) -> Dict[str, Any]:
    """One value per entry from an Optuna ``trial`` (its ``suggest_*``)."""
    params = {}
    for key, spec in space.items():
        kind = spec['type']
        if kind == 'categorical':
            params[key] = trial.suggest_categorical(key, list(spec['choices']))
            continue
        suggest_fn = trial.suggest_float if kind == 'float' else trial.suggest_int
        options = {k: spec[k] for k in ('log', 'step') if k in spec}
        params[key] = suggest_fn(key, spec['low'], spec['high'], **options)
    return params


def apply_params(cfg: Config, params: Mapping[str, Any]) -> Config:
    """A copy of ``cfg`` with every ``params`` value set, ``search_space``
    removed (the result is an ordinary, ready-to-run config)."""
    out = copy.deepcopy(cfg)
    for key, value in params.items():
        container, index = _locate(out, key)
        container[index] = value
    out.pop('search_space', None)
    return out
