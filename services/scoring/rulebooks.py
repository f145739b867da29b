"""The rules a running scoring service holds: loaded from its rules folder, kept by version, published, reloaded."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from contracts.evaluation import Evaluation, EvaluationHead
from contracts.rulebooks import EditionRow
from greenfab.db import Database
from services.scoring import store
from services.scoring.advice_data import AdviceData
from services.scoring.domain.rulebook import Edition, RuleLibrary, UnknownEdition
from services.scoring.editions import (
    Checker,
    Draft,
    EditionDiff,
    PublishRefused,
    append_edition,
    diff,
    publishable,
    refuse,
    snapshot,
)

log = logging.getLogger(__name__)


class Rulebooks:
    """The library, the advisor's data and the checker of one rules folder."""

    def __init__(self, rules_dir: Path) -> None:
        self.rules_dir = rules_dir
        self._kept: set[str] = set()
        self.reload()

    def reload(self) -> None:
        self.library = RuleLibrary.load(self.rules_dir)
        self.advice = AdviceData.load(self.rules_dir, self.library.inputs)
        self.checker = Checker(self.library, self.rules_dir)

    async def keep(self, db: Database, evaluation: Evaluation | EvaluationHead) -> None:
        """Store, once, what the evaluation's rulebook version hashes (replay by version)."""
        if evaluation.rulebook_version in self._kept:
            return
        try:
            edition = self.library.rulebook(evaluation.scheme).edition_named(evaluation.edition)
        except UnknownEdition:
            log.warning("evaluation under unknown edition %s: not kept for replay", evaluation.edition)
            return
        snap = snapshot(self.library, evaluation.scheme, edition, evaluation.as_of)
        if snap.version != evaluation.rulebook_version:
            # The worker scored with rules this process has not loaded (a publication in between).
            log.warning("version %s is not this process's %s: not kept", evaluation.rulebook_version, snap.version)
            return
        await store.keep_snapshot(db, snap)
        self._kept.add(snap.version)

    async def publish(
        self, db: Database, draft: Draft, name: str | None, effective_from: date, who: str, reason: str, today: date
    ) -> tuple[Edition, str, EditionDiff | None]:
        """Check, add to the rulebook file, reload, keep with who and why. PublishRefused names any problem."""
        if draft.rulebook is None:
            raise PublishRefused(draft.problems)
        try:
            edition = draft.edition(name)
        except UnknownEdition as exc:
            raise refuse(name or "-", "edition", f"草案中没有版本 {name}", str(exc)) from None
        problems = self.checker.check(draft, only=edition.edition)
        if problems:
            raise PublishRefused(problems)
        scheme = draft.rulebook.scheme
        current = self.library.rulebook(scheme)
        final = publishable(current, edition, effective_from, today, reason)
        before = current.edition_for(effective_from) if current.editions[0].effective_from <= effective_from else None
        path = self.rules_dir / scheme.value / "rulebook.yaml"
        append_edition(path, final)
        self.reload()
        published = self.library.rulebook(scheme).edition_named(final.edition)
        snap = snapshot(self.library, scheme, published, effective_from)
        await store.keep_snapshot(db, snap, published_by=who, reason=reason)
        self._kept.add(snap.version)
        return published, snap.version, diff(before, published) if before is not None else None

    async def rows(self, db: Database) -> list[EditionRow]:
        published = {(r.scheme, r.edition): r for r in await store.published(db) if r.published_by}
        out = []
        for scheme, book in self.library.rulebooks.items():
            for e in book.editions:
                version = self.library.version(e, self.library.benchmarks_for(e.effective_from))
                row = published.get((scheme.value, e.edition))
                out.append(
                    EditionRow(
                        scheme=scheme,
                        edition=e.edition,
                        effective_from=e.effective_from,
                        items=len(e.items),
                        version=version,
                        published_by=row.published_by if row else None,
                        published_reason=row.published_reason if row else None,
                    )
                )
        return out
