"""The batch scorer against the durable_rules engine: same totals, levels, pass, vetoes and item points.

The batch scorer is the what-if's fast path (services/scoring/batch.py); this differential test is
what keeps it honest. It runs the differential test's generated declarations (every boundary,
booleans, choices, boxes, events, missing and bad inputs) through both.
"""

from __future__ import annotations

import os

import pytest

from contracts.evaluation import Evaluation
from contracts.schemes import Scheme
from services.scoring.batch import BatchScorer, Score
from services.scoring.domain.assemble import round_points
from services.scoring.domain.facts import InputError
from tests.unit.test_differential import ENGINE, LIBRARY, declaration

EXAMPLES = int(os.environ.get("GREENFAB_BATCH_EXAMPLES", "1500"))
SCORER = BatchScorer(LIBRARY)


def _shown(score: Score) -> tuple[object, ...]:
    return (
        score.shown_total,
        score.level,
        score.passed,
        score.provisional,
        sorted(score.vetoes),
        sorted(score.failing_basic),
        {k: None if v is None else round_points(v) for k, v in score.points.items()},
        dict(score.statuses),
    )


def _engine(result: Evaluation) -> tuple[object, ...]:
    return (
        result.total,
        result.level,
        result.passed,
        result.provisional,
        sorted(v.code for v in result.vetoes),
        sorted(result.failing_basic),
        {i.id: i.points for i in result.items},
        {i.id: i.status for i in result.items},
    )


@pytest.mark.parametrize("scheme", list(Scheme))
def test_batch_scorer_agrees_with_the_engine(scheme: Scheme) -> None:
    scored = refused = 0
    for seed in range(EXAMPLES):
        as_of, data = declaration(scheme, seed)
        ours = SCORER.score(scheme, as_of, data)
        try:
            theirs = ENGINE.evaluate(scheme, as_of, data)
        except InputError as exc:
            assert ours.error is not None and exc.field in ours.error, (seed, ours.error, exc)
            refused += 1
            continue
        assert _shown(ours) == _engine(theirs), seed
        scored += 1
    assert scored > EXAMPLES // 2 and refused > 0  # both paths were exercised


@pytest.mark.parametrize("scheme", list(Scheme))
def test_reusing_identical_items_changes_nothing(scheme: Scheme) -> None:
    """An item defined identically in two editions scores identically: the what-if's shortcut is exact."""
    edition = LIBRARY.rulebook(scheme).editions[-1]
    kernel = SCORER.kernel(scheme, edition)
    same = frozenset(i.id for i in edition.items)
    for seed in range(200):
        as_of, data = declaration(scheme, seed)
        full = kernel.score(as_of, data)
        again = kernel.score(as_of, data, same_as=full, same=same)
        assert again == full
