"""What operators read about a unit in Temporal's Web UI and CLI: timer and activity summaries, current details.

Pure text from the unit's state and policy: deadline names and clauses come from rules/lifecycle (the
policy the workflow carries), the few words around them are here. Each summary is Chinese, then English,
and fits Temporal's limit on a summary (400 bytes by default; a longer one would fail the workflow task).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from contracts import labels
from services.workflow.domain.lifecycle import STATE_ZH
from services.workflow.domain.policy import Deadline, Policy
from services.workflow.domain.state import DeadlineFired, Obligation, TaskChanged, Transitioned, UnitState

SUMMARY_BYTES = 300  # below Temporal's 400-byte default, with room for the payload's own bytes
ROLE_ZH = labels.ROLE_ZH
CHANGE_ZH = {
    "opened": "开启", "updated": "更新", "claimed": "认领", "released": "释放", "closed": "办结",
    "escalated": "升级", "cancelled": "取消",
}  # fmt: skip
ALARM_ZH = {"upcoming": "提醒", "due": "到期", "missed": "逾期"}
_CLAUSE_END = re.compile(r"[（(;；:：]")
_PART_END = re.compile(r"[;；]")
_DECISION_AT_END = re.compile(r"[（(](D-[A-Z0-9-]+)[）)]$")


def fit(text: str, limit: int = SUMMARY_BYTES) -> str:
    """``text`` cut (with an ellipsis) to ``limit`` bytes of UTF-8, never inside a character."""
    if len(text.encode()) <= limit:
        return text
    cut = text.encode()[: limit - len("…".encode())].decode(errors="ignore")
    return cut + "…"


def clause(d: Deadline) -> str:
    """The reference a deadline rests on (``003 第八条``, ``D-EXPERT``): its basis up to the first gloss, or the
    decision id a Chinese description ends with (``专家评定前总分为暂定（D-EXPERT）；…``)."""
    first = _PART_END.split(d.basis, maxsplit=1)[0].strip()
    decision = _DECISION_AT_END.search(first)
    return decision.group(1) if decision else _CLAUSE_END.split(first, maxsplit=1)[0].strip()


def _en(d: Deadline) -> str:
    return d.name_en or d.key


def timer_summary(policy: Policy, alarm: tuple[str, Obligation | None] | None, ends_on: date | None) -> str | None:
    """The lifecycle timer's summary: which deadline it waits for and why (``alarm`` as ``next_alarm_for``)."""
    if alarm is None:
        return None
    label, ob = alarm
    if ob is None:  # the only alarm without an obligation: the end of publicity
        d = policy.deadlines["publicity"]
        return fit(f"{d.name_zh}期满 {ends_on} · {_en(d)} ends {ends_on} · {clause(d)}")
    d = policy.deadlines[ob.deadline]
    due = ob.due_day.isoformat()
    if label.startswith("upcoming-"):
        days = label.removeprefix("upcoming-")
        text = f"{d.name_zh}截止前{days}天提醒（{due}）· {_en(d)}: reminder {days} days before {due}"
    elif label == "due":
        text = f"{d.name_zh}截止日（{due}）· {_en(d)}: due {due}"
    else:
        text = f"{d.name_zh}逾期（{due} 已过）· {_en(d)}: missed, {due} passed"
    return fit(f"{text} · {clause(d)}")


def _effect_words(effect: Transitioned | TaskChanged | DeadlineFired) -> tuple[str, str]:
    if isinstance(effect, Transitioned):
        t = effect.transition
        if not t.state_changed:
            return "记事", "note"
        return f"转入{STATE_ZH.get(t.state, t.state)}", f"→ {t.state}"
    if isinstance(effect, TaskChanged):
        task = effect.task
        return f"待办{task.title_zh}{CHANGE_ZH.get(effect.change, effect.change)}", f"task {task.kind} {effect.change}"
    d = effect.deadline
    return f"{d.name_zh}{ALARM_ZH[effect.kind]}", f"{_en(d)} {effect.kind}"


def record_summary(batch: Sequence[Transitioned | TaskChanged | DeadlineFired]) -> str:
    """The record-effects activity's summary: what it records and announces."""
    words = [_effect_words(e) for e in batch]
    zh = "；".join(dict.fromkeys(w[0] for w in words))
    en = "; ".join(dict.fromkeys(w[1] for w in words))
    return fit(f"记录并通知：{zh} · record and announce: {en}")


def period_summary(d: Deadline, start: date, working_days: int) -> str:
    """The calendar activity's summary: which period's last day it counts."""
    return fit(
        f"计算{d.name_zh}期末：{start} 起 {working_days} 个工作日 · {_en(d)}: last of {working_days} working days "
        f"from {start} · {clause(d)}"
    )


def rescore_summary(submission_id: str) -> str:
    return fit(f"专家评分后重新计分（申报 {submission_id}）· rescore {submission_id} with the experts' points")


def national_summary(state: UnitState) -> str:
    return fit(f"国家级推荐：{state.enterprise_name}（{state.uscc}）· national recommendation of {state.uscc}")


def waiting_words(roles: Sequence[str]) -> str:
    return "、".join(ROLE_ZH.get(r, r) for r in roles) + f" ({', '.join(roles)})" if roles else "无 (none)"


def details(state: UnitState, roles: Sequence[str], next_timer: str | None) -> str:
    """The workflow's current details (Temporal markdown): state, who must act, the next deadline."""
    lines = [
        f"**{STATE_ZH.get(state.state, state.state)}** ({state.state}) · {state.enterprise_name} · "
        f"{state.district} · {labels.zh(labels.DESIGNATION_ZH, state.designation)} ({state.designation})",
        f"等待 Waiting on: {waiting_words(roles)}",
    ]
    if state.level is not None:
        lines.append(f"分级 Level: {state.level}")
    if next_timer is not None:
        lines.append(f"下一期限 Next: {next_timer}")
    return "\n\n".join(lines)
