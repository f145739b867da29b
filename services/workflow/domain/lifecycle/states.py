"""A unit's states by name: their Chinese names and the groups the rules test (in progress, holding a title)."""

from __future__ import annotations

from typing import cast

from services.workflow.domain.state import NationalOutcome, UnitStateName

STATE_ZH: dict[UnitStateName, str] = {
    "new": "新建",
    "declaration_refused": "申报不予受理",
    "evaluation_failed": "评价失败",
    "awaiting_recommendation": "待区级推荐",
    "not_recommended": "区级未推荐",
    "under_review": "市级评审中",
    "rejected": "未通过",
    "publicity": "公示中",
    "objection_review": "公示异议处理中",
    "listed": "已入围",
    "under_recheck": "复核中",
    "revoked": "已撤销",
    "graded": "已分级",
    "grade_path": "未达三级整改中",
    "national_recommended": "已推荐国家级，待工业和信息化部评定",
    "national_listed": "已入围国家级绿色工厂名单",
    "national_not_listed": "未入围国家级绿色工厂名单",
    "returned": "退回补充",
    "expert_review": "专家评定中",
}
NATIONAL_STATE: dict[NationalOutcome, UnitStateName] = {
    "listed": "national_listed",
    "not_listed": "national_not_listed",
}


def state_zh(name: str) -> str:
    """A state's Chinese name; a name this version does not know (an old stored row) is shown as it is."""
    return STATE_ZH.get(cast("UnitStateName", name), name)


IN_PROGRESS = {"awaiting_recommendation", "under_review", "publicity", "objection_review"}
HOLDS_TITLE = {"listed", "under_recheck"}
