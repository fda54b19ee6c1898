"""Facial Action Units (FACS): valid ids, names, and the AU -> emotion table.

The support table is written once here and used by every teacher: the prompt
shows it to an MLLM (:mod:`mer_toolbox.priors.prompt`), the offline teacher
scores AU detections with it (:mod:`mer_toolbox.priors.offline`) and the demo's
simulated teacher draws AUs from it, so all read faces the same way. The valid
ids are also the schema of a prior record's ``action_units``.

Prototypes follow the FACS / EMFACS descriptions of the basic emotions
(Ekman & Friesen): happy 6+12, sad 1+4+15, surprise 1+2+5+26,
angry 4+5+7+23. Two MER2024 classes have no EMFACS prototype; **our choice**:

* ``worried`` uses the fear family without its scream components (no jaw
  drop): the "worry brow" 1+2+4 with lip stretch 20 and upper-lid raise 5.
  MER2024's worried is anxious, not terrified.
* ``neutral`` has no AUs: its support is the *absence* of expression,
  ``1 -`` the strongest activation of any AU in the table (see
  :func:`emotion_support`).

Each entry maps an AU to a weight: 1.0 for core AUs of the prototype, 0.5 for
AUs that often accompany it.
"""
from typing import Dict, Mapping, Sequence, Tuple

#: Valid FACS codes: main action units 1-46 (3 and 40 are unassigned in
#: FACS 2002), head positions 51-58 and eye positions 61-66.
VALID_AUS: Tuple[int, ...] = tuple(
    [au for au in range(1, 47) if au not in (3, 40)]
    + list(range(51, 59)) + list(range(61, 67)))

#: Names of the AUs the table and common detectors (OpenFace) use.
AU_NAMES: Dict[int, str] = {
    1: 'inner brow raiser', 2: 'outer brow raiser', 4: 'brow lowerer',
    5: 'upper lid raiser', 6: 'cheek raiser', 7: 'lid tightener',
    9: 'nose wrinkler', 10: 'upper lip raiser', 12: 'lip corner puller',
    14: 'dimpler', 15: 'lip corner depressor', 17: 'chin raiser',
    20: 'lip stretcher', 23: 'lip tightener', 24: 'lip pressor',
    25: 'lips part', 26: 'jaw drop', 27: 'mouth stretch', 28: 'lip suck',
    43: 'eyes closed', 45: 'blink',
}

#: AU -> weight per emotion (see module doc). ``neutral`` is empty on purpose.
AU_EMOTION_TABLE: Dict[str, Dict[int, float]] = {
    'happy': {6: 1.0, 12: 1.0, 25: 0.5},
    'sad': {1: 1.0, 4: 1.0, 15: 1.0, 17: 0.5},
    'surprise': {1: 1.0, 2: 1.0, 5: 1.0, 26: 1.0, 27: 0.5},
    'angry': {4: 1.0, 5: 1.0, 7: 1.0, 23: 1.0, 24: 0.5, 9: 0.5},
    'worried': {1: 1.0, 2: 1.0, 4: 1.0, 20: 1.0, 5: 0.5},
    'neutral': {},
}


def au_table_text(classes: Sequence[str]) -> str:
    """The support table as prompt text, one line per class in ``classes``.

    Raises:
        KeyError: a class has no entry in :data:`AU_EMOTION_TABLE`.
    """
    lines = []
    for cls in classes:
        if cls not in AU_EMOTION_TABLE:
            raise KeyError(f'class {cls!r} has no row in AU_EMOTION_TABLE; '
                           f'rows: {sorted(AU_EMOTION_TABLE)}')
        row = AU_EMOTION_TABLE[cls]
        if not row:
            lines.append(f'- {cls}: no action unit active (relaxed face)')
            continue
        core = [f'AU{au} {AU_NAMES[au]}' for au, w in row.items() if w >= 1]
        extra = [f'AU{au} {AU_NAMES[au]}' for au, w in row.items() if w < 1]
        text = f'- {cls}: ' + ' + '.join(core)
        lines.append(text + (f' (often with {", ".join(extra)})'
                             if extra else ''))
    return '\n'.join(lines)


def emotion_support(activations: Mapping[int, float],
                    classes: Sequence[str]) -> Dict[str, float]:
    """Score each class by how much of its AU prototype is active.

    Args:
        activations: AU id -> activation in ``[0, 1]``. An AU that is absent
            is *unknown* (the detector does not report it, e.g. OpenFace has
            no AU24) and is left out of the averages; report 0 for "off".
        classes: class names; each must have a table row.

    Returns:
        class -> support in ``[0, 1]``: the weighted mean activation of the
        class's reported prototype AUs (0 when none is reported);
        ``neutral`` gets ``1 - `` the strongest activation among all AUs of
        the table (a relaxed face has none active).
    """
    expressive = {au for row in AU_EMOTION_TABLE.values() for au in row}
    relaxed = 1.0 - max((a for au, a in activations.items()
                         if au in expressive), default=0.0)
    support = {}
    for cls in classes:
        row = AU_EMOTION_TABLE[cls]
        if not row:
            support[cls] = relaxed
            continue
        seen = {au: w for au, w in row.items() if au in activations}
        total = sum(seen.values())
        support[cls] = (sum(w * activations[au] for au, w in seen.items())
                        / total if total else 0.0)
    return support
