"""Which indicators a declaration's evidence may be filed under: the form's 证明材料 list, else its rulebook's items.

The 2025 beautiful-factory form says, indicator by indicator, what evidence it wants (forms/*.yaml
`evidence`); the green-factory and grading forms say nothing, so without this any code at all (`ZZ-99`,
a grading item on a green-factory declaration) was filed and reported "ok". For those schemes an
upload is accepted for an item of the scheme's rulebook edition in force on the declaration's date
(`rules/<scheme>/rulebook.yaml`: the newest edition whose effective_from is on or before declared_on,
as scoring picks it). The rulebook is read here as data, ids and names only: intake never imports the
scoring service. It is re-read when the file changes, so an edition the bureau publishes counts without
a restart.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from contracts.schemes import Scheme
from greenfab.paths import RULES


@dataclass(frozen=True)
class Indicator:
    """One indicator evidence may be filed under: its id and its Chinese name."""

    id: str
    name_zh: str


@dataclass(frozen=True)
class _Edition:
    effective_from: date
    items: tuple[Indicator, ...]


class Indicators:
    """The rulebooks of one rules folder, read for their items' ids and names (cached by file mtime)."""

    def __init__(self, rules_dir: Path = RULES) -> None:
        self.rules_dir = rules_dir
        self._cache: dict[Scheme, tuple[int, tuple[_Edition, ...]]] = {}
        self._lock = threading.Lock()

    def _editions(self, scheme: Scheme) -> tuple[_Edition, ...]:
        path = self.rules_dir / scheme.value / "rulebook.yaml"
        try:
            stamp = path.stat().st_mtime_ns
        except FileNotFoundError:
            return ()
        with self._lock:
            cached = self._cache.get(scheme)
            if cached is not None and cached[0] == stamp:
                return cached[1]
        raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        editions = tuple(
            _Edition(
                date.fromisoformat(str(e["effective_from"])),
                tuple(Indicator(str(i["id"]), str(i.get("name_zh", ""))) for i in e.get("items") or []),
            )
            for e in raw.get("editions") or []
        )
        with self._lock:
            self._cache[scheme] = (stamp, editions)
        return editions

    def of_rulebook(self, scheme: Scheme, declared_on: date) -> tuple[Indicator, ...]:
        """The items of the edition in force on ``declared_on`` (the first edition for a date before any)."""
        editions = self._editions(scheme)
        if not editions:
            return ()
        in_force = [e for e in editions if e.effective_from <= declared_on]
        # Before the first edition scoring has nothing to score with; evidence still goes by the first one.
        chosen = max(in_force, key=_start) if in_force else min(editions, key=_start)
        return chosen.items

    def uploadable(
        self, scheme: Scheme, declared_on: date, asked: Mapping[str, Mapping[str, Any]]
    ) -> tuple[Indicator, ...]:
        """What evidence may be filed under: the form's evidence list where it has one, else the rulebook's items.

        A form's indicator takes its name from the rulebook (the form's column says what to send, not
        what the indicator is), falling back to what the form asks for.
        """
        items = self.of_rulebook(scheme, declared_on)
        if not asked:
            return items
        names = {i.id: i.name_zh for i in items}
        return tuple(Indicator(code, names.get(code) or str(spec.get("what", ""))) for code, spec in asked.items())


def _start(edition: _Edition) -> date:
    return edition.effective_from
