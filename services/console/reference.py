"""Reference lists the console's pickers offer (the services check every value again)."""

from __future__ import annotations

from contracts.labels import DESIGNATION_ZH

# Beijing's 16 districts (北京市行政区划), the scopes of district staff.
DISTRICTS: tuple[str, ...] = (
    "东城区", "西城区", "朝阳区", "海淀区", "丰台区", "石景山区", "门头沟区", "房山区",
    "通州区", "顺义区", "昌平区", "大兴区", "怀柔区", "平谷区", "密云区", "延庆区",
)  # fmt: skip

# The names the services write into their texts too (contracts/labels.py).
DESIGNATIONS = DESIGNATION_ZH

TASK_KINDS_ZH = {
    "recommend": "区级推荐",
    "expert_score": "专家评分",
    "review": "市级评审",
    "resolve_objection": "异议处理",
    "review_listed": "复核",
    "rename": "更名申请转报",
    "approve_rename": "名称变更审核",
    "district_report": "区级报告处理",
    "miit_request": "报请撤销国家级称号",
    "national_outcome": "登记国家级评定结果",
    "followup": "逾期督办",
}

ITEM_STATUS_ZH = {
    "scored": "已评分",
    "needs_expert": "待专家评分",
    "missing_input": "缺少数据",
    "not_applicable": "不适用",
}

# Revocation grounds (003 第十三条) as rules/lifecycle/lifecycle.yaml names them; the staff API checks the key.
GROUNDS = {
    "eligibility": "存在第十一条所列情形",
    "review_failed": "未按规定参加复核或复核评价结果不合格",
    "no_dynamic_management": "未按要求开展动态管理",
    "terminated": "所在单位被依法终止",
    "falsified": "所提交材料或数据存在造假等问题",
    "withdrawn": "所在单位自行要求撤销",
    "dishonest": "所在单位被列入失信黑名单",
    "other": "其他体现绿色发展水平不符合要求的情况",
    "major_adjustment": "发生重组、主营业务变更、厂区迁址等重大调整",
    "grade_path": "三年内复评仍达不到三级",
}
