"""The Chinese names of the ids services put into text people read: roles, schemes, designations,
decisions, notice kinds, unit commands, services and message kinds.

An id (``district``, ``green-factory``, ``recommend``, ``greenfab-scoring``) is for programs and for the
English half of a bilingual message; the Chinese half names the same thing in Chinese, so a refusal reads
"该事项须由区工业主管部门办理", not "该事项须由district办理". Several services write these names (the workflow
service its refusals and timeline, notify its inbox, audit its record, the console its pages), and services
import contracts but never each other, so the one table of each kind is here. Names the lifecycle policy
already carries (a deadline's ``name_zh``, a task's ``title_zh``, a state's name) stay in rules/lifecycle.

An id without a name here is shown as it is (``zh``), so a new id is never hidden, only left untranslated;
``zh_with_id`` shows the name with the id in brackets, where a reader must type the id back (a decision).
"""

from __future__ import annotations

from collections.abc import Mapping

PREFIX = "greenfab"

ROLE_ZH: Mapping[str, str] = {
    "enterprise": "企业",
    "district": "区工业主管部门",
    "bureau": "市经济和信息化局",
    "expert": "评审专家",
    "auditor": "审计人员",
    "evaluator": "第三方评价机构",
    "system": "系统",
}

SCHEME_ZH: Mapping[str, str] = {
    "grading": "工厂绿色分级评价",
    "green-factory": "绿色工厂",
    "beautiful-factory": "美丽工厂",
}

DESIGNATION_ZH: Mapping[str, str] = {
    "municipal-green-factory": "市级绿色工厂",
    "beautiful-factory": "美丽工厂",
    "annual-grading": "绿色分级",
    "national-recommendation": "国家级推荐",
}

# A task's decisions (rules/lifecycle/lifecycle.yaml, tasks); the same id reads differently on some tasks.
DECISION_ZH: Mapping[str, str] = {
    "recommend": "推荐",
    "decline": "不予推荐",
    "approve": "通过",
    "reject": "不通过",
    "score": "评分",
    "uphold": "异议成立",
    "dismiss": "异议不成立",
    "listed": "已入选",
    "not_listed": "未入选",
    "revoke": "撤销",
    "keep": "保留",
    "done": "已办理",
    "forward": "转报市局",
    "start_review": "启动复核",
    "no_action": "无需处理",
    "sent": "已报送",
    "urge": "督办",
    "loaded": "已载入",
}
DECISION_BY_TASK_ZH: Mapping[str, Mapping[str, str]] = {
    "rename": {"decline": "不予转报"},
    "approve_rename": {"approve": "批准", "reject": "不予批准"},
}

# The notices of 003 第十四、十六、十七条 and D-PUBLICITY (contracts/notices.py).
NOTICE_KIND_ZH: Mapping[str, str] = {
    "rename": "更名申请",
    "major_adjustment": "重大调整",
    "objection": "公示异议",
    "district_report": "区级报告",
    "diagnosis": "绿色诊断报告",
    "renovation": "改造提升报告",
}

# Unit-level actions (the staff API's UnitAction, and what one workflow asks of another).
COMMAND_ZH: Mapping[str, str] = {
    "recommend_national": "推荐申报国家级绿色工厂",
    "start_review": "启动复核",
    "revoke": "撤销称号",
    "withdraw": "撤回",
    "record_national": "登记国家级评定结果",
}

# The deployables, by the name they connect to NATS with (``greenfab-scoring``) or act as (``scoring``).
SERVICE_ZH: Mapping[str, str] = {
    "intake": "受理服务",
    "scoring": "评分服务",
    "workflow": "流程服务",
    "notify": "通知服务",
    "audit": "审计服务",
    "console": "网页控制台",
}

# Messages, by type (contracts/messages.py) or subject without the prefix (contracts/subjects.py).
MESSAGE_ZH: Mapping[str, str] = {
    "submission.received": "申报已受理",
    "submission.notice": "事项报告已受理",
    "notice.received": "事项报告已受理",
    "evaluation.completed": "评价完成",
    "evaluation.rulebook.published": "规则版本发布",
    "unit.changed": "状态变更",
    "deadline": "期限提醒",
    "task": "待办事项",
    "deadletter": "死信",
}

# Where notify delivers (services/notify/domain.py CHANNELS).
CHANNEL_ZH: Mapping[str, str] = {"inbox": "站内信", "email": "电子邮件", "webhook": "Webhook 回调"}

# What a service marks failed when it gives up on a message (DeadLettered.marked_failed: ``declaration 0f3c…``).
RECORD_ZH: Mapping[str, str] = {"declaration": "申报", "notice": "事项报告"}


def zh(table: Mapping[str, str], key: str) -> str:
    """``key``'s Chinese name in ``table``, or ``key`` itself when it has none."""
    return table.get(key, key)


def zh_with_id(table: Mapping[str, str], key: str) -> str:
    """The Chinese name with the id in brackets (``推荐（recommend）``), for an id a reader may have to send."""
    return f"{table[key]}（{key}）" if key in table else key


def decision_zh(decision: str, task_kind: str | None = None) -> str:
    """A decision's Chinese name, as it reads on a task of ``task_kind``."""
    return DECISION_BY_TASK_ZH.get(task_kind or "", {}).get(decision) or zh(DECISION_ZH, decision)


def service_zh(service: str) -> str:
    """``greenfab-scoring`` or ``scoring`` → 评分服务."""
    return zh(SERVICE_ZH, service.removeprefix(f"{PREFIX}-"))


def message_zh(subject: str) -> str:
    """A message kind's Chinese name from its type or subject (``greenfab.task.opened`` → 待办事项)."""
    key = subject.removeprefix(f"{PREFIX}.")
    return MESSAGE_ZH.get(key) or MESSAGE_ZH.get(key.split(".", 1)[0]) or subject


def record_zh(marked: str) -> str:
    """``declaration 0f3c`` → ``申报 0f3c``: what was marked failed, named in Chinese, its id kept."""
    word, _, rest = marked.partition(" ")
    return f"{RECORD_ZH[word]} {rest}".rstrip() if word in RECORD_ZH else marked


def workflow_zh(workflow_id: str) -> str:
    """``unit-<USCC>-annual-grading`` → ``绿色分级流程（unit-<USCC>-annual-grading）``: a unit's workflow named by
    what it is about, its id kept for whoever looks it up."""
    parts = workflow_id.split("-", 2)
    designation = parts[2] if len(parts) == 3 and parts[0] == "unit" else ""
    return f"{DESIGNATION_ZH[designation]}流程（{workflow_id}）" if designation in DESIGNATION_ZH else workflow_id


def actor_zh(role: str, subject: str) -> str:
    """Who acted: the role's name and the person (``市经济和信息化局 bureau-li``), or for a step the system took,
    the service that took it (``系统（流程服务）``, not ``系统 workflow``)."""
    if role == "system":
        return f"{ROLE_ZH['system']}（{service_zh(subject)}）"
    return f"{zh(ROLE_ZH, role)} {subject}".strip()
