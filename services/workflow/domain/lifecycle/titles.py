"""A title once listed: re-checks, revocation (003 第十三–十五条) and the recommendation to the national list
(第九条), as the bureau's unit-level commands and as the end of tasks that revoke."""

from __future__ import annotations

from datetime import datetime

from contracts.envelope import Actor
from contracts.schemes import Designation
from services.workflow.domain.lifecycle.core import LifecycleCore
from services.workflow.domain.lifecycle.refusal import ActionRefused
from services.workflow.domain.lifecycle.states import HOLDS_TITLE, NATIONAL_STATE, STATE_ZH
from services.workflow.domain.policy import add_years
from services.workflow.domain.state import StartNational, Task, UnitCommand


class Titles(LifecycleCore):
    """Commands on a held title: revoke, withdraw, start a review, recommend to MIIT, record MIIT's outcome."""

    def check_command(self, c: UnitCommand) -> None:
        self._check_commander(c)
        s = self.state
        if s.designation is Designation.ANNUAL_GRADING:
            raise ActionRefused(409, "wrong_designation", "分级评价不是称号，无此操作", "grading is not a title")
        if s.state not in HOLDS_TITLE:
            raise ActionRefused(
                409, "no_title", f"单位当前状态为{STATE_ZH[s.state]}，未持有称号", f"the unit is {s.state}"
            )
        if c.command == "revoke":
            self._check_ground(c.ground)
            if not (c.reason or "").strip():
                raise ActionRefused(422, "reason_required", "撤销须填写理由", "revocation needs a reason")
        if c.command == "start_review" and s.state == "under_recheck":
            raise ActionRefused(409, "already_reviewing", "复核已在进行中", "a review is already open")
        if c.command == "record_national" and (c.source is None or c.outcome is None or s.national != "recommended"):
            raise ActionRefused(
                409,
                "not_recommended",
                "仅由国家级推荐流程登记已推荐单位的评定结果",
                "only the national-recommendation workflow records an outcome, for a recommended unit",
            )
        if c.command == "recommend_national":
            self._check_recommend_national(c)

    def _check_commander(self, c: UnitCommand) -> None:
        """The bureau commands a title; the enterprise itself may only withdraw; the system (another workflow) may."""
        who = c.actor
        if who.role == "system":
            pass
        elif c.command == "withdraw":
            if who.role != "enterprise" or who.scope != self.state.uscc:
                raise ActionRefused(
                    403, "wrong_role", "只有本单位可申请撤销", "only the enterprise itself may withdraw"
                )
        elif who.role != "bureau":
            raise ActionRefused(403, "wrong_role", "该操作须由市经济和信息化局办理", "only the bureau may do this")

    def _check_recommend_national(self, c: UnitCommand) -> None:
        """003 第九条: a municipal green factory not yet recommended; below grade 4 only with a reason."""
        s = self.state
        reason = (c.reason or "").strip()
        if s.designation is not Designation.MUNICIPAL_GREEN_FACTORY or s.national != "none":
            raise ActionRefused(
                409,
                "not_eligible",
                "仅未推荐过的市级绿色工厂可推荐国家级",
                "only a municipal green factory not yet recommended",
            )
        floor = self.policy.thresholds.national_min_level
        grade = s.evaluation.latest_grade if s.evaluation else None
        if (grade is None or grade < floor.value) and not reason:
            raise ActionRefused(
                422,
                "reason_required",
                f"工厂绿色分级为 {grade or '未评'}，原则上须达到四级，须填写理由",
                f"grade {grade} is below {floor.value}: give a reason",
            )

    def command(self, c: UnitCommand, now: datetime) -> None:
        self.check_command(c)
        s = self.state
        if c.command == "revoke":
            assert c.ground is not None
            self._revoke(now, c.ground, c.reason or "", c.actor)
        elif c.command == "withdraw":
            self._revoke(now, "withdrawn", c.reason or "单位自行要求撤销", c.actor)
        elif c.command == "start_review":
            if c.reason:
                self._start_recheck(now, c.actor, "recheck-by-bureau", {"trigger": "bureau"}, reason=c.reason)
            else:
                self._start_recheck(now, c.actor, "recheck-by-bureau-routine", {"trigger": "bureau"})
        elif c.command == "recommend_national":
            s.national = "recommended"
            if c.reason:
                self._step(now, "national-recommendation-with-reason", None, c.actor, reason=c.reason)
            else:
                self._step(now, "national-recommendation", None, c.actor)
            self._effects.append(StartNational(actor=c.actor, reason=c.reason))
        elif c.command == "record_national":
            assert c.outcome is not None
            s.national = c.outcome
            outcome_zh = STATE_ZH[NATIONAL_STATE[c.outcome]]
            self._step(now, "national-outcome-recorded", None, c.actor, outcome_zh=outcome_zh)

    def _check_ground(self, ground: str | None) -> None:
        if ground not in self.policy.revocation_grounds:
            raise ActionRefused(
                422,
                "ground_required",
                "撤销须注明依据（003 第十三条所列情形）",
                f"ground must be one of {sorted(self.policy.revocation_grounds)}",
            )

    def _start_recheck(
        self, now: datetime, actor: Actor, step: str, context: dict[str, object], **fields: object
    ) -> None:
        task = self._open_task("review_listed", now, context)
        text, basis = self._words(step, fields)
        self._move(now, "under_recheck", text, basis, actor, task)

    def _revoke(self, now: datetime, ground: str, reason: str, actor: Actor, task: Task | None = None) -> None:
        s = self.state
        g = self.policy.revocation_grounds[ground]
        self._cancel_tasks()
        s.obligations = []
        s.revoked_ground = ground
        if g.ban is not None:
            years = getattr(self.policy.bans, g.ban)
            s.banned_until = add_years(self._today(now), years.value)
        if g.ban and s.banned_until:
            until = s.banned_until.isoformat()
            self._step(
                now,
                "revoked-banned",
                "revoked",
                actor,
                task,
                ground=ground,
                ground_zh=g.name_zh,
                reason=reason,
                until=until,
            )
        else:
            self._step(now, "revoked", "revoked", actor, task, ground=ground, ground_zh=g.name_zh, reason=reason)
        if s.national == "listed":
            follow = self._open_task("miit_request", now, {"ground": ground})
            self._step(now, "miit-request-opened", None, actor, follow)

    # ----- the national recommendation's own workflow ----------------------------------------

    def national_recommended(self, now: datetime, actor: Actor, reason: str | None) -> None:
        """003 第九条: recommended to MIIT; the bureau records MIIT's outcome when it is published."""
        self.state.national = "recommended"
        task = self._open_task("national_outcome", now, {"reason": reason})
        if reason:
            self._step(now, "national-recommended-with-reason", "national_recommended", actor, task, reason=reason)
        else:
            self._step(now, "national-recommended", "national_recommended", actor, task)
