"""A canonical, hash-stable text of compiled forms, exported documents and problems."""

import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
from decimal import Decimal
from pathlib import Path

from forms_app.engine.fhirpath import FhirPath

PINS = Path(__file__).parent / "pinned.json"


def canon(value):
    if isinstance(value, FhirPath):
        return {"fhirpath": value.text}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"@": type(value).__name__,
                **{f.name: canon(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, re.Pattern):
        return {"regex": value.pattern}
    if isinstance(value, set | frozenset):
        return sorted((canon(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, list | tuple):
        return [canon(v) for v in value]
    if isinstance(value, dict):
        return {str(k): canon(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, dt.date | dt.time):
        return {type(value).__name__: value.isoformat()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return {"repr": type(value).__name__}


def digest(value) -> str:
    text = json.dumps(canon(value), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def check(section: str, found: dict[str, str]) -> None:
    pins = json.loads(PINS.read_text()) if PINS.exists() else {}
    if os.environ.get("PIN_WRITE"):
        pins[section] = found
        PINS.write_text(json.dumps(pins, indent=1, sort_keys=True) + "\n")
        return
    expected = pins[section]
    changed = sorted(k for k in expected.keys() | found.keys()
                     if expected.get(k) != found.get(k))
    assert changed == [], (
        f"{section}: these changed: {changed}. A refactor must not change them; for a "
        "deliberate change of behaviour, regenerate with PIN_WRITE=1 pytest tests/pins "
        "and say why in the commit")
