"""`greenfab advise`, `rules check`, `rules diff` and `registry generate` as a user runs them."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import yaml

from contracts.advice import Advice
from contracts.schemes import Scheme
from greenfab_cli.cli import main
from services.scoring.domain.rulebook import RuleLibrary
from services.scoring.engine import RulesEngine

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "grading-declaration.json"


def run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as done:
        main(argv)
    return int(done.value.code or 0)


def test_advise_on_the_readme_example_shows_a_path_the_engine_confirms(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["advise", str(EXAMPLE)]) == 0
    table = capsys.readouterr().out
    assert "最省力的方案" in table and "引擎复核：达到目标" in table and "003 附表 序号15" in table
    assert run(["advise", str(EXAMPLE), "--format", "json"]) == 0
    advice = Advice.model_validate_json(capsys.readouterr().out)
    assert advice.plan is not None and advice.target is not None
    after = RulesEngine(RuleLibrary.load(ROOT / "rules")).evaluate(
        Scheme.GRADING, date.fromisoformat("2025-10-08"), advice.plan.data_after
    )
    assert after.level == advice.target.level == (advice.level or 0) + 1


def test_advise_refuses_bad_input_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    decl = json.loads(EXAMPLE.read_text())
    decl["data"]["renewable_energy_share"] = 1.5
    bad.write_text(json.dumps(decl))
    assert run(["advise", str(bad)]) == 2
    assert "renewable_energy_share" in capsys.readouterr().err
    assert run(["advise"]) == 2
    assert run(["advise", str(EXAMPLE), "--target", "lots"]) == 2


def test_rules_check_and_diff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["rules", "check"]) == 0
    raw = yaml.safe_load((ROOT / "rules" / "grading" / "rulebook.yaml").read_text(encoding="utf-8"))
    edition = raw["editions"][0]
    edition["edition"] = "2026-draft"
    edition["levels"]["thresholds"][0]["min_total"] = 88
    draft = tmp_path / "draft.yaml"
    draft.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert run(["rules", "check", str(draft)]) == 0
    capsys.readouterr()
    assert run(["rules", "diff", "grading@2024", str(draft)]) == 0
    out = capsys.readouterr().out
    assert "levels.thresholds.level 4" in out and "85" in out and "88" in out
    edition["items"][3]["max"] = 5
    draft.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert run(["rules", "check", str(draft)]) == 1
    err = capsys.readouterr().err
    assert "refused" in err and "items.max" in err
    assert run(["rules", "diff", "grading@1999", str(draft)]) == 2


def test_registry_generate_is_the_same_for_the_same_seed(tmp_path: Path) -> None:
    one, two = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert run(["registry", "generate", "--units", "60", "--seed", "4", "-o", str(one), "--processes", "1"]) == 0
    assert run(["registry", "generate", "--units", "60", "--seed", "4", "-o", str(two), "--processes", "2"]) == 0
    assert one.read_text() == two.read_text()
    units = [json.loads(line) for line in one.read_text().splitlines()]
    assert len(units) == 60 and len({u["uscc"] for u in units}) == 60
