"""Read and validate the one prior record a single-clip inference may use."""
import json
import os
import warnings
from typing import Mapping, Optional, Sequence, Union

from .prior_record import PriorRecord, PriorValidationError

PriorLike = Union[str, os.PathLike, Mapping, object]


def read_prior_record(prior: Optional[PriorLike],
                      classes: Optional[Sequence[str]] = None,
                      clip_name: Optional[str] = None) -> Optional[dict]:
    """Turn a prior given by the user into a validated record dict.

    Args:
        prior: ``None``; a path to a JSON file holding one prior record (the
            shape of one line of a prior store, see
            :mod:`mer_toolbox.fileio.prior_record`); a dict of that shape; or a
            :class:`~.prior_record.PriorRecord`.
        classes: the model's class names; the record's ``label`` / ``scores``
            must use exactly these.
        clip_name: the clip being predicted; a record naming another clip
            only warns (renamed files are common), it is not an error.

    Returns:
        ``PriorRecord.to_dict()`` of the validated record, or ``None``. A
        record with ``status='failed'`` is returned as such: what to do
        without a usable prior is the prior-guided model's documented
        fallback, not this function's choice.

    Raises:
        FileNotFoundError: the file does not exist.
        PriorValidationError: not JSON, not one object,
            or not a valid record (the message names the file).
    """
    if prior is None:
        return None
    where = 'prior'
    if isinstance(prior, PriorRecord):
        record = prior
    else:
        if isinstance(prior, (str, os.PathLike)):
            path = os.fspath(prior)
            where = f'prior file {path!r}'
            data = _read_json(path, PriorValidationError)
        elif isinstance(prior, Mapping):
            data = dict(prior)
        else:
            raise TypeError(f'prior must be a path, a dict or a PriorRecord, '
                            f'got {type(prior).__name__}')
        if not isinstance(data, dict):
            raise PriorValidationError(f'{where}: expected one JSON object '
                                       f'(a prior record), got '
                                       f'{type(data).__name__}')
        try:
            record = PriorRecord.from_dict(data)
        except TypeError as err:  # a required field is missing
            raise PriorValidationError(f'{where}: not a prior record: '
                                       f'{err}') from None
        except PriorValidationError as err:
            raise PriorValidationError(f'{where}: {err}') from None
    try:
        record.validate(classes)
    except PriorValidationError as err:
        raise PriorValidationError(f'{where}: {err}') from None
    if clip_name is not None and record.name != clip_name:
        warnings.warn(f'{where} is for clip {record.name!r}, used for clip '
                      f'{clip_name!r}')
    return record.to_dict()


def _read_json(path: str, error: type):
    if not os.path.isfile(path):
        raise FileNotFoundError(f'prior file {path!r} does not exist')
    with open(path, encoding='utf-8') as f:
        text = f.read()
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        hint = (' (a prior store holds one record per line: pass the one '
                "line of this clip's record as its own file)"
                if err.msg == 'Extra data' else '')
        raise error(f'prior file {path!r} is not one JSON object: '
                    f'{err}{hint}') from None
