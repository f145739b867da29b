"""Command-line tables (rich): nothing is cut, wide characters line up, brackets are text."""

from __future__ import annotations

import json
import re
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

import pytest
from rich.cells import cell_len

from contracts.evaluation import Evaluation
from greenfab.terminal import table
from services.scoring import cli

ROOT = Path(__file__).resolve().parents[2]


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_a_long_cell_wraps_in_its_column_and_loses_nothing() -> None:
    long = "容积率为行业要求值的 1.35 倍：不高于要求值得 0 分，达到 2 倍及以上得满分，其间按比例（D-LIN）" * 3
    out = table([["GR-1", long]], ["编号", "说明"], width=60)
    assert max(len(line) for line in out.splitlines()) <= 60
    assert squeeze(long) in squeeze(out.replace("GR-1", ""))


def test_wide_characters_line_up_and_brackets_are_not_markup() -> None:
    out = table([["工厂容积率", "[bold]x[/bold] [1]"], ["ab", "y"]], ["指标", "说明"], width=80).splitlines()
    second_column = {cell_len(line) - cell_len(line.split()[-1]) for line in (out[0], out[3])}
    second_column.add(cell_len(out[2]) - cell_len("[bold]x[/bold] [1]"))
    assert len(second_column) == 1, out  # 工厂容积率 is ten cells wide, not five
    assert out[2].endswith("[bold]x[/bold] [1]")


@pytest.mark.parametrize("name", ["grading", "green-factory", "beautiful-factory"])
def test_the_score_table_shows_every_explanation_whole(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = ROOT / "examples" / f"{name}-declaration.json"
    monkeypatch.setenv("COLUMNS", "400")  # wide enough that no explanation wraps
    buffer = StringIO()
    with redirect_stdout(buffer):
        assert cli.cmd_score(name, None, path, "json", "reference", None) == 0
    result = Evaluation.model_validate(json.loads(buffer.getvalue()))
    rendered = cli.render(result)
    for item in result.items:
        assert item.explanation in rendered, item.id
