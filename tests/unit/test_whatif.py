"""The policy what-if on a generated registry: raising level 4 from 85 to 88 moves exactly the units in [85, 88)."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.schemes import Scheme
from greenfab_cli.cli import main
from services.scoring.batch import BatchScorer, pinned_library
from services.scoring.domain.rulebook import RuleLibrary
from services.scoring.editions import load_draft
from services.scoring.engine import RulesEngine
from services.scoring.synthetic import Generator
from services.scoring.whatif import build_report, rescore_all

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
LIBRARY = RuleLibrary.load(RULES)
UNITS = 2500


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("registry") / "units.jsonl"
    path.write_text("".join(Generator(LIBRARY, seed=11).lines(UNITS)), encoding="utf-8")
    return path


def draft_file(folder: Path, threshold: int = 88, broken: bool = False) -> Path:
    raw = yaml.safe_load((RULES / "grading" / "rulebook.yaml").read_text(encoding="utf-8"))
    edition = raw["editions"][0]
    edition.update(edition="2026-draft", effective_from=date(2026, 1, 1))
    edition["levels"]["thresholds"][0]["min_total"] = threshold
    if broken:
        edition["items"][14]["inputs"] = ["renewable_share"]
    path = folder / ("broken.yaml" if broken else f"draft-{threshold}.yaml")
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def units(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_registry_sits_on_every_boundary(registry: Path) -> None:
    scorer = BatchScorer(LIBRARY)
    totals = []
    for unit in units(registry):
        if unit["scheme"] == "grading":
            score = scorer.score(Scheme.GRADING, date.fromisoformat(unit["declared_on"]), unit["data"])
            if score.error is None and score.exact:
                totals.append(score.total)
    for bar in (Decimal(55), Decimal(70), Decimal(85)):
        assert any(t == bar for t in totals) or any(bar - Decimal("1e-6") < t < bar for t in totals), bar
        assert any(bar <= t < bar + Decimal("1e-6") for t in totals), bar
    districts = {u["district"] for u in units(registry)}
    assert len(districts) >= 12 and {u["scheme"] for u in units(registry)} == {s.value for s in Scheme}


def test_raising_level_4_to_88_moves_exactly_the_units_from_85_to_88(registry: Path, tmp_path: Path) -> None:
    draft = load_draft(draft_file(tmp_path)).edition()
    drafts = {Scheme.GRADING: draft}
    started = time.perf_counter()
    outcomes = list(rescore_all(RULES, drafts, registry.read_text(encoding="utf-8").splitlines(), processes=1))
    report = build_report(outcomes, drafts, LIBRARY, started)
    grading = [o for o in outcomes if o is not None and o.error is None]
    assert len(grading) > UNITS // 2
    movers = {o.uscc for o in grading if o.level_before != o.level_after}
    in_range = {o.uscc for o in grading if o.level_before == 4 and o.total_before < 88}
    assert movers == in_range and len(movers) >= 20
    assert all(o.level_before == 4 and o.level_after == 3 for o in grading if o.uscc in movers)
    summary = next(s for s in report.by_scheme if s.scheme == Scheme.GRADING)
    assert summary.level_down == len(movers) and summary.level_up == 0 and summary.total_up == summary.total_down == 0
    assert summary.level_matrix["4"]["3"] == len(movers)
    assert report.movers_count == len(movers) and all(m.settings for m in report.movers)
    assert not any(m.items for m in report.movers)  # no item moved: the threshold did
    assert sum(d.level_down for d in report.by_district if d.scheme == Scheme.GRADING) == len(movers)
    assert report.other_schemes == sum(1 for o in outcomes if o is None)

    # The real engine agrees, unit by unit: level 4 in force and 3 under the draft, exactly for the movers.
    engine_now, engine_draft = RulesEngine(LIBRARY), RulesEngine(pinned_library(LIBRARY, Scheme.GRADING, draft))
    exact_88 = 0
    for unit in units(registry):
        if unit["scheme"] != "grading" or unit["data"].get("events"):
            continue
        as_of = date.fromisoformat(unit["declared_on"])
        try:
            now = engine_now.evaluate(Scheme.GRADING, as_of, unit["data"])
        except ValueError:
            continue
        if now.level != 4:
            assert unit["uscc"] not in movers
            continue
        later = engine_draft.evaluate(Scheme.GRADING, as_of, unit["data"])
        assert (later.level == 3) == (unit["uscc"] in movers), unit["uscc"]
        assert Decimal(85) <= now.total <= Decimal(88) if unit["uscc"] in movers else now.total >= Decimal(88)
        exact_88 += now.total == Decimal(88) and later.level == 4
    assert exact_88 >= 1  # a unit exactly on the new threshold stays at level 4


def test_the_cli_writes_the_report_and_refuses_a_broken_draft(
    registry: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    with pytest.raises(SystemExit) as done:
        main(["whatif", "--rulebook", str(draft_file(tmp_path)), "--registry", str(registry), "--out", str(out),
              "--processes", "2"])  # fmt: skip
    assert done.value.code == 0
    printed = capsys.readouterr().out
    assert "Nothing was published" in printed
    report = json.loads((out / "whatif.json").read_text(encoding="utf-8"))
    rows = list(csv.reader(io.StringIO((out / "whatif-units.csv").read_text(encoding="utf-8-sig"))))
    assert len(rows) - 1 == report["movers_count"] > 0
    assert (out / "histogram-grading.svg").read_text().startswith("<svg") and "<rect" in (
        out / "levels-grading.svg"
    ).read_text()
    html = (out / "whatif.html").read_text(encoding="utf-8")
    assert "等级变化" in html and "levels.thresholds.level 4" in html and "<script" not in html

    broken = tmp_path / "refused"
    with pytest.raises(SystemExit) as done:
        main(["whatif", "--rulebook", str(draft_file(tmp_path, broken=True)), "--registry", str(registry),
              "--out", str(broken)])  # fmt: skip
    assert done.value.code == 2 and not broken.exists()
    assert "GR-15" in capsys.readouterr().err
