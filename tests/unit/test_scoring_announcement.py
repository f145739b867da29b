"""The scoring service forwards the worker's JSON unread: what it stores and publishes must be what reading it
would have given (handlers.head_of, handlers.Announcement, greenfab.db.JSONText)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from contracts.envelope import Actor
from contracts.evaluation import Evaluation, EvaluationHead
from contracts.messages import EvaluationCompleted
from contracts.schemes import Scheme
from greenfab.db import JSONText, compact_json
from services.scoring.engine import RulesEngine
from services.scoring.handlers import Announcement, head_of

ROOT = Path(__file__).resolve().parents[2]
ENGINE = RulesEngine.from_dir(ROOT / "rules")


def inputs(scheme: Scheme, n: int) -> tuple[date, dict[str, Any]]:
    """The scheme's example declaration, its numbers moved by ``n`` per cent (the first is never 0 or a ratio)."""
    example = json.loads((ROOT / "examples" / f"{scheme.value}-declaration.json").read_text(encoding="utf-8"))
    data = dict(example["data"])
    first = next(k for k, v in data.items() if isinstance(v, int | float) and not isinstance(v, bool) and v > 1)
    data[first] = data[first] * (1 + n / 100)
    return date.fromisoformat(example["declared_on"]), data


def completed(evaluation: Evaluation | None, error: str | None = None) -> EvaluationCompleted:
    return EvaluationCompleted(
        id="evaluation-s1", correlation_id="c1", actor=Actor(role="system", subject="scoring"), submission_id="s1",
        scheme=Scheme.GRADING, uscc="91110000000000000X", enterprise_name="示例\"公司\"", district="大兴区",
        evaluation=evaluation, error=error,
    )  # fmt: skip


@pytest.mark.parametrize("scheme", list(Scheme))
def test_the_head_read_before_the_items_is_the_head_of_the_whole(scheme: Scheme) -> None:
    for n in range(5):
        text = ENGINE.evaluate(scheme, *inputs(scheme, n)).model_dump_json()
        assert head_of(text) == EvaluationHead.model_validate_json(text)


def test_a_head_with_no_items_after_it_is_read_whole() -> None:
    text = '{"scheme":"grading","edition":"a,\\"items\\":","rulebook_version":"v","as_of":"2025-10-08"}'
    assert head_of(text).edition == 'a,"items":'


@pytest.mark.parametrize("scheme", list(Scheme))
def test_the_announcement_is_the_message_built_from_the_evaluation(scheme: Scheme) -> None:
    evaluation = ENGINE.evaluate(scheme, *inputs(scheme, 1))
    head = completed(None)
    sent = Announcement(head, evaluation.model_dump_json())
    expected = completed(evaluation)
    expected.occurred_at = head.occurred_at
    assert json.loads(sent.body) == json.loads(expected.model_dump_json())
    assert sent.message == expected and sent.evaluation == evaluation
    assert (sent.id, sent.correlation_id) == (expected.id, expected.correlation_id)


def test_a_failed_announcement_carries_no_evaluation_and_the_error() -> None:
    sent = Announcement(completed(None, "评价失败"), None)
    assert json.loads(sent.body)["evaluation"] is None and sent.message.error == "评价失败"


def test_json_text_goes_into_a_json_column_as_it_is() -> None:
    text = ENGINE.evaluate(Scheme.GRADING, *inputs(Scheme.GRADING, 2)).model_dump_json()
    assert compact_json(JSONText(text)) == text
    assert json.loads(compact_json(JSONText(text))) == json.loads(compact_json(json.loads(text)))
