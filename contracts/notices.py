"""Notices that are not scored declarations (003 第十四、十七条; 公示).

Rename, major adjustment, objection during publicity, district report, and the grade path's
diagnosis and renovation reports (第十六条).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts import labels
from contracts.envelope import Actor
from contracts.identifiers import USCC_PATTERN as USCC_PATTERN  # re-exported: older imports name it here
from contracts.identifiers import ReportedDay, Uscc
from contracts.messages import UnitBrief
from contracts.schemes import Designation
from contracts.text import Line, Paragraph


class _Notice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notice_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{8,64}$",
        description="Optional client id: a retry returns the first answer.",
    )
    uscc: Uscc = Field(description="The unit's 统一社会信用代码 (the GB 32100 check character is verified).")


class RenameNotice(_Notice):
    """更名: apply through the district within 30 days of completing the change (003 第十四条)."""

    kind: Literal["rename"]
    old_name: Line = Field(min_length=1, max_length=200, description="原名称.")
    new_name: Line = Field(min_length=1, max_length=200, description="新名称.")
    completed_on: ReportedDay = Field(description="The day the change was completed (工商变更完成日期).")


class MajorAdjustmentNotice(_Notice):
    """重大调整: reorganisation, main-business change or relocation; review within 30 days (003 第十四、十五条)."""

    kind: Literal["major_adjustment"]
    adjustment: Literal["reorganisation", "main_business_change", "relocation"] = Field(
        description="重组 | 主营业务变更 | 搬迁."
    )
    completed_on: ReportedDay = Field(description="The day the adjustment was completed.")
    description: Paragraph = Field(min_length=1, max_length=2000, description="What changed, in Chinese.")


class Objection(_Notice):
    """异议: an objection during publicity (公示); it pauses listing until the bureau resolves it (D-PUBLICITY)."""

    kind: Literal["objection"]
    designation: Designation = Field(description="Which publicised designation the objection is about.")
    reason: Paragraph = Field(min_length=5, max_length=5000, description="异议理由.")
    contact: Line | None = Field(default=None, max_length=200, description="How the bureau can reach the objector.")


class DistrictReport(_Notice):
    """区级报告 (第十七条): abnormal operation, serious dishonesty, a name or main-business change."""

    kind: Literal["district_report"]
    finding: Literal["abnormal_operation", "serious_dishonesty", "name_change", "main_business_change"] = Field(
        description="经营异常 | 严重失信 | 名称变更 | 主营业务变更."
    )
    observed_on: ReportedDay = Field(description="When it was found.")
    details: Paragraph = Field(min_length=1, max_length=5000, description="What was found, in Chinese.")


class DiagnosisReport(_Notice):
    """绿色诊断完成 (003 第十六条): within one year of a grade below 3."""

    kind: Literal["diagnosis"]
    completed_on: ReportedDay = Field(description="The day the green diagnosis was completed.")
    summary: Paragraph = Field(min_length=1, max_length=5000, description="诊断结论摘要, in Chinese.")


class RenovationReport(_Notice):
    """绿色化改造提升完成 (003 第十六条): within two years of a grade below 3."""

    kind: Literal["renovation"]
    completed_on: ReportedDay = Field(description="The day the renovation was completed.")
    summary: Paragraph = Field(min_length=1, max_length=5000, description="改造内容摘要, in Chinese.")


AnyNotice = RenameNotice | MajorAdjustmentNotice | Objection | DistrictReport | DiagnosisReport | RenovationReport
Notice = Annotated[AnyNotice, Field(discriminator="kind")]
ENTERPRISE_NOTICES = (RenameNotice, MajorAdjustmentNotice, DiagnosisReport, RenovationReport)

# Which unit workflows a notice concerns: a title's (rename, major adjustment, district report), the grading
# path's (diagnosis, renovation), or the publicised designation it names (objection).
NOTICE_DESIGNATIONS: dict[str, tuple[Designation, ...]] = {
    "rename": (Designation.MUNICIPAL_GREEN_FACTORY, Designation.BEAUTIFUL_FACTORY),
    "major_adjustment": (Designation.MUNICIPAL_GREEN_FACTORY, Designation.BEAUTIFUL_FACTORY),
    "district_report": (Designation.MUNICIPAL_GREEN_FACTORY, Designation.BEAUTIFUL_FACTORY),
    "diagnosis": (Designation.ANNUAL_GRADING,),
    "renovation": (Designation.ANNUAL_GRADING,),
}
PUBLICISED = ("publicity", "objection_review")
HOLDS_TITLE = ("listed", "under_recheck")


@dataclass(frozen=True)
class NoticeRefusal:
    """Why a notice is not taken: an HTTP status, the field at fault, a stable code, both languages."""

    status: int
    path: str
    code: str
    message_zh: str
    message_en: str


def designations_of(notice: AnyNotice) -> tuple[Designation, ...]:
    return (notice.designation,) if isinstance(notice, Objection) else NOTICE_DESIGNATIONS[notice.kind]


def filer_refusal(notice: AnyNotice, actor: Actor) -> NoticeRefusal | None:
    """Whether ``actor`` may file this kind of notice at all (no unit needs to be looked up for that)."""
    if isinstance(notice, ENTERPRISE_NOTICES) and (actor.role != "enterprise" or actor.scope != notice.uscc):
        return NoticeRefusal(
            403,
            "$",
            "not_the_enterprise",
            "只有该单位本身可以提交此通知",
            "only the enterprise itself may send this notice",
        )
    if isinstance(notice, DistrictReport) and actor.role != "district":
        return NoticeRefusal(403, "$", "not_district", "只有区工业主管部门可以报告", "only district staff may report")
    return None


def refusal(notice: AnyNotice, actor: Actor, units: list[UnitBrief]) -> NoticeRefusal | None:
    """Who may file which notice, about which unit; None if this one may be taken.

    Intake asks before it stores a notice and the workflow service again before it passes one on, so
    the rule is one. A notice never creates a unit: it is about units that exist. The enterprise files
    its own renames, adjustments and grade-path reports; an objection is about a unit in publicity
    (anyone signed in, and the same answer whether the unit is absent or simply not publicised); a
    district reports only on a unit in its own district (it may learn that a unit is not its own).
    """
    filer = filer_refusal(notice, actor)
    if filer is not None:
        return filer
    wanted = designations_of(notice)
    mine = [u for u in units if u.designation in wanted]
    if isinstance(notice, Objection):
        if not any(u.state in PUBLICISED for u in mine):
            return NoticeRefusal(
                409, "$.uscc", "not_in_publicity",
                f"该单位的{labels.zh(labels.DESIGNATION_ZH, notice.designation.value)}当前不在公示期，不受理异议",
                f"no {notice.designation.value} unit of {notice.uscc} is being publicised",
            )  # fmt: skip
        return None
    if not mine:
        names = "、".join(d.value for d in wanted)
        names_zh = "、".join(labels.zh(labels.DESIGNATION_ZH, d.value) for d in wanted)
        return NoticeRefusal(
            422, "$.uscc", "unit_not_found",
            f"该单位没有{names_zh}记录，通知无从办理（通知不会新建单位）",
            f"{notice.uscc} has no {names} unit: a notice is only about a unit that exists",
        )  # fmt: skip
    if isinstance(notice, DistrictReport) and not any(u.district == actor.scope for u in mine):
        return NoticeRefusal(
            403, "$.uscc", "other_district", "该单位不属于本区，不能报告", f"{notice.uscc} is not in {actor.scope}"
        )
    if isinstance(notice, RenameNotice | MajorAdjustmentNotice) and not any(u.state in HOLDS_TITLE for u in mine):
        return NoticeRefusal(
            409, "$.uscc", "no_title",
            "该单位未持有称号，无需申请（003 第十四条适用于已入围单位）",
            f"{notice.uscc} holds no title: 003 第十四条 applies to listed units",
        )  # fmt: skip
    return None
