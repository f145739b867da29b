"""The kinds of human task: who acts, which decisions exist, which need a reason, their deadline and clause."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from services.workflow.domain.state import TaskKind


@dataclass(frozen=True)
class TaskSpec:
    title_zh: str
    role: Literal["district", "bureau", "expert"]
    decisions: tuple[str, ...]
    reason_required: tuple[str, ...]
    deadline: str | None
    clause: str


TASKS: dict[TaskKind, TaskSpec] = {
    "recommend": TaskSpec(
        "区级推荐", "district", ("recommend", "decline"), ("decline",), "district-recommendation", "003 第八条"
    ),
    "expert_score": TaskSpec(
        "专家评分", "expert", ("score",), ("score",), "expert-scoring", "D-EXPERT (needs_expert items)"
    ),
    "review": TaskSpec("市级评审", "bureau", ("approve", "reject"), ("reject",), "bureau-review", "003 第八、十一条"),
    "resolve_objection": TaskSpec(
        "公示异议处理", "bureau", ("dismiss", "uphold"), ("dismiss", "uphold"), "objection-resolution", "D-PUBLICITY"
    ),
    "review_listed": TaskSpec(
        "复核", "bureau", ("keep", "revoke"), ("keep", "revoke"), "staff-task", "003 第十三、十四条"
    ),
    "rename": TaskSpec("更名申请转报", "district", ("forward", "decline"), ("decline",), "staff-task", "003 第十四条"),
    "approve_rename": TaskSpec(
        "名称变更审核", "bureau", ("approve", "reject"), ("reject",), "staff-task", "003 第十四条"
    ),
    "district_report": TaskSpec(
        "区级报告处理", "bureau", ("start_review", "no_action"), ("no_action",), "staff-task", "003 第十七条"
    ),
    "miit_request": TaskSpec("报请工业和信息化部撤销国家级称号", "bureau", ("sent",), (), "staff-task", "003 第十三条"),
    "national_outcome": TaskSpec(
        "登记国家级绿色工厂评定结果", "bureau", ("listed", "not_listed"), (), None, "003 第九条"
    ),
    # Decisions are the districts in dispute, set when the task opens.
    "confirm_district": TaskSpec("确认所属区", "bureau", (), (), "staff-task", "003 第六、八条（区级培育与推荐）"),
    "followup": TaskSpec(
        "逾期督办", "bureau", ("urge", "revoke"), ("urge", "revoke"), "staff-task", "003 第十三条（三）"
    ),
    # D-CALENDAR: a period ran into a year without the State Council's holiday notice; once the bureau has
    # loaded it (`greenfab calendar add-year`), deciding `loaded` counts the period again.
    "load_calendar": TaskSpec("载入节假日安排", "bureau", ("loaded",), (), "staff-task", "D-CALENDAR"),
}

# Decisions that revoke a title: they need a ground from the policy's revocation grounds.
REVOKING: set[tuple[TaskKind, str]] = {("review_listed", "revoke"), ("followup", "revoke")}
