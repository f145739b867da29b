"""The project's own decisions (rules/DECISIONS.md): every decision id the project cites is defined there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DECISIONS = ROOT / "rules" / "DECISIONS.md"
DECISION_ID = re.compile(r"\bD-[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*\b")
# Where ids are cited: rulebooks, cases and bureau data; every module; the contracts; the README.
CITING = (
    "rules",
    "services",
    "greenfab",
    "greenfab_cli",
    "contracts",
    "examples",
    "tests/unit",
    "tests/integration",
    "tests/support",
)
SUFFIXES = {".py", ".yaml", ".yml", ".md", ".json"}


def sections() -> dict[str, str]:
    text = DECISIONS.read_text(encoding="utf-8")
    parts = re.split(r"^## ", text, flags=re.M)[1:]
    return {m.group(0): part for part in parts if (m := DECISION_ID.match(part))}


def cited() -> dict[str, set[str]]:
    """Each decision id → the files that cite it."""
    found: dict[str, set[str]] = {}
    files = [ROOT / "README.md"] + [p for d in CITING for p in (ROOT / d).rglob("*") if p.suffix in SUFFIXES]
    for path in files:
        if path == DECISIONS or "histories" in path.parts:
            continue
        for ident in DECISION_ID.findall(path.read_text(encoding="utf-8")):
            found.setdefault(ident, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_decision_id_cited_anywhere_is_defined() -> None:
    defined = set(sections())
    undefined = {ident: sorted(files) for ident, files in cited().items() if ident not in defined}
    assert undefined == {}, "define these in rules/DECISIONS.md (or fix the citation)"


def test_the_rulebooks_cite_decisions_and_the_decisions_are_used() -> None:
    used = cited()
    assert {"D-FLOOR", "D-STOPPAGE", "D-EVENTS", "D-CALENDAR", "D-LIN", "D-IND", "D-PUBLICITY"} <= set(used)
    unused = sorted(set(sections()) - set(used))
    assert unused == [], "a decision nothing follows: cite it where it applies, or drop it"


def test_each_decision_says_what_it_reads_what_it_decides_and_why() -> None:
    for ident, body in sections().items():
        for part in ("**Reads**", "**Decision**", "**Why**", "**Data**"):
            assert part in body, f"{ident} lacks {part}"


def test_the_project_cites_its_own_decisions_not_a_file_outside_it() -> None:
    outside = [
        str(p.relative_to(ROOT))
        for d in ("rules", "services", "greenfab", "greenfab_cli", "contracts")
        for p in (ROOT / d).rglob("*")
        if p.suffix in SUFFIXES and "DOMAIN.md" in p.read_text(encoding="utf-8")
    ]
    assert outside == []
