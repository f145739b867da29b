"""Rulebook editions: a bad draft is refused naming item and field; diff; replay by version; publishing to file."""

from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.schemes import Scheme
from services.scoring.domain.rulebook import RuleLibrary
from services.scoring.editions import (
    Checker,
    PublishRefused,
    append_edition,
    diff,
    load_draft,
    parse_draft,
    publishable,
    snapshot,
)
from services.scoring.engine import RulesEngine

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
LIBRARY = RuleLibrary.load(RULES)
CHECKER = Checker(LIBRARY, RULES)


def grading_draft(**changes: Any) -> dict[str, Any]:
    """The grading rulebook as a draft: its edition renamed, then ``changes`` applied to it."""
    raw = yaml.safe_load((RULES / "grading" / "rulebook.yaml").read_text(encoding="utf-8"))
    edition = raw["editions"][0]
    edition.update(edition="2026-draft", effective_from=date(2026, 1, 1))
    for key, change in changes.items():
        change(edition) if callable(change) else edition.__setitem__(key, change)
    return dict(raw)


def item(edition: dict[str, Any], item_id: str) -> dict[str, Any]:
    return next(i for i in edition["items"] if i["id"] == item_id)


def problems_of(raw: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(p.edition, p.item, p.field) for p in CHECKER.check(parse_draft(raw, "draft.yaml"))]


def test_every_shipped_rulebook_passes_its_check() -> None:
    for scheme in Scheme:
        draft = load_draft(RULES / scheme.value / "rulebook.yaml")
        assert CHECKER.check(draft) == [], scheme


def test_the_unchanged_draft_passes() -> None:
    assert problems_of(grading_draft()) == []


def test_an_unknown_input_is_refused_naming_item_and_field() -> None:
    def rename(edition: dict[str, Any]) -> None:
        item(edition, "GR-15")["inputs"] = ["renewable_share"]
        item(edition, "GR-15")["cases"][0]["then"]["linear"]["of"] = "renewable_share"

    assert ("2026-draft", "GR-15", "inputs") in problems_of(grading_draft(x=rename))


def test_points_above_the_items_maximum_are_refused() -> None:
    def too_many(edition: dict[str, Any]) -> None:
        item(edition, "GR-14")["params"]["boxes"]["smart_microgrid"] = 9

    found = problems_of(grading_draft(x=too_many))
    assert ("2026-draft", "GR-14", "params.boxes.smart_microgrid") in found


def test_totals_must_add_up_as_the_scheme_requires() -> None:
    def bigger(edition: dict[str, Any]) -> None:
        item(edition, "GR-4")["max"] = 5  # base items now add up to 101

    found = problems_of(grading_draft(x=bigger))
    assert ("2026-draft", "", "items.max") in found
    raw = yaml.safe_load((RULES / "green-factory" / "rulebook.yaml").read_text(encoding="utf-8"))
    raw["editions"][0]["edition"] = "2026-draft"
    raw["editions"][0]["categories"][1]["weight"] = 0.25
    weights = [(p.item, p.field) for p in CHECKER.check(parse_draft(raw, "gf.yaml"))]
    assert ("", "categories.weight") in weights


def test_cases_that_leave_a_gap_are_refused() -> None:
    raw = yaml.safe_load((RULES / "beautiful-factory" / "rulebook.yaml").read_text(encoding="utf-8"))
    edition = json.loads(json.dumps(raw["editions"][-1], default=str))  # a copy: YAML anchors share items
    edition["edition"] = "2026-draft"
    edition["items"][0]["cases"][0]["when"]["air_pollutant_ratio"] = {"lte": 0.45}  # 45 %–50 %: no case
    raw["editions"] = [edition]
    found = [(p.item, p.field, p.message_en) for p in CHECKER.check(parse_draft(raw, "bf.yaml"))]
    assert found == [("BF-1", "cases", "no case holds when air_pollutant_ratio = 0.450000001 (the cases leave a gap)")]


def test_a_missing_clause_is_refused() -> None:
    def uncited(edition: dict[str, Any]) -> None:
        item(edition, "GR-9")["basis"] = "see above"

    assert ("2026-draft", "GR-9", "basis") in problems_of(grading_draft(x=uncited))


def test_a_schema_error_names_edition_item_and_field() -> None:
    def broken(edition: dict[str, Any]) -> None:
        item(edition, "GR-17")["max"] = "six"

    found = problems_of(grading_draft(x=broken))
    assert found == [("2026-draft", "GR-17", "max")]


def test_thresholds_out_of_order_are_refused() -> None:
    draft = grading_draft(levels={"basis": "003 第四条; D-LEVEL", "thresholds": [
        {"level": 4, "min_total": 60}, {"level": 3, "min_total": 70}, {"level": 2, "min_total": 55},
        {"level": 1, "min_total": 0}]})  # fmt: skip
    assert ("2026-draft", "", "levels.level 4.min_total") in problems_of(draft)


def test_a_drafts_own_cases_run_through_both_interpreters() -> None:
    raw = grading_draft()
    raw["cases"] = [
        {"name": "GR-15 full at 15 %", "as_of": date(2026, 3, 1), "input": {"renewable_energy_share": 0.15},
         "expect": {"items": {"GR-15": 6}}},
        {"name": "a wrong expectation", "as_of": date(2026, 3, 1), "input": {"renewable_energy_share": 0.15},
         "expect": {"items": {"GR-15": 5}}},
    ]  # fmt: skip
    found = CHECKER.check(parse_draft(raw, "draft.yaml"))
    assert {p.field for p in found} == {"cases[1] a wrong expectation"}
    assert {p.message_en.split(")")[0] for p in found} == {"case fails (engine", "case fails (reference"}


def test_diff_names_threshold_and_point_changes() -> None:
    def changes(edition: dict[str, Any]) -> None:
        edition["levels"]["thresholds"][0]["min_total"] = 88
        item(edition, "GR-15")["cases"][0]["then"]["linear"]["full_at"] = 0.2
        edition["items"] = [i for i in edition["items"] if i["id"] != "GR-21"]

    draft = parse_draft(grading_draft(x=changes), "d.yaml")
    d = diff(LIBRARY.rulebook(Scheme.GRADING).editions[0], draft.edition())
    assert [i.id for i in d.removed] == ["GR-21"] and not d.added
    found = {(c.item, c.path): (c.before, c.after) for c in d.changed}
    assert found[("", "levels.thresholds.level 4")] == ("85", "88")
    assert found[("GR-15", "cases[0].then.linear.full_at")] == (0.15, 0.2)
    assert "GR-15" not in d.same and "GR-14" in d.same


def test_an_evaluation_replays_exactly_under_its_version() -> None:
    decl = json.loads((ROOT / "examples" / "grading-declaration.json").read_text())
    as_of = date.fromisoformat(decl["declared_on"])
    original = RulesEngine(LIBRARY).evaluate(Scheme.GRADING, as_of, decl["data"])
    edition = LIBRARY.rulebook(Scheme.GRADING).edition_named(original.edition)
    snap = snapshot(LIBRARY, Scheme.GRADING, edition, as_of)
    assert snap.version == original.rulebook_version
    stored = json.loads(snap.model_dump_json())  # as the scoring store keeps it
    from services.scoring.editions import Snapshot

    replayed = RulesEngine(Snapshot.model_validate(stored).library()).evaluate(Scheme.GRADING, as_of, decl["data"])
    assert replayed == original
    stored["edition"]["levels"]["thresholds"][0]["min_total"] = 84  # an altered snapshot is refused
    with pytest.raises(ValueError, match="altered"):
        Snapshot.model_validate(stored).library()


def test_publishing_appends_the_edition_and_keeps_the_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    path = rules / "grading" / "rulebook.yaml"
    before = path.read_text(encoding="utf-8")
    draft = parse_draft(grading_draft(x=lambda e: e["levels"]["thresholds"][0].update(min_total=88)), "d.yaml")
    current = LIBRARY.rulebook(Scheme.GRADING)
    edition = publishable(current, draft.edition(), date(2027, 1, 1), date(2026, 6, 1), "GB/T 36132-2025 发布")
    append_edition(path, edition)
    assert path.read_text(encoding="utf-8").startswith(before.rstrip("\n"))
    library = RuleLibrary.load(rules)
    book = library.rulebook(Scheme.GRADING)
    assert book.edition_for(date(2026, 12, 31)).edition == "2024"
    assert book.edition_for(date(2027, 1, 1)) == edition
    result = RulesEngine(library).evaluate(Scheme.GRADING, date(2027, 3, 1), {"intelligent_manufacturing_level": 3})
    assert next(i for i in result.items if i.id == "GR-20").points == Decimal(3)  # numbers stay numbers
    with pytest.raises(PublishRefused, match="already published"):
        publishable(book, edition, date(2028, 1, 1), date(2026, 6, 1), "again")
    with pytest.raises(PublishRefused, match="in the past"):
        publishable(current, draft.edition(), date(2025, 1, 1), date(2026, 6, 1), "backdated")
