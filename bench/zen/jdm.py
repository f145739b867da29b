"""The beautiful-factory rulebook as a GoRules zen-engine decision graph (JDM), for issue 14 item 3's comparison.

    .venv/bin/python bench/zen/jdm.py [--edition 2025] [--check]

Writes ``bench/zen/beautiful-factory-<edition>.json`` from rules/beautiful-factory/rulebook.yaml (read through
``RuleLibrary``, the same loader the engine uses); ``--check`` only says whether the committed file is what the
rulebook gives now. The graph is made of decision tables and expression nodes only (no function node):

    request → derive (expression) → one decision table per fact (item, or part of a ``parts`` item)
            + the gate (decision table) → assemble (expression) → response

- ``derive``: per fact, ``m.<fact>`` (a needed input is absent: FactPlan.needed, as facts.fill reads it), then the
  rulebook's ``derive`` values translated to zen's expression language, each rounded to 9 decimals as facts.fill
  quantizes them (zen's ``round`` is half away from zero, ours half even: they differ only on a value whose 10th
  decimal is exactly a 5 followed by nothing).
- one table per fact, hit policy ``first``: row 1 is "an input is missing" → missing_input; then one row per case
  of the rulebook, in order, each condition a cell (a condition on an optional input also needs it present, as
  outcomes.matches does); then, where the last case has conditions, a row for "no case holds": missing_input when
  an optional input is absent (reference.by_case), else ``no_case`` (where our engine raises RuleError). Outputs:
  status (scored / needs_expert / missing_input), exact points (full, fixed points capped at the maximum, D-LIN,
  D-FLOOR, D-BF1's K / r, as outcomes.apply computes them), and the case's flag.
- the gate: one row per ``any_of`` option → passes.
- ``assemble``: per item its status and exact points (a ``parts`` item: missing_input if a part is, else
  needs_expert if a part is, else the parts' sum capped, as assemble.decide_item), the shown points rounded to
  2 decimals half up (D-ROUND), the total of the exact points of the scored items rounded once, provisional,
  the raised flags, and whether the gate passes.

Not encoded (what our engine also does per evaluation): the input catalogue's checks (refusals), explanations,
the verdict sentence, the eligibility vetoes of events (the bench's declarations have none), the inputs echoed
per item, and the Evaluation model. Only what the beautiful-factory rulebook uses is supported: anything else
(checklists, industry positions, categories, levels, applies_if, requirement rows) raises NotImplementedError.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from contracts.schemes import Scheme  # noqa: E402
from services.scoring.domain.facts import QUANTUM, FactPlan, plan  # noqa: E402
from services.scoring.domain.rulebook import Edition, Op, Outcome, RuleLibrary, Scalar  # noqa: E402

HERE = Path(__file__).resolve().parent
RULES = ROOT / "rules"
SCHEME = Scheme.BEAUTIFUL_FACTORY
EDITION = "2025"  # the edition bench/scoring.py's declarations are scored under (the test checks it)
DECIMALS = -int(QUANTUM.as_tuple().exponent)  # derived values' decimals (facts.QUANTUM)
_SYMBOLS = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "eq": "==", "ne": "!="}
_RESERVED = {"and", "or", "not", "in", "true", "false", "null"}
JDM = dict[str, Any]


def path_for(edition: str) -> Path:
    return HERE / f"{SCHEME.value}-{edition}.json"


def edition_on(as_of: date, library: RuleLibrary | None = None) -> Edition:
    return (library or RuleLibrary.load(RULES)).rulebook(SCHEME).edition_for(as_of)


def fact_name(key: str) -> str:
    """A fact key (``BF-4(1)(5)``) as a zen path segment (``BF_4_1_5``)."""
    return re.sub(r"\W+", "_", key).strip("_")


def number(value: Decimal | int | float) -> str:
    """A rulebook constant as zen reads a number literal (no exponent)."""
    return format(Decimal(str(value)).normalize(), "f")


class _Translate:
    """A rulebook ``derive`` expression (services/scoring/domain/expressions.py's language) in zen's language."""

    def __init__(self, ref: Callable[[str], str]) -> None:
        self.ref = ref

    def __call__(self, source: str) -> str:
        return self.numeric(ast.parse(source, mode="eval").body)

    def numeric(self, node: ast.expr) -> str:
        if isinstance(node, ast.Compare):
            # Ours gives 1 or 0 where zen gives a boolean.
            return f"({self.boolean(node)} ? 1 : 0)"
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return number(node.value)
        if isinstance(node, ast.Name):
            return self.ref(node.id)
        if isinstance(node, ast.UnaryOp):
            inner = self.numeric(node.operand)
            return f"(-{inner})" if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp):
            ops = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "^"}
            return f"({self.numeric(node.left)} {ops[type(node.op)]} {self.numeric(node.right)})"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            args = [self.numeric(a) for a in node.args]
            name = node.func.id
            if name in ("min", "max"):
                return f"{name}([{', '.join(args)}])"
            if name == "abs":
                return f"abs({args[0]})"
            if name == "cagr":  # D-BF3: (V_n / V_0)^(1/n) − 1 (ours computes the power in floats, zen in decimals)
                v0, v1, years = args
                return f"(({v1} / {v0}) ^ (1 / {years}) - 1)"
            if name == "when":
                cond = node.args[0]
                test = self.boolean(cond) if isinstance(cond, ast.Compare) else f"{args[0]} != 0"
                return f"({test} ? {args[1]} : {args[2]})"
        raise NotImplementedError(f"no zen translation for {ast.dump(node)}")

    def boolean(self, node: ast.Compare) -> str:
        ops = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
        terms, left = [], self.numeric(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.numeric(comparator)
            terms.append(f"{left} {ops[type(op)]} {right}")
            left = right
        return "(" + " and ".join(terms) + ")"


def _literal(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return number(value)


def cell(conds: Mapping[Op, Scalar], optional: bool) -> str:
    """One case's conditions on one field, as a decision-table cell over ``$`` (the column's value)."""
    terms = [f"$ {_SYMBOLS[op]} {_literal(c)}" for op, c in conds.items()]
    if optional and any(not isinstance(c, bool | str) for c in conds.values()):
        # An absent optional input: the case cannot hold (outcomes.matches); zen refuses to compare null with a number.
        terms.insert(0, "$ != null")
    return " and ".join(terms)


def points(outcome: Outcome, top: Decimal, ref: Callable[[str], str]) -> str:
    """An outcome's exact points (outcomes.apply), or null for an expert's."""
    m = number(top)
    if outcome.expert is not None:
        return "null"
    if outcome.full:
        return m
    if outcome.points is not None:
        return number(min(outcome.points, top))
    if outcome.linear is not None:
        v, lo, hi = (
            ref(outcome.linear["of"]),
            Decimal(str(outcome.linear["zero_at"])),
            Decimal(str(outcome.linear["full_at"])),
        )
        return f"{m} * max([0, min([1, ({v} - {number(lo)}) / {number(hi - lo)}])])"
    if outcome.floor is not None:
        f = outcome.floor
        v = ref(f["of"])
        floor, full_at, at = (Decimal(str(f[k])) for k in ("floor", "full_at", "share_at_floor"))
        rise = f"{number(1 - at)} * ({v} - {number(floor)}) / {number(full_at - floor)}"
        return f"({v} < {number(floor)} ? 0 : {m} * min([1, {number(at)} + {rise}]))"
    assert outcome.inverse is not None
    v, k = ref(outcome.inverse["of"]), number(Decimal(str(outcome.inverse["numerator"])))
    return f"({v} == 0 ? {m} : min([{m}, {k} / {v}]))"


def _node(node_id: str, kind: str, name: str, x: int, y: int, content: dict[str, Any] | None = None) -> JDM:
    node: JDM = {"id": node_id, "type": kind, "name": name, "position": {"x": x, "y": y}}
    if content is not None:
        node["content"] = content
    return node


def _table(
    node_id: str, name: str, y: int, columns: list[tuple[str, str]], outputs: list[str], rows: list[list[str]]
) -> JDM:
    """A first-hit decision table: ``columns`` (name, field expression), ``outputs`` (fields), and rows: their cells,
    then their outputs' expressions."""
    content = {
        "hitPolicy": "first",
        "passThrough": False,
        "inputField": None,
        "outputPath": None,
        "executionMode": "single",
        "inputs": [{"id": f"i{n}", "name": c, "field": f} for n, (c, f) in enumerate(columns)],
        "outputs": [{"id": f"o{n}", "name": f.rsplit(".", 1)[-1], "field": f} for n, f in enumerate(outputs)],
        "rules": [
            {
                "_id": f"r{r}",
                **{f"i{n}": v for n, v in enumerate(row[: len(columns)])},
                **{f"o{n}": v for n, v in enumerate(row[len(columns) :])},
            }
            for r, row in enumerate(rows)
        ],
    }
    return _node(node_id, "decisionTableNode", name, 700, y, content)


def _expressions(node_id: str, name: str, x: int, pairs: list[tuple[str, str]], through: bool) -> JDM:
    content = {
        "passThrough": through,
        "inputField": None,
        "outputPath": None,
        "executionMode": "single",
        "expressions": [{"id": f"x{n}", "key": k, "value": v} for n, (k, v) in enumerate(pairs)],
    }
    return _node(node_id, "expressionNode", name, x, 300, content)


def _fact_table(rule: FactPlan, y: int) -> JDM:
    source = rule.part if rule.part is not None else rule.item
    name = fact_name(rule.key)
    derived = set(source.derive)

    def ref(field: str) -> str:
        if field in derived:
            return f"d.{name}.{field}"
        if field in _RESERVED:
            raise NotImplementedError(f"{field} is a word of zen's language")
        return field

    fields: list[str] = []
    for case in source.cases:
        fields += [f for f in case.when if f not in fields]
    columns = [("missing", f"m.{name}"), *((f, ref(f)) for f in fields)]
    outputs = [f"t.{name}.status", f"t.{name}.points", f"t.{name}.flag"]
    rows = [["$ == true", *[""] * len(fields), '"missing_input"', "null", "null"]]
    for case in source.cases:
        cells = [cell(case.when[f], f in source.optional) if f in case.when else "" for f in fields]
        status = '"needs_expert"' if case.then.expert is not None else '"scored"'
        flag = json.dumps(case.then.flag) if case.then.flag else "null"
        rows.append(["", *cells, status, points(case.then, rule.part.max if rule.part else rule.item.max, ref), flag])
    if source.cases[-1].when:
        absent = " or ".join(f"{ref(n)} == null" for n in source.optional)
        status = f'({absent} ? "missing_input" : "no_case")' if absent else '"no_case"'
        rows.append(["", *[""] * len(fields), status, "null", "null"])
    return _table(f"table-{name}", rule.key, y, columns, outputs, rows)


def _derive(rules: list[FactPlan]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for rule in rules:
        name = fact_name(rule.key)
        needed = " or ".join(f"{n} == null" for n in rule.needed)
        pairs.append((f"m.{name}", needed or "false"))
        derived: set[str] = set()

        def ref(field: str, name: str = name, derived: set[str] = derived) -> str:
            return f"$.d.{name}.{field}" if field in derived else field

        for field, parsed in rule.derive:
            pairs.append(
                (f"d.{name}.{field}", f"$.m.{name} ? null : round({_Translate(ref)(parsed.source)}, {DECIMALS})")
            )
            derived.add(field)
    return pairs


def _assemble(plans: list[tuple[str, list[FactPlan]]]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for item_id, rules in plans:
        e = f"e.{fact_name(item_id)}"
        names = [fact_name(r.key) for r in rules]
        if len(rules) == 1 and rules[0].part is None:
            pairs += [(f"{e}.status", f"t.{names[0]}.status"), (f"{e}.points", f"t.{names[0]}.points")]
        else:

            def any_is(status: str, names: list[str] = names) -> str:
                return " or ".join(f't.{n}.status == "{status}"' for n in names)

            item = rules[0].item
            cap = number(Decimal(str(item.params.get("cap", item.max))))
            status = (f'{any_is("no_case")} ? "no_case" : ({any_is("missing_input")} ? "missing_input" : '
                      f'({any_is("needs_expert")} ? "needs_expert" : "scored"))')  # fmt: skip
            total = " + ".join(f"t.{n}.points" for n in names)
            pairs += [
                (f"{e}.status", status),
                (f"{e}.points", f'$.{e}.status == "scored" ? min([{total}, {cap}]) : null'),
            ]
        pairs.append((f"items.{item_id}.status", f"$.{e}.status"))
        pairs.append((f"items.{item_id}.points", f"$.{e}.points == null ? null : round($.{e}.points, 2)"))  # D-ROUND
    ids = [fact_name(item_id) for item_id, _ in plans]
    exact = " + ".join(f'($.e.{i}.status == "scored" ? $.e.{i}.points : 0)' for i in ids)
    pairs.append(("total", f"round({exact}, 2)"))  # exact inside, rounded once (D-ROUND)
    pairs.append(("provisional", " or ".join(f'$.e.{i}.status != "scored"' for i in ids)))
    raised = ", ".join(
        f'($.e.{fact_name(item_id)}.status == "missing_input" ? null : t.{fact_name(r.key)}.flag)'
        for item_id, rules in plans
        for r in rules
    )
    pairs.append(("flags", f"filter([{raised}], # != null)"))
    pairs.append(("gate", "g.passes"))
    return pairs


def _gate(edition: Edition) -> JDM:
    options = edition.gate.any_of if edition.gate is not None else []
    fields: list[str] = []
    for option in options:
        fields += [f for f in option if f not in fields]
    rows = [[cell(option[f], True) if f in option else "" for f in fields] + ["true"] for option in options]
    rows.append([""] * len(fields) + ["false" if options else "true"])  # no gate: anyone may apply
    return _table("gate", "gate", 100, [(f, f) for f in fields], ["g.passes"], rows)


def graph(edition: Edition) -> JDM:
    """The edition as a JDM decision graph (a dict ready for json.dumps and ``ZenEngine.create_decision``)."""
    unsupported = [
        what
        for what, there in (
            ("categories", edition.categories),
            ("levels", edition.levels),
            ("passing", edition.passing),
            ("checks", edition.checks),
        )
        if there
    ]
    for item in edition.items:
        if item.method not in ("cases", "parts") or item.applies_if or item.requirement:
            unsupported.append(item.id)
    if unsupported:
        raise NotImplementedError(f"not encodable here: {', '.join(unsupported)}")
    plans = [(item.id, list(rules)) for item, rules in plan(edition).items]
    rules = [r for _, rs in plans for r in rs]
    tables = [_fact_table(r, 200 + 120 * n) for n, r in enumerate(rules)]
    nodes = [
        _node("request", "inputNode", "request", 0, 300),
        _expressions("derive", "derive", 300, _derive(rules), through=True),
        _gate(edition),
        *tables,
        _expressions("assemble", "assemble", 1100, _assemble(plans), through=False),
        _node("response", "outputNode", "response", 1400, 300),
    ]
    links = [("request", "derive"), ("derive", "gate"), ("gate", "assemble"), ("assemble", "response")]
    links += [("derive", t["id"]) for t in tables] + [(t["id"], "assemble") for t in tables]
    edges = [{"id": f"edge-{s}-{t}", "sourceId": s, "targetId": t, "type": "edge"} for s, t in links]
    return {"contentType": "application/vnd.gorules.decision", "nodes": nodes, "edges": edges}


def decision(edition: Edition | None = None) -> Any:
    """A zen ``ZenDecision`` of the edition's graph (the committed file of EDITION when ``edition`` is None): made
    once, then evaluated per declaration."""
    import zen

    content = path_for(EDITION).read_text(encoding="utf-8") if edition is None else json.dumps(graph(edition))
    return zen.ZenEngine().create_decision(content)


def text(edition: Edition) -> str:
    """The graph as committed: indented JSON, keys in the order made, a final newline."""
    return json.dumps(graph(edition), ensure_ascii=False, indent=1) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edition", default=EDITION)
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed file is not what it gives")
    args = parser.parse_args()
    library = RuleLibrary.load(RULES)
    (edition,) = [e for e in library.rulebook(SCHEME).editions if e.edition == args.edition]
    target, made = path_for(args.edition), text(edition)
    if args.check:
        same = target.exists() and target.read_text(encoding="utf-8") == made
        print(f"{target.relative_to(ROOT)}: {'up to date' if same else 'differs from the rulebook: regenerate it'}")
        sys.exit(0 if same else 1)
    target.write_text(made, encoding="utf-8")
    print(f"wrote {target.relative_to(ROOT)} ({len(graph(edition)['nodes'])} nodes)")


if __name__ == "__main__":
    main()
