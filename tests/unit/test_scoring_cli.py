"""`greenfab score` and `greenfab rules` on the example files and on bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from services.scoring import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*-declaration.json"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_scores(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scheme = json.loads(path.read_text())["scheme"]
    assert cli.cmd_score(scheme, None, path, "json", "durable", None) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["scheme"] == scheme and result["items"]
    assert cli.cmd_score(scheme, None, path, "table", "reference", None) == 0
    assert "总分" in capsys.readouterr().out


def test_the_examples_totals() -> None:
    totals = {}
    for path in EXAMPLES:
        scheme = json.loads(path.read_text())["scheme"]
        from datetime import date

        from contracts.schemes import Scheme
        from services.scoring.domain.rulebook import RuleLibrary
        from services.scoring.engine import RulesEngine

        decl = json.loads(path.read_text())
        result = RulesEngine(RuleLibrary.load(ROOT / "rules")).evaluate(
            Scheme(scheme), date.fromisoformat(decl["declared_on"]), decl["data"]
        )
        totals[scheme] = (str(result.total), result.level, result.passed, result.provisional)
    assert totals == {
        "grading": ("81.11", 3, None, False),
        "green-factory": ("91.76", None, True, False),
        "beautiful-factory": ("69.25", None, None, True),
    }


def test_the_readme_documents_what_the_examples_score() -> None:
    from datetime import date

    from contracts.schemes import Scheme
    from services.scoring.domain.rulebook import RuleLibrary
    from services.scoring.engine import RulesEngine

    engine = RulesEngine(RuleLibrary.load(ROOT / "rules"))
    rows = re.findall(
        r"^\| `examples/(\S+)-declaration\.json` \| (\S+) \| (\S+) \|", (ROOT / "README.md").read_text(), re.M
    )
    assert len(rows) == 4
    for scheme, on, total in rows:
        decl = json.loads((ROOT / "examples" / f"{scheme}-declaration.json").read_text())
        result = engine.evaluate(Scheme(scheme), date.fromisoformat(on), decl["data"])
        assert str(result.total) == total, (scheme, on)


def test_errors_name_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = ROOT / "examples" / "grading-declaration.json"
    assert cli.cmd_score("gradin", None, good, "json", "durable", None) == 2
    assert "unknown scheme 'gradin'" in capsys.readouterr().err
    assert cli.cmd_score("green-factory", None, good, "json", "durable", None) == 2
    assert "is a grading declaration" in capsys.readouterr().err
    assert cli.cmd_score("grading", "2020-01-01", good, "json", "durable", None) == 2
    assert "no grading edition is in force on 2020-01-01" in capsys.readouterr().err
    assert cli.cmd_score("grading", "yesterday", good, "json", "durable", None) == 2
    assert "is not a date" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"plot_ratio": -1, "plot_ratio_requirement": 1}))
    assert cli.cmd_score("grading", "2025-10-08", bad, "json", "durable", None) == 2
    assert "input plot_ratio: cannot be negative" in capsys.readouterr().err
    bad.write_text(json.dumps({"renewable_energy_share": 8.5}))
    assert cli.cmd_score("grading", "2025-10-08", bad, "json", "durable", None) == 2
    assert "input renewable_energy_share: 8.5 is above the limit 1 share" in capsys.readouterr().err
    bad.write_text(json.dumps({"ems_certified": "maybe"}))
    assert cli.cmd_score("beautiful-factory", "2025-10-08", bad, "json", "durable", None) == 2
    assert "input ems_certified: should be yes or no" in capsys.readouterr().err
    bad.write_text(json.dumps({"smart_factory": "platinum"}))
    assert cli.cmd_score("beautiful-factory", "2025-10-08", bad, "json", "durable", None) == 2
    assert "input smart_factory: should be one of" in capsys.readouterr().err
    bad.write_text("{not json")
    assert cli.cmd_score("grading", None, bad, "json", "durable", None) == 2
    assert "cannot read" in capsys.readouterr().err


def test_a_declaration_file_is_checked_as_intake_checks_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = json.loads((ROOT / "examples" / "grading-declaration.json").read_text())
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**example, "uscc": "aaaaaaaaaaaaaaaaaa", "district": "浦东"}))
    assert cli.cmd_score("grading", None, bad, "json", "durable", None) == 2
    err = capsys.readouterr().err
    assert "$.uscc (uscc_invalid)" in err and "GB 32100" in err and "$.district (district_unknown)" in err
    bad.write_text(json.dumps(example).replace('"plot_ratio": 1.35', '"plot_ratio": NaN'))
    assert '"plot_ratio": NaN' in bad.read_text()
    assert cli.cmd_score("grading", None, bad, "json", "durable", None) == 2
    assert "$.data.plot_ratio: NaN is not a finite number" in capsys.readouterr().err


def test_rules_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.cmd_rules_list(None) == 0
    listed = capsys.readouterr().out
    assert "beautiful-factory" in listed and "2025-01-01" in listed and "sha256:" in listed
    assert cli.cmd_rules_show("beautiful-factory@2024", None) == 0
    shown = capsys.readouterr().out
    assert "BF-22" in shown and "S1:" in shown
    assert cli.cmd_rules_show("beautiful-factory@1999", None) == 2
    assert cli.cmd_rules_test(None) == 0
    assert "0 failed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("scheme", "on"),
    [("grading", "2025-10-08"), ("green-factory", "2019-06-01"), ("green-factory", "2025-10-08"),
     ("beautiful-factory", "2024-10-08"), ("beautiful-factory", "2025-10-08")],
)  # fmt: skip
def test_the_version_an_evaluation_records_is_the_one_rules_list_and_show_print(
    scheme: str, on: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = ROOT / "examples" / f"{scheme}-declaration.json"
    assert cli.cmd_score(scheme, on, path, "json", "durable", None) == 0
    result = json.loads(capsys.readouterr().out)
    version = result["rulebook_version"]
    # It names the rulebook edition and the benchmark edition, then the content hash of everything used.
    assert version.startswith(f"{result['edition']}+") and "@sha256:" in version
    assert cli.cmd_rules_list(None) == 0
    assert version in capsys.readouterr().out
    assert cli.cmd_rules_show(version, None) == 0
    shown = capsys.readouterr().out
    assert f"version {version}" in shown and result["edition"] in shown.splitlines()[0]
    assert cli.cmd_rules_show(version.replace("sha256:", "sha256:0"), None) == 2


def test_template_writes_a_workbook(tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "form.xlsx"
    done = subprocess.run(
        [sys.executable, "-m", "greenfab_cli", "template", "grading", "-o", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:2] == b"PK"
    bad = subprocess.run([sys.executable, "-m", "greenfab_cli", "template", "gradin"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown scheme" in bad.stderr
