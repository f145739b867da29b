"""The durable_rules engine: each rulebook edition compiled into a ruleset, driven from one thread.

Used the safe way (STACK_NOTES.md): timer threads off, one ``assert_facts`` batch per evaluation
with unique fact ids, a fresh sid, ``delete_state`` afterwards, rules over single facts only, and
a catch-all rule so no fact goes unhandled. Runs inside a worker process (worker.py), so a crash
of its C core cannot take the service down.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any

from durable.engine import Host

from contracts.evaluation import Evaluation
from contracts.schemes import Scheme
from services.scoring.domain.assemble import assemble
from services.scoring.domain.facts import ItemFact, build_facts
from services.scoring.domain.methods import Outcome
from services.scoring.domain.reference import score_fact
from services.scoring.domain.rulebook import (
    Benchmarks,
    Edition,
    RuleLibrary,
    content_hash,
)


class _QuietHost(Host):  # type: ignore[misc]
    """A Host without its background timer threads: actions run in the caller's thread."""

    def __init__(self, engine: RulesEngine) -> None:
        self._engine = engine
        super().__init__()

    def _run(self) -> None:
        return None

    def get_action(self, action_name: str) -> Any:
        return self._engine.action(action_name)


def compile_edition(scheme: Scheme, edition: Edition) -> dict[str, Any]:
    """The ruleset of one edition: a rule per item matching only that item's fact, plus catch-alls."""
    rules: dict[str, Any] = {}
    for item in edition.items:
        rules[f"score_{item.id}"] = {
            "all": [{"m": {"$and": [{"item": item.id}, {"kind": "score"}]}}],
            "run": f"score:{item.id}",
        }
    rules["missing_input"] = {"all": [{"m": {"kind": "missing"}}], "run": "missing"}
    # `$ex` on the reserved `id` field makes the C core loop forever; test a field of our own.
    rules["catch_all"] = {"all": [{"m": {"$ex": {"item": 1}}}], "run": "seen"}
    return rules


class _Run:
    """The state of the one evaluation in progress."""

    def __init__(self, facts: dict[str, ItemFact], benchmarks: Benchmarks, industry: str | None) -> None:
        self.facts = facts
        self.benchmarks = benchmarks
        self.industry = industry
        self.outcomes: dict[str, Outcome] = {}
        self.seen: set[str] = set()
        self.error: BaseException | None = None


class EngineError(RuntimeError):
    """The engine failed to evaluate (an action raised, or a fact matched no rule)."""


class RulesEngine:
    """Compiles editions on first use and evaluates declarations; single-threaded by design."""

    def __init__(self, library: RuleLibrary) -> None:
        self.library = library
        self.host = _QuietHost(self)
        self._rulesets: dict[tuple[Scheme, str], str] = {}
        self._run: _Run | None = None

    @classmethod
    def from_dir(cls, rules_dir: Path) -> RulesEngine:
        return cls(RuleLibrary.load(rules_dir))

    def _ruleset_name(self, scheme: Scheme, edition: Edition) -> str:
        key = (scheme, edition.edition)
        if key not in self._rulesets:
            definition = compile_edition(scheme, edition)
            name = f"{scheme.value}_{edition.edition}_{content_hash(definition)[7:15]}".replace("-", "_")
            self.host.set_rulesets({name: definition})
            self._rulesets[key] = name
        return self._rulesets[key]

    def action(self, name: str) -> Any:
        kind, _, item_id = name.partition(":")

        def act(c: Any) -> None:
            run = self._run
            assert run is not None
            fact_id = c.m["id"]
            try:
                if kind == "seen":
                    run.seen.add(fact_id)
                elif kind == "score":
                    fact = run.facts[fact_id]
                    if fact.item.id != item_id:
                        raise EngineError(f"rule for {item_id} matched the fact of {fact.item.id}")
                    run.outcomes[item_id] = score_fact(fact, run.benchmarks, run.industry)
            except BaseException as exc:  # noqa: BLE001 - durable_rules would swallow it
                run.error = exc

        return act

    def evaluate(self, scheme: Scheme, as_of: date, data: dict[str, Any]) -> Evaluation:
        edition = self.library.rulebook(scheme).edition_for(as_of)
        benchmarks = self.library.benchmarks_for(as_of)
        item_facts = build_facts(edition, data)
        ruleset = self._ruleset_name(scheme, edition)
        sid = uuid.uuid4().hex
        by_id = {f"{sid}:{f.item.id}": f for f in item_facts}
        payload = [
            {"id": fid, "sid": sid, "item": f.item.id, "kind": f.kind, "value": str(f.value)}
            for fid, f in by_id.items()
        ]
        self._run = run = _Run(by_id, benchmarks, data.get("industry_code"))
        try:
            self.host.assert_facts(ruleset, payload)
        finally:
            self._run = None
            self.host.delete_state(ruleset, sid)
        if run.error is not None:
            raise EngineError(f"rule action failed: {run.error}") from run.error
        unhandled = set(by_id) - run.seen
        if unhandled:
            raise EngineError(f"facts matched no rule: {sorted(unhandled)}")
        version = content_hash(edition.model_dump(mode="json"), benchmarks.model_dump(mode="json"))
        return assemble(scheme, edition, version, as_of, item_facts, run.outcomes)
