"""Notices that are not scored declarations (003 第十四、十七条; 公示).

Rename, major adjustment, objection during publicity, district report.
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


Notice = Annotated[RenameNotice | MajorAdjustmentNotice | Objection | DistrictReport, Field(discriminator="kind")]
