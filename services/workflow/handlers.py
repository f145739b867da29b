"""The workflow service's use cases: route scoring's answers and intake's notices into unit workflows.

What the lifecycle needs beside an evaluation (the open call, the cultivation pool, the evaluator's
ban, the unit's latest grade and title) is looked up here and passed in, so the workflow stays pure.
"""

from __future__ import annotations

from datetime import date

from pydantic import TypeAdapter, ValidationError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from contracts import notices
from contracts.evaluation import Evaluation
from contracts.identifiers import DISTRICTS, uscc_is_valid
from contracts.messages import EvaluationCompleted, NoticeReceived
from contracts.notices import AnyNotice, Notice
from contracts.schemes import SCHEME_DESIGNATION, Designation, Scheme, workflow_id
from greenfab.db import Database
from greenfab.group_commit import GroupCommit
from services.workflow.domain.lifecycle import HOLDS_TITLE
from services.workflow.domain.policy import Policy
from services.workflow.domain.state import EvaluationFacts, ExpertItem, NoticeFacts, OpenCall, VetoBrief
from services.workflow.model import Inbound, LifecycleInput
from services.workflow.policy_editions import EDITIONS
from services.workflow.staff import lookup
from services.workflow.tables import EvaluationCopy, EvaluatorBan, OpenCallRow, PoolEntry, UnitProjection
from services.workflow.workflows import UnitLifecycleWorkflow

CALL_SCHEMES = {Scheme.GREEN_FACTORY, Scheme.BEAUTIFUL_FACTORY}


class Refused(ValueError):
    """A message the workflow service will not pass on to any workflow; it names why.

    Raised from a consumer, it is retried and then dead-lettered with this reason: never applied.
    """


async def _open_call(s: AsyncSession, scheme: Scheme, on: date) -> OpenCall | None:
    query = select(OpenCallRow).where(
        OpenCallRow.scheme == scheme.value, col(OpenCallRow.opens_on) <= on, col(OpenCallRow.closes_on) >= on
    )
    row = (await s.exec(query.order_by(col(OpenCallRow.closes_on).desc()))).first()
    return OpenCall(id=row.id, title=row.title, closes_on=row.closes_on) if row else None


async def evaluation_facts(db: Database, event: EvaluationCompleted) -> EvaluationFacts:
    ev: Evaluation | None = event.evaluation
    on = ev.as_of if ev else event.occurred_at.date()
    # One session for every lookup: each session is a pooled connection and a transaction of its own.
    async with db.session() as s:
        pool = await s.get(PoolEntry, event.uscc)
        ban = await s.get(EvaluatorBan, event.evaluator_uscc) if event.evaluator_uscc else None
        grading = await s.get(UnitProjection, workflow_id(event.uscc, Designation.ANNUAL_GRADING))
        title = await s.get(UnitProjection, workflow_id(event.uscc, Designation.MUNICIPAL_GREEN_FACTORY))
        call = await _open_call(s, event.scheme, on) if event.scheme in CALL_SCHEMES else None
    return EvaluationFacts(
        submission_id=event.submission_id,
        correlation_id=event.correlation_id,
        enterprise_name=event.enterprise_name,
        total=ev.total if ev else None,
        level=ev.level if ev else None,
        passed=ev.passed if ev else None,
        provisional=ev.provisional if ev else False,
        error=event.error,
        rulebook_version=ev.rulebook_version if ev else None,
        vetoes=[VetoBrief(**v.model_dump(exclude={"window"})) for v in ev.vetoes] if ev else [],
        expert_items=[
            ExpertItem(id=i.id, name_zh=i.name_zh, max=i.max)
            for i in (ev.items if ev else [])
            if i.status == "needs_expert"
        ],
        missing_items=[
            f"{i.id}（{'、'.join(i.missing)}）" for i in (ev.items if ev else []) if i.status == "missing_input"
        ],
        verdict_zh=ev.verdict_zh if ev else None,
        evaluator_uscc=event.evaluator_uscc,
        evaluator_banned_until=ban.until if ban else None,
        call=call,
        in_pool=pool is not None and pool.district == event.district,
        declared_district=event.district,
        pool_district=pool.district if pool else None,
        submitted_at=event.submitted_at,
        latest_grade=grading.level if grading else None,
        holds_title=title is not None and title.state in HOLDS_TITLE,
    )


async def keep_copies(s: AsyncSession, copies: list[EvaluationCopy]) -> list[None]:
    """Store each evaluation copy not stored yet (a redelivered evaluation finds its own)."""
    ids = {c.submission_id for c in copies}
    stored = set(
        (await s.exec(select(EvaluationCopy.submission_id).where(col(EvaluationCopy.submission_id).in_(ids)))).all()
    )
    for copy in copies:
        if copy.submission_id not in stored:
            s.add(copy)
            stored.add(copy.submission_id)
    return [None] * len(copies)


async def on_evaluation(
    client: Client,
    db: Database,
    task_queue: str,
    policy: Policy,
    event: EvaluationCompleted,
    copies: GroupCommit[EvaluationCopy, None] | None = None,
) -> str:
    """Start the unit's workflow with this evaluation, or signal it if it runs: it starts once, in the district
    it declared in, and later declarations signal it (a later declaration naming another district is a
    question for the bureau). Returns once Temporal has recorded the start or the signal.

    ``copies`` stores the evaluation's copy together with those of the evaluations handled meanwhile (one
    transaction for many: greenfab/group_commit.py)."""
    if not uscc_is_valid(event.uscc):
        raise Refused(f"evaluation of {event.submission_id}: {event.uscc!r} is not a valid USCC (GB 32100)")
    if event.district not in DISTRICTS:
        raise Refused(f"evaluation of {event.submission_id}: {event.district!r} is not one of Beijing's districts")
    designation = SCHEME_DESIGNATION[event.scheme]
    wid = workflow_id(event.uscc, designation)
    result = event.evaluation.model_dump(mode="json") if event.evaluation else None
    copy = EvaluationCopy(submission_id=event.submission_id, uscc=event.uscc, result=result)
    await (copies or GroupCommit(db, keep_copies))(copy)
    unit = LifecycleInput(
        uscc=event.uscc,
        district=event.district,
        designation=designation,
        enterprise_name=event.enterprise_name,
        policy_ref=EDITIONS.add(policy),  # the edition, not the whole policy, in every start (policy_editions.py)
        newest_code=True,  # this code starts it: no patch marker per run (workflows.py, OLDER_PATCHES)
    )
    await start_or_signal(client, task_queue, unit, await evaluation_facts(db, event))
    return wid


async def start_or_signal(client: Client, task_queue: str, unit: LifecycleInput, facts: EvaluationFacts) -> None:
    """Start a new unit's workflow with its first evaluation in the input, eagerly; signal a running one.

    Cheaper than signal-with-start for the common case, a new unit: the evaluation needs no signal event,
    and with eager start Temporal hands the first workflow task straight back to this process's worker
    (no poll), so the unit takes its first step in the start's only workflow task. Nothing twice: a
    redelivered evaluation finds the workflow started (WorkflowAlreadyStartedError) and is signalled,
    and the lifecycle ignores a submission it has seen. Nothing lost: the caller acks only after this
    returns, when Temporal has recorded the start or the signal.
    """
    wid = workflow_id(unit.uscc, unit.designation)
    try:
        await client.start_workflow(
            UnitLifecycleWorkflow.run,
            unit.model_copy(update={"pending": [Inbound(evaluation=facts)]}),
            id=wid,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            request_eager_start=True,
        )
    except WorkflowAlreadyStartedError:
        # If the run closes before this signal arrives, the signal fails and the message is retried: the
        # next try starts a new run.
        await client.get_workflow_handle(wid).signal(UnitLifecycleWorkflow.evaluation_completed, facts)


_NOTICE: TypeAdapter[AnyNotice] = TypeAdapter(Notice)
STATE_DEPENDENT = {"not_in_publicity", "no_title"}


def _checked_notice(event: NoticeReceived) -> AnyNotice:
    try:
        notice = _NOTICE.validate_python(event.notice)
    except ValidationError as exc:
        raise Refused(f"notice {event.notice_id} is not a valid notice: {exc}") from exc
    if notice.uscc != event.uscc:
        raise Refused(f"notice {event.notice_id} is about {notice.uscc}, its envelope says {event.uscc}")
    return notice


async def on_notice(client: Client, db: Database, event: NoticeReceived) -> list[str]:
    """Signal the workflows of the existing units a notice concerns. A notice never starts a workflow, so it
    can never create a unit or set its district; one about no unit, or filed by someone who may not, is refused."""
    notice = _checked_notice(event)
    units = await lookup.units_of(db, notice.uscc)
    refusal = notices.refusal(notice, event.actor, units)
    # What depends on the unit's state (in publicity, holding a title) may have changed since intake
    # checked it: the unit itself records such a notice as archived. Who filed it, and about which unit, not.
    if refusal is not None and refusal.code not in STATE_DEPENDENT:
        raise Refused(f"notice {event.notice_id}: {refusal.message_en} ({refusal.code})")
    if isinstance(notice, notices.DistrictReport):
        units = [u for u in units if u.district == event.actor.scope]  # a district reports on its own units
    facts = NoticeFacts(
        notice_id=event.notice_id,
        correlation_id=event.correlation_id,
        kind=notice.kind,
        data=event.notice,
        filed_at=event.occurred_at,
        actor=event.actor,
    )
    sent = []
    for unit in units:
        if unit.designation in notices.designations_of(notice):
            await client.get_workflow_handle(unit.workflow_id).signal(UnitLifecycleWorkflow.notice_received, facts)
            sent.append(unit.workflow_id)
    if not sent:
        raise Refused(f"notice {event.notice_id}: no unit of {notice.uscc} for {notice.kind}")
    return sent
