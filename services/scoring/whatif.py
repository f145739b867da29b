"""The policy what-if: every unit's latest declaration rescored under draft editions beside the editions in force.

Each unit is scored twice by the batch scorer (services/scoring/batch.py, held equal to durable_rules
by tests/unit/test_batch.py): under the edition in force on its declaration's date, and under the
draft of its scheme as if that draft were in force then (same benchmarks, same eligibility window).
Items the draft defines identically are not scored twice: their outcome is a function of the
definition and the inputs. Units are spread over worker processes in chunks of JSON lines.

Nothing is written anywhere but the report: no unit, no evaluation, no rulebook.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from contracts.schemes import Scheme
from contracts.whatif import (
    Counts,
    DistrictSummary,
    EditionRef,
    ItemMove,
    Mover,
    SchemeSummary,
    SettingChange,
    WhatIfReport,
)
from services.scoring.batch import BatchScorer, EditionKernel, Score
from services.scoring.domain.rulebook import Edition, RuleLibrary, UnknownEdition
from services.scoring.editions import EditionDiff, diff

CHUNK = 500
HISTOGRAM_STEP = Decimal("2.5")
HISTOGRAM_TOP = Decimal(110)
NO_LEVEL = "无等级"


@dataclass(frozen=True)
class Outcome:
    """One unit, compared: what the main process aggregates (small, so it crosses processes cheaply)."""

    uscc: str
    name: str
    district: str
    scheme: Scheme
    error: str | None
    total_before: Decimal = Decimal(0)
    total_after: Decimal = Decimal(0)
    shown_before: Decimal = Decimal(0)
    shown_after: Decimal = Decimal(0)
    level_before: int | None = None
    level_after: int | None = None
    passed_before: bool | None = None
    passed_after: bool | None = None
    items: tuple[tuple[str, Decimal | None, Decimal | None], ...] = ()


class Rescorer:
    """Per process: the library, the drafts' kernels and, per edition in force, what each draft left the same."""

    def __init__(self, library: RuleLibrary, drafts: dict[Scheme, Edition]) -> None:
        self.library = library
        self.scorer = BatchScorer(library)
        self.drafts = {s: EditionKernel(s, e, library) for s, e in drafts.items()}
        self._diffs: dict[tuple[Scheme, int], EditionDiff] = {}

    def diff_for(self, scheme: Scheme, in_force: Edition) -> EditionDiff:
        key = (scheme, id(in_force))
        if key not in self._diffs:
            self._diffs[key] = diff(in_force, self.drafts[scheme].edition)
        return self._diffs[key]

    def rescore(self, unit: dict[str, Any]) -> Outcome | None:
        """The unit under both editions; None when no draft covers its scheme."""
        try:
            scheme = Scheme(unit["scheme"])
        except (KeyError, ValueError):
            return Outcome(str(unit.get("uscc", "?")), "", "", Scheme.GRADING, "unknown scheme")
        draft = self.drafts.get(scheme)
        if draft is None:
            return None
        uscc, name = str(unit.get("uscc", "")), str(unit.get("enterprise_name", ""))
        district = str(unit.get("district") or "未知")
        data = unit.get("data")
        try:
            as_of = date.fromisoformat(str(unit["declared_on"]))
            now = self.scorer.in_force(scheme, as_of)
        except (KeyError, ValueError, UnknownEdition) as exc:
            return Outcome(uscc, name, district, scheme, f"no edition in force: {exc}")
        if not isinstance(data, dict):
            return Outcome(uscc, name, district, scheme, "data should be an object")
        before = now.score(as_of, data)
        same = self.diff_for(scheme, now.edition).same
        after = draft.score(as_of, data, same_as=before, same=same)
        if before.error or after.error:
            return Outcome(uscc, name, district, scheme, before.error or after.error)
        return Outcome(
            uscc=uscc,
            name=name,
            district=district,
            scheme=scheme,
            error=None,
            total_before=before.total,
            total_after=after.total,
            shown_before=before.shown_total,
            shown_after=after.shown_total,
            level_before=before.level,
            level_after=after.level,
            passed_before=before.passed,
            passed_after=after.passed,
            items=_moved(before, after),
        )


def _moved(before: Score, after: Score) -> tuple[tuple[str, Decimal | None, Decimal | None], ...]:
    ids = list(dict.fromkeys([*before.points, *after.points]))
    return tuple(
        (i, before.points.get(i), after.points.get(i))
        for i in ids
        if before.points.get(i) != after.points.get(i) or before.statuses.get(i) != after.statuses.get(i)
    )


# ----- worker processes ------------------------------------------------------------------------

_worker: Rescorer | None = None


def _init(rules_dir: str, drafts: dict[Scheme, Edition]) -> None:
    global _worker
    from services.scoring.worker import exit_with_parent

    exit_with_parent()
    _worker = Rescorer(RuleLibrary.load(Path(rules_dir)), drafts)


def _chunk(lines: list[str]) -> list[Outcome | None]:
    assert _worker is not None
    return [_worker.rescore(_parse(line)) for line in lines]


def _parse(line: str) -> dict[str, Any]:
    try:
        unit = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"scheme": None, "uscc": "?", "error": str(exc)}
    return unit if isinstance(unit, dict) else {"scheme": None}


def _chunks(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for line in lines:
        if line.strip():
            batch.append(line)
            if len(batch) >= size:
                yield batch
                batch = []
    if batch:
        yield batch


def rescore_all(
    rules_dir: Path,
    drafts: dict[Scheme, Edition],
    lines: Iterable[str],
    processes: int = 1,
    progress: Callable[[int], None] | None = None,
) -> Iterator[Outcome | None]:
    """Every unit (one JSON object per line) compared; chunks go to ``processes`` worker processes."""
    if processes <= 1:
        rescorer = Rescorer(RuleLibrary.load(rules_dir), drafts)
        for batch in _chunks(lines, CHUNK):
            out = [rescorer.rescore(_parse(line)) for line in batch]
            if progress:
                progress(len(out))
            yield from out
        return
    # Editions cross as pickled models: their JSON would read "5" back as a word, not the number 5.
    with ProcessPoolExecutor(
        max_workers=processes,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init,
        initargs=(str(rules_dir), drafts),
    ) as pool:
        pending: set[Future[list[Outcome | None]]] = set()
        for batch in _chunks(lines, CHUNK):
            pending.add(pool.submit(_chunk, batch))
            if len(pending) >= processes * 4:  # bounded: the registry is never all in memory
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    out = future.result()
                    if progress:
                        progress(len(out))
                    yield from out
        for future in pending:
            out = future.result()
            if progress:
                progress(len(out))
            yield from out


# ----- the report ------------------------------------------------------------------------------


@dataclass
class _Tally:
    counts: dict[tuple[Scheme, str | None], Counts] = field(default_factory=dict)
    matrix: dict[Scheme, dict[str, dict[str, int]]] = field(default_factory=dict)
    before: dict[Scheme, list[int]] = field(default_factory=dict)
    after: dict[Scheme, list[int]] = field(default_factory=dict)
    movers: list[Mover] = field(default_factory=list)
    movers_count: int = 0
    units: int = 0
    other: int = 0


def _bin(total: Decimal) -> int:
    bins = int(HISTOGRAM_TOP / HISTOGRAM_STEP)
    return max(0, min(bins - 1, int(total // HISTOGRAM_STEP)))


def _count(c: Counts, o: Outcome) -> None:
    c.units += 1
    if o.error:
        c.refused += 1
        return
    if o.level_before != o.level_after:
        if (o.level_after or 0) > (o.level_before or 0):
            c.level_up += 1
        else:
            c.level_down += 1
    if o.passed_before is True and o.passed_after is not True:
        c.passed_to_failed += 1
    if o.passed_before is not True and o.passed_after is True:
        c.failed_to_passed += 1
    if o.total_after > o.total_before:
        c.total_up += 1
    elif o.total_after < o.total_before:
        c.total_down += 1
    elif o.level_before == o.level_after and o.passed_before == o.passed_after:
        c.unchanged += 1


def build_report(
    outcomes: Iterable[Outcome | None],
    drafts: dict[Scheme, Edition],
    library: RuleLibrary,
    started: float,
    limit: int | None = None,
) -> WhatIfReport:
    """Aggregate the outcomes: counts by scheme and district, the level matrix, histograms, the movers."""
    tally = _Tally()
    in_force_seen: dict[tuple[Scheme, str], Edition] = {}
    settings = _settings(library, drafts)
    bins = int(HISTOGRAM_TOP / HISTOGRAM_STEP)
    for o in outcomes:
        tally.units += 1
        if o is None:
            tally.other += 1
            continue
        for key in ((o.scheme, None), (o.scheme, o.district)):
            _count(tally.counts.setdefault(key, Counts()), o)
        if o.error:
            continue
        tally.before.setdefault(o.scheme, [0] * bins)[_bin(o.shown_before)] += 1
        tally.after.setdefault(o.scheme, [0] * bins)[_bin(o.shown_after)] += 1
        if drafts[o.scheme].levels is not None:
            row = tally.matrix.setdefault(o.scheme, {}).setdefault(_level(o.level_before), {})
            row[_level(o.level_after)] = row.get(_level(o.level_after), 0) + 1
        if o.level_before != o.level_after or o.passed_before != o.passed_after:
            tally.movers_count += 1
            if limit is None or len(tally.movers) < limit:
                tally.movers.append(_mover(o, settings.get(o.scheme, [])))
    for scheme in drafts:
        book = library.rulebook(scheme)
        for e in book.editions:
            in_force_seen[(scheme, e.edition)] = e
    elapsed = time.perf_counter() - started
    rescored = tally.units - tally.other
    return WhatIfReport(
        drafts=[_ref(library, s, e) for s, e in drafts.items()],
        in_force=[_ref(library, s, e) for (s, _), e in in_force_seen.items()],
        settings=[c for changes in settings.values() for c in changes],
        items_changed=_items_changed(library, drafts),
        units=tally.units,
        other_schemes=tally.other,
        by_scheme=[
            SchemeSummary(
                scheme=s,
                **c.model_dump(),
                level_matrix=tally.matrix.get(s, {}),
                histogram_edges=[HISTOGRAM_STEP * i for i in range(bins + 1)],
                histogram_before=tally.before.get(s, [0] * bins),
                histogram_after=tally.after.get(s, [0] * bins),
            )
            for (s, d), c in sorted(tally.counts.items(), key=lambda kv: kv[0][0].value)
            if d is None
        ],
        by_district=[
            DistrictSummary(scheme=s, district=d, **c.model_dump())
            for (s, d), c in sorted(tally.counts.items(), key=lambda kv: (kv[0][0].value, kv[0][1] or ""))
            if d is not None
        ],
        movers=tally.movers,
        movers_count=tally.movers_count,
        elapsed_s=round(elapsed, 3),
        units_per_s=round(rescored / elapsed, 1) if elapsed > 0 else 0.0,
    )


def _level(level: int | None) -> str:
    return NO_LEVEL if level is None else str(level)


def _mover(o: Outcome, settings: list[SettingChange]) -> Mover:
    return Mover(
        uscc=o.uscc,
        enterprise_name=o.name,
        district=o.district,
        scheme=o.scheme,
        total_before=o.shown_before,
        total_after=o.shown_after,
        level_before=o.level_before,
        level_after=o.level_after,
        passed_before=o.passed_before,
        passed_after=o.passed_after,
        items=[ItemMove(id=i, before=_round(b), after=_round(a)) for i, b, a in o.items],
        settings=[f"{c.path}: {c.before} → {c.after}" for c in settings],
    )


def _round(x: Decimal | None) -> Decimal | None:
    from services.scoring.domain.assemble import round_points

    return None if x is None else round_points(x)


def _ref(library: RuleLibrary, scheme: Scheme, edition: Edition) -> EditionRef:
    benchmarks = library.benchmarks_for(date.today())
    return EditionRef(
        scheme=scheme,
        edition=edition.edition,
        effective_from=edition.effective_from,
        version=library.version(edition, benchmarks),
    )


def _settings(library: RuleLibrary, drafts: dict[Scheme, Edition]) -> dict[Scheme, list[SettingChange]]:
    """The drafts' setting changes against the edition in force today."""
    out: dict[Scheme, list[SettingChange]] = {}
    for scheme, draft in drafts.items():
        current = _current(library, scheme)
        if current is None:
            continue
        changes = [c for c in diff(current, draft).changed if not c.item]
        out[scheme] = [SettingChange(path=c.path, before=str(c.before), after=str(c.after)) for c in changes]
    return out


def _items_changed(library: RuleLibrary, drafts: dict[Scheme, Edition]) -> list[str]:
    out = []
    for scheme, draft in drafts.items():
        current = _current(library, scheme)
        if current is None:
            continue
        d = diff(current, draft)
        out += [f"+{i.id}" for i in d.added] + [f"-{i.id}" for i in d.removed]
        out += sorted({c.item for c in d.changed if c.item})
    return out


def _current(library: RuleLibrary, scheme: Scheme) -> Edition | None:
    try:
        return library.rulebook(scheme).edition_for(date.today())
    except UnknownEdition:
        return None


def report_job(rules_dir: str, drafts: dict[Scheme, Edition], lines: list[str], limit: int) -> dict[str, Any]:
    """A whole what-if in one process (the scoring API runs it away from its event loop): the report as JSON."""
    started = time.perf_counter()
    library = RuleLibrary.load(Path(rules_dir))
    outcomes = rescore_all(Path(rules_dir), drafts, lines, processes=1)
    return build_report(outcomes, drafts, library, started, limit).model_dump(mode="json")


class WhatIfRunner:
    """Runs what-ifs in a process of its own, one at a time, so the service's event loop never waits on one."""

    def __init__(self, rules_dir: Path) -> None:
        self.rules_dir = rules_dir
        self._pool: ProcessPoolExecutor | None = None
        self.lock = asyncio.Lock()

    async def run(self, drafts: dict[Scheme, Edition], lines: list[str], limit: int) -> WhatIfReport:
        if self._pool is None:
            from services.scoring.worker import exit_with_parent

            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(1, mp_context=context, initializer=exit_with_parent)
        loop = asyncio.get_running_loop()
        raw = await loop.run_in_executor(self._pool, report_job, str(self.rules_dir), drafts, lines, limit)
        return WhatIfReport.model_validate(raw)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
