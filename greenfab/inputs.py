"""The input catalogue: what a declaration's `data` may hold, checked alike at intake and in scoring.

``rules/inputs/inputs.yaml`` declares every input's type, unit and bounds (a named limit per unit)
and the constraints between inputs (a part is never more than its whole); ``rules/eligibility/
events.yaml`` declares every event kind and its typed fields (D-EVENTS). `Catalogue.check` returns
every problem at once, each naming its field(s) with a stable code and messages in Chinese and
English. Intake refuses a declaration with any problem before storing it; scoring checks again, so
it never evaluates what the catalogue refuses. Pure: only `load_catalogue` reads files.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from contracts.text import find_invisible
from greenfab.paths import RULES

REPO_RULES = RULES  # the repository's rules/, or the installed wheel's copy (greenfab.paths)
EVENT_DATES = ("date", "from", "to")
EVENT_DATES_ZH = {"date": "日期", "from": "开始日期", "to": "结束日期"}  # the keys every event kind shares


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limit(_Strict):
    """The named limit of a unit: every amount in it lies within."""

    unit: str
    unit_en: str
    name_zh: str
    max: Decimal
    smallest: Decimal | None = Field(default=None, description="The least non-zero amount the unit records.")
    whole: bool = False
    basis: str


class InputSpec(_Strict):
    type: Literal["number", "boolean", "choice", "boxes", "text", "date", "events"]
    name_zh: str
    limit: str | None = None
    min: Decimal | None = None
    max: Decimal | None = None
    positive: bool = Field(default=False, description="It divides somewhere: 0 is refused.")
    choices: list[str] = Field(default_factory=list)
    boxes: list[str] = Field(default_factory=list)
    pattern: str | None = None
    max_length: int = 200
    note: str | None = None
    labels_zh: dict[str, str] = Field(default_factory=dict, description="Each choice's (or box's) Chinese label.")
    unit_zh: str | None = Field(default=None, description="Its counting word (台, 种), not the limit's unit.")
    percent: bool = Field(default=False, description="Shown as a percentage (a ratio that may pass 100 %).")

    @model_validator(mode="after")
    def _shape(self) -> InputSpec:
        if (self.type == "number") != (self.limit is not None):
            raise ValueError("a number names its unit's limit, and only a number does")
        if (self.type == "choice") != bool(self.choices) or (self.type == "boxes") != bool(self.boxes):
            raise ValueError("choices (or boxes) go with type choice (or boxes)")
        if unlabelled := set(self.labels_zh) - {*self.choices, *self.boxes}:
            raise ValueError(f"labels_zh for {sorted(unlabelled)}, which are not its choices or boxes")
        return self


class Constraint(_Strict):
    """The sum of ``part`` is at most the sum of ``whole`` (a share within 100 %, D-SHARE)."""

    id: str
    part: list[str] = Field(min_length=1)
    whole: list[str] = Field(min_length=1)
    whole_positive: bool = Field(default=True, description="The whole divides: it must be more than 0.")
    name_zh: str
    basis: str


class DateRange(_Strict):
    earliest: date
    latest: date
    basis: str


class EventField(_Strict):
    type: Literal["boolean", "date", "text"]
    name_zh: str


class EventKind(_Strict):
    name_zh: str
    continuous: bool = Field(default=False, description="Periods that touch or overlap are one (D-STOPPAGE).")
    fields: dict[str, EventField] = Field(default_factory=dict)


class EventCatalogue(_Strict):
    common: dict[str, EventField] = Field(default_factory=dict)
    kinds: dict[str, EventKind]


@dataclass(frozen=True)
class InputProblem:
    """One refusal: the field(s) inside `data` (e.g. ``events[0].removed``), a stable code, why in zh and en."""

    fields: tuple[str, ...]
    code: str
    message_zh: str
    message_en: str


def show(value: Decimal) -> str:
    """A number as people write it: positional up to 12 digits, scientific beyond."""
    if value == value.to_integral_value() and abs(value) < Decimal("1e12"):
        return str(int(value))
    return f"{value.normalize():f}" if abs(value) < Decimal("1e12") else f"{value.normalize():e}"


def as_date(raw: Any) -> date | None:
    """A date from an ISO ``YYYY-MM-DD`` string or a date (YAML gives dates); None if it is neither."""
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    if isinstance(raw, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            return None
    return None


def as_number(raw: Any) -> Decimal | None:
    """A finite JSON number as Decimal; None for anything else (a string, a boolean, NaN, Infinity)."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal):
        return None
    try:
        value = Decimal(str(raw)) if isinstance(raw, float) else Decimal(raw)
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


class Catalogue(_Strict):
    """Every input a declaration may hold, with its bounds; the constraints; the event kinds."""

    dates: DateRange
    limits: dict[str, Limit]
    inputs: dict[str, InputSpec]
    constraints: list[Constraint] = Field(default_factory=list)
    events: EventCatalogue

    @model_validator(mode="after")
    def _consistent(self) -> Catalogue:
        for name, spec in self.inputs.items():
            if spec.limit is not None and spec.limit not in self.limits:
                raise ValueError(f"input {name}: no limit named {spec.limit!r}")
        for kind_name, kind in self.events.kinds.items():
            if kind.continuous and kind.fields:
                # Merged periods would have to merge their answers too: not defined, so not allowed.
                raise ValueError(f"event kind {kind_name}: a continuous kind has no fields of its own")
        for c in self.constraints:
            for name in (*c.part, *c.whole):
                if name not in self.inputs or self.inputs[name].type != "number":
                    raise ValueError(f"constraint {c.id}: {name} is not a number input")
        return self

    def model_post_init(self, context: Any, /) -> None:
        # Each number's bounds as floats: the common case (a plain number well inside them) is checked without
        # Decimal; anything the fast check does not pass goes through the exact one, which decides.
        bounds = {}
        for name, spec in self.inputs.items():
            if spec.limit is None:
                continue
            limit = self.limits[spec.limit]
            low = spec.min if spec.min is not None else Decimal(0)
            high = min(spec.max, limit.max) if spec.max is not None else limit.max
            smallest = float(limit.smallest) if limit.smallest is not None else 0.0
            bounds[name] = (float(low), float(high), limit.whole, spec.positive, smallest)
        self._bounds = bounds

    _bounds: dict[str, tuple[float, float, bool, bool, float]] = PrivateAttr(default_factory=dict)

    @staticmethod
    def _plainly_within(bounds: tuple[float, float, bool, bool, float], raw: Any) -> bool:
        """A number inside its bounds, told fast; False sends it to the exact check (which may still accept it)."""
        kind = type(raw)
        # An int is exact and may be longer than any float (math.isfinite would raise OverflowError on it).
        if kind is not int and (kind is not float or not math.isfinite(raw)):
            return False
        low, high, whole, positive, smallest = bounds
        if not low <= raw <= high:
            return False
        if whole and raw != int(raw):
            return False
        return not (raw == 0 and positive) and not (0 < raw < smallest)

    # ----- checks ---------------------------------------------------------------------------

    def check(self, data: Mapping[str, Any], as_of: date | None = None) -> list[InputProblem]:
        """Every problem with ``data`` (declared as of ``as_of``); empty when the catalogue accepts it."""
        problems: list[InputProblem] = []
        if as_of is not None and (found := self.check_date("declared_on", "申报日期", as_of)) is not None:
            problems.append(found)
        valid: dict[str, Any] = {}  # numbers that passed, as given
        bounds = self._bounds
        for name, raw in data.items():
            spec = self.inputs.get(name)
            if spec is None:
                problems.append(
                    InputProblem(
                        (name,),
                        "unknown_input",
                        f"不认识的输入项“{name}”（可填写的输入项见 rules/inputs/inputs.yaml）",
                        f"unknown input {name!r} (the inputs a declaration may hold are in rules/inputs/inputs.yaml)",
                    )
                )
                continue
            if raw is None:
                continue  # not given: scoring reports the items that need it as missing_input
            if spec.type == "boolean" and isinstance(raw, bool):
                continue
            if spec.type == "number" and self._plainly_within(bounds[name], raw):
                valid[name] = raw
                continue
            found_problems = list(self._check_one(name, spec, raw))
            problems += found_problems
            if spec.type == "number" and not found_problems:
                valid[name] = raw
        problems += self._check_constraints(valid)
        return problems

    def check_date(self, field: str, name_zh: str, raw: Any) -> InputProblem | None:
        day = as_date(raw)
        if day is None:
            return InputProblem(
                (field,),
                "not_a_date",
                f"{name_zh}应为日期（YYYY-MM-DD），而不是“{raw}”",
                f"should be a date (YYYY-MM-DD), not {raw!r}",
            )
        r = self.dates
        if not r.earliest <= day <= r.latest:
            return InputProblem(
                (field,),
                "date_out_of_range",
                f"{name_zh} {day.isoformat()} 不在 {r.earliest.isoformat()} 至 {r.latest.isoformat()} 之间",
                f"{day.isoformat()} is outside the plausible dates {r.earliest.isoformat()}..{r.latest.isoformat()}",
            )
        return None

    def _check_one(self, name: str, spec: InputSpec, raw: Any) -> Iterator[InputProblem]:
        label = f"{spec.name_zh}（{name}）"
        if spec.type == "number":
            yield from self._check_number(name, label, spec, raw)
        elif spec.type == "boolean":
            if not isinstance(raw, bool):
                yield InputProblem(
                    (name,),
                    "not_a_boolean",
                    f"{label}应为是或否（true/false），而不是“{raw}”",
                    f"should be yes or no (true/false), not {raw!r}",
                )
        elif spec.type == "choice":
            if not isinstance(raw, str) or raw not in spec.choices:
                yield InputProblem(
                    (name,),
                    "not_a_choice",
                    f"{label}应为 {'、'.join(spec.choices)} 之一，而不是“{raw}”",
                    f"should be one of {spec.choices}, not {raw!r}",
                )
        elif spec.type == "boxes":
            if not isinstance(raw, list) or not all(isinstance(b, str) for b in raw):
                yield InputProblem(
                    (name,),
                    "not_boxes",
                    f"{label}应为勾选项编号的列表",
                    "should be a list of ticked box ids",
                )
            elif unknown := sorted(set(raw) - set(spec.boxes)):
                yield InputProblem(
                    (name,),
                    "unknown_box",
                    f"{label}没有勾选项 {'、'.join(unknown)}；可选：{'、'.join(spec.boxes)}",
                    f"unknown boxes {unknown}; known: {spec.boxes}",
                )
        elif spec.type == "text":
            if not isinstance(raw, str) or len(raw) > spec.max_length:
                yield InputProblem(
                    (name,),
                    "not_text",
                    f"{label}应为不超过 {spec.max_length} 个字符的文字",
                    f"should be text of at most {spec.max_length} characters",
                )
            elif (bad := find_invisible(raw, lines=True)) is not None:
                yield InputProblem((name,), "text_invisible_character", f"{label}{bad.message_zh}", bad.message_en)
            elif spec.pattern is not None and not re.fullmatch(spec.pattern, raw):
                yield InputProblem(
                    (name,),
                    "bad_format",
                    f"{label}格式不对：“{raw}”",
                    f"{raw!r} does not have the expected format ({spec.pattern})",
                )
        elif spec.type == "date":
            if (found := self.check_date(name, label, raw)) is not None:
                yield found
        else:
            yield from self._check_events(raw)

    def _check_number(self, name: str, label: str, spec: InputSpec, raw: Any) -> Iterator[InputProblem]:
        value = as_number(raw)
        if value is None:
            yield InputProblem(
                (name,),
                "not_a_number",
                f"{label}应为数字，而不是“{raw}”",
                f"should be a finite number, not {raw!r}",
            )
            return
        assert spec.limit is not None
        limit_name, limit = spec.limit, self.limits[spec.limit]
        low = spec.min if spec.min is not None else Decimal(0)
        high = min(spec.max, limit.max) if spec.max is not None else limit.max
        unit = limit.unit
        if value < 0 <= low:
            yield InputProblem(
                (name,), "negative", f"{label}不能为负数：{show(value)}", f"cannot be negative; got {show(value)}"
            )
        elif value < low:
            yield InputProblem(
                (name,),
                "below_minimum",
                f"{label}不能小于 {show(low)}，填报的是 {show(value)}",
                f"cannot be below {show(low)}; got {show(value)}",
            )
        elif value > high:
            yield InputProblem(
                (name,),
                "above_limit",
                f"{label}{show(value)} 超过上限 {show(high)}（{unit}；限值 {limit_name}：{limit.name_zh}）",
                f"{show(value)} is above the limit {show(high)} {limit.unit_en} (limit {limit_name})",
            )
        elif limit.whole and value != value.to_integral_value():
            yield InputProblem(
                (name,),
                "not_whole",
                f"{label}应为整数，而不是 {show(value)}",
                f"should be a whole number, not {show(value)}",
            )
        elif value == 0 and spec.positive:
            yield InputProblem(
                (name,),
                "must_be_positive",
                f"{label}应大于 0（评分时作除数）",
                "must be more than 0 (scoring divides by it)",
            )
        elif limit.smallest is not None and 0 < value < limit.smallest:
            yield InputProblem(
                (name,),
                "below_smallest",
                f"{label}{show(value)} 小于该单位可记录的最小量 {show(limit.smallest)}（{unit}）",
                f"{show(value)} is below the smallest amount recorded in {limit.unit_en} ({show(limit.smallest)})",
            )

    def _check_constraints(self, valid: Mapping[str, Any]) -> Iterator[InputProblem]:
        for c in self.constraints:
            names = [*c.part, *c.whole]
            if not all(n in valid for n in names):
                continue
            # Exact sums: 0.1 + 0.2 of a whole of 0.3 is within it.
            part = sum((as_number(valid[n]) or Decimal(0) for n in c.part), Decimal(0))
            whole = sum((as_number(valid[n]) or Decimal(0) for n in c.whole), Decimal(0))
            if part > whole:
                part_zh = "与".join(self.inputs[n].name_zh for n in c.part)
                whole_zh = "与".join(self.inputs[n].name_zh for n in c.whole)
                yield InputProblem(
                    tuple(dict.fromkeys(names)),
                    "part_exceeds_whole",
                    f"{part_zh}（{show(part)}）不能大于{whole_zh}（{show(whole)}）：{c.name_zh}不能超过100%",
                    f"{' + '.join(c.part)} ({show(part)}) cannot exceed {' + '.join(c.whole)} ({show(whole)}): "
                    f"a share cannot be above 100 % ({c.id})",
                )
            elif c.whole_positive and whole == 0:
                whole_zh = "与".join(self.inputs[n].name_zh for n in c.whole)
                yield InputProblem(
                    tuple(c.whole),
                    "must_be_positive",
                    f"{whole_zh}应大于 0（计算{c.name_zh}时作除数）",
                    f"{' + '.join(c.whole)} must be more than 0 (it divides in {c.id})",
                )

    def _check_events(self, raw: Any) -> Iterator[InputProblem]:
        if not isinstance(raw, list):
            yield InputProblem(
                ("events",),
                "not_events",
                "事件（events）应为列表，每项为 {kind, date} 或 {kind, from, to}",
                "events should be a list of {kind, date} or {kind, from, to}",
            )
            return
        for i, event in enumerate(raw):
            yield from self._check_event(i, event)

    def _check_event(self, i: int, event: Any) -> Iterator[InputProblem]:
        at = f"events[{i}]"
        kinds = self.events.kinds
        if not isinstance(event, dict) or not isinstance(event.get("kind"), str):
            yield InputProblem(
                (at,), "event_not_object", f"{at} 应为带 kind 的对象", f"{at} should be an object with a kind"
            )
            return
        kind = kinds.get(event["kind"])
        if kind is None:
            yield InputProblem(
                (f"{at}.kind",),
                "event_kind_unknown",
                f"不认识的事件类型“{event['kind']}”；可填写："
                + "、".join(f"{k.name_zh}（{name}）" for name, k in kinds.items()),
                f"unknown event kind {event['kind']!r}; known: {sorted(kinds)}",
            )
            return
        fields = {**self.events.common, **kind.fields}
        for key, value in event.items():
            path = f"{at}.{key}"
            if key == "kind":
                continue
            if key in EVENT_DATES:
                if (found := self.check_date(path, f"{kind.name_zh}的{EVENT_DATES_ZH[key]}", value)) is not None:
                    yield found
                continue
            spec = fields.get(key)
            if spec is None:
                allowed = ["kind", *EVENT_DATES, *fields]
                named = {"kind": "事件类型", **EVENT_DATES_ZH, **{k: f.name_zh for k, f in fields.items()}}
                yield InputProblem(
                    (path,),
                    "event_field_unknown",
                    f"事件“{kind.name_zh}”没有栏目“{key}”；可填写：" + "、".join(f"{named[k]}（{k}）" for k in allowed),
                    f"{event['kind']} events have no field {key!r}; they have {allowed}",
                )
            elif spec.type == "boolean" and not isinstance(value, bool):
                yield InputProblem(
                    (path,),
                    "not_a_boolean",
                    f"{spec.name_zh}（{path}）应为是或否（true/false），而不是“{value}”",
                    f"should be yes or no (true/false), not {value!r}",
                )
            elif spec.type == "text" and (not isinstance(value, str) or len(value) > 2000):
                yield InputProblem(
                    (path,),
                    "not_text",
                    f"{spec.name_zh}（{path}）应为不超过 2000 个字符的文字",
                    "should be text of at most 2000 characters",
                )
            elif spec.type == "text" and (bad := find_invisible(value, lines=True)) is not None:
                yield InputProblem(
                    (path,), "text_invisible_character", f"{spec.name_zh}（{path}）{bad.message_zh}", bad.message_en
                )
            elif spec.type == "date" and (found := self.check_date(path, spec.name_zh, value)) is not None:
                yield found
        yield from self._check_event_span(at, event)

    def _check_event_span(self, at: str, event: Mapping[str, Any]) -> Iterator[InputProblem]:
        has_day, has_from = "date" in event, "from" in event
        if has_day == has_from:
            yield InputProblem(
                (at,),
                "event_dates",
                f"{at} 应填写 date（某一天），或 from 与 to（一段时间；仍在持续的不填 to），二者取一",
                f"{at} needs either date (one day) or from and to (a period; no to while it goes on), not both",
            )
        elif "to" in event and not has_from:
            yield InputProblem((f"{at}.to",), "event_dates", f"{at} 有 to 而没有 from", f"{at} has to without from")
        elif has_from and "to" in event:
            start, end = as_date(event["from"]), as_date(event["to"])
            if start is not None and end is not None and end < start:
                yield InputProblem(
                    (f"{at}.to",),
                    "event_ends_before_start",
                    f"{at} 的结束日期早于开始日期",
                    f"{at} ends before it starts",
                )


def load_catalogue(rules_dir: Path = REPO_RULES) -> Catalogue:
    """The catalogue in ``rules_dir`` (inputs/inputs.yaml and eligibility/events.yaml)."""

    def read(path: Path) -> Any:
        return yaml.safe_load(path.read_text(encoding="utf-8"))

    raw = read(rules_dir / "inputs" / "inputs.yaml")
    return Catalogue.model_validate({**raw, "events": read(rules_dir / "eligibility" / "events.yaml")})
