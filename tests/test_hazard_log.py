"""The hazard log's controls are proved by tests that exist."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOG = ROOT / "docs" / "clinical-safety" / "hazard-log.md"
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def test_every_test_the_hazard_log_names_exists():
    text = LOG.read_text(encoding="utf-8")
    references = REFERENCE.findall(text)
    assert len(references) >= 25
    missing = [
        f"{path}::{name}" for path, name in references
        if not (ROOT / path).exists()
        or not re.search(rf"^(async )?def {name}\(", (ROOT / path).read_text(), re.M)
    ]
    assert missing == []


def test_every_hazard_has_a_section_with_its_controls():
    text = LOG.read_text(encoding="utf-8")
    table = re.findall(r"^\| (H\d\d) \|", text, re.M)
    sections = re.findall(r"^## (H\d\d) ", text, re.M)
    assert table == sections and len(table) >= 10
