"""Intake reads an evaluation.completed's head and keeps its evaluation as the text scoring sent
(services/intake/handlers.py ``ReceivedEvaluation``): the same value as reading it whole, for every scheme's
example, for a failed scoring, and for a body in another field order; a bad evaluation is refused."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.envelope import Actor
from contracts.messages import EvaluationCompleted
from contracts.schemes import Scheme
from services.intake.handlers import ReceivedEvaluation
from services.scoring.domain.rulebook import RuleLibrary
from services.scoring.engine import RulesEngine
from services.scoring.handlers import Announcement

ROOT = Path(__file__).resolve().parents[2]
ENGINE = RulesEngine(RuleLibrary.load(ROOT / "rules"))


def head(evaluation: Any = None, error: str | None = None) -> EvaluationCompleted:
    return EvaluationCompleted(
        correlation_id="c", actor=Actor(role="system", subject="scoring"), submission_id="d-1",
        scheme=Scheme.GRADING, uscc="91110115MA04C2UX1E", enterprise_name="北京示例新能源科技有限公司",
        district="大兴区", evaluation=evaluation, error=error,
    )  # fmt: skip


@pytest.mark.parametrize("scheme", list(Scheme))
def test_the_kept_text_is_the_evaluation_read_whole(scheme: Scheme) -> None:
    decl = json.loads((ROOT / "examples" / f"{scheme.value}-declaration.json").read_text())
    text = ENGINE.evaluate(scheme, date.fromisoformat(decl["declared_on"]), decl["data"]).model_dump_json()
    body = Announcement(head(), text).body
    received = ReceivedEvaluation.read(body)
    whole = EvaluationCompleted.model_validate_json(body)
    assert received.evaluation_json == text, "stored as sent, not re-encoded"
    assert whole.evaluation is not None
    assert json.loads(received.evaluation_json) == whole.evaluation.model_dump(mode="json")
    assert received.model_dump(exclude={"evaluation"}) == whole.model_dump(exclude={"evaluation"})
    # A body in faststream's own field order (the evaluation in the middle) is read whole: the same value.
    assert (
        ReceivedEvaluation.read(whole.model_dump_json().encode()).evaluation_json
        == ReceivedEvaluation.of(whole).evaluation_json
    )


def test_a_failed_scoring_keeps_no_evaluation() -> None:
    received = ReceivedEvaluation.read(Announcement(head(error="超时"), None).body)
    assert received.evaluation_json == "null" and received.error == "超时"


@pytest.mark.parametrize("bad", ['{"scheme":', "[1,2]", '"text"'])
def test_an_evaluation_that_is_not_a_json_object_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        ReceivedEvaluation.read(Announcement(head(), bad).body)


def test_a_bad_head_is_refused() -> None:
    body = Announcement(head(), "null").body.replace(b'"uscc":"91110115MA04C2UX1E",', b"")
    with pytest.raises(ValidationError):
        ReceivedEvaluation.read(body)
