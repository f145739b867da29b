"""Notices that are not scored declarations (003 第十四、十七条; 公示).

Rename, major adjustment, objection during publicity, district report, and the grade path's
diagnosis and renovation reports (第十六条).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.schemes import Designation

USCC_PATTERN = r"^[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{18}$"


class _Notice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notice_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{8,64}$",
        description="Optional client id: a retry returns the first answer.",
    )
    uscc: str = Field(pattern=USCC_PATTERN, description="The unit's 统一社会信用代码.")


class RenameNotice(_Notice):
    """更名: apply through the district within 30 days of completing the change (003 第十四条)."""

    kind: Literal["rename"] = "rename"
    old_name: str = Field(min_length=1, max_length=200, description="原名称.")
    new_name: str = Field(min_length=1, max_length=200, description="新名称.")
    completed_on: date = Field(description="The day the change was completed (工商变更完成日期).")


class MajorAdjustmentNotice(_Notice):
    """重大调整: reorganisation, main-business change or relocation; review within 30 days (003 第十四、十五条)."""

    kind: Literal["major_adjustment"] = "major_adjustment"
    adjustment: Literal["reorganisation", "main_business_change", "relocation"] = Field(
        description="重组 | 主营业务变更 | 搬迁."
    )
    completed_on: date = Field(description="The day the adjustment was completed.")
    description: str = Field(min_length=1, max_length=2000, description="What changed, in Chinese.")


class Objection(_Notice):
    """异议: an objection during publicity (公示); it pauses listing until the bureau resolves it (D-PUBLICITY)."""

    kind: Literal["objection"] = "objection"
    designation: Designation = Field(description="Which publicised designation the objection is about.")
    reason: str = Field(min_length=5, max_length=5000, description="异议理由.")
    contact: str | None = Field(default=None, max_length=200, description="How the bureau can reach the objector.")


class DistrictReport(_Notice):
    """区级报告 (第十七条): abnormal operation, serious dishonesty, a name or main-business change."""

    kind: Literal["district_report"] = "district_report"
    finding: Literal["abnormal_operation", "serious_dishonesty", "name_change", "main_business_change"] = Field(
        description="经营异常 | 严重失信 | 名称变更 | 主营业务变更."
    )
    observed_on: date = Field(description="When it was found.")
    details: str = Field(min_length=1, max_length=5000, description="What was found, in Chinese.")


class DiagnosisReport(_Notice):
    """绿色诊断完成 (003 第十六条): within one year of a grade below 3."""

    kind: Literal["diagnosis"] = "diagnosis"
    completed_on: date = Field(description="The day the green diagnosis was completed.")
    summary: str = Field(min_length=1, max_length=5000, description="诊断结论摘要, in Chinese.")


class RenovationReport(_Notice):
    """绿色化改造提升完成 (003 第十六条): within two years of a grade below 3."""

    kind: Literal["renovation"] = "renovation"
    completed_on: date = Field(description="The day the renovation was completed.")
    summary: str = Field(min_length=1, max_length=5000, description="改造内容摘要, in Chinese.")


Notice = Annotated[
    RenameNotice | MajorAdjustmentNotice | Objection | DistrictReport | DiagnosisReport | RenovationReport,
    Field(discriminator="kind"),
]
ENTERPRISE_NOTICES = (RenameNotice, MajorAdjustmentNotice, DiagnosisReport, RenovationReport)
