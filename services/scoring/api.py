"""The scoring API (/v1): the green-diagnosis advisor, the policy what-if, and the rulebook editions.

The advisor and replays run in the engine's worker processes (durable_rules scores every proposal);
a what-if runs in a process of its own, so neither ever blocks this event loop. Routes are a few
lines over services/scoring/{advisor,whatif,editions,rulebooks}.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, PlainTextResponse

from contracts.advice import Advice
from contracts.envelope import Actor
from contracts.evaluation import Evaluation
from contracts.http import FieldError, Problem
from contracts.messages import RulebookPublished
from contracts.rulebooks import (
    AdviceBody,
    CheckResult,
    DraftBody,
    EditionRow,
    PublishBody,
    PublishResult,
    Replay,
    RuleProblem,
    WhatIfBody,
)
from contracts.schemes import Scheme
from contracts.whatif import WhatIfReport
from greenfab.auth import Principal, can_read_enterprise
from greenfab.db import Database
from greenfab.http import (
    BureauCaller,
    CurrentPrincipal,
    ProblemError,
    caller_with_role,
    problem_response,
    problem_responses,
    service_app,
)
from services.scoring import store, whatif, whatif_report
from services.scoring.domain.facts import InputError
from services.scoring.domain.rulebook import Edition, UnknownEdition
from services.scoring.editions import Draft, PublishRefused, parse_draft
from services.scoring.editions import Problem as RuleProblemData
from services.scoring.rulebooks import Rulebooks
from services.scoring.tables import StoredEvaluation
from services.scoring.worker import EngineCrashed, EnginePool, advise_in_worker, replay_in_worker

PROBLEMS = problem_responses(401, 403, 404, 409, 413, 422, 503)
MAX_BODY = 2_000_000


# Who may ask the advisor about a declaration sent in the body, and who may replay a stored evaluation.
AnyRoleCaller = Annotated[
    Principal, caller_with_role("enterprise", "district", "bureau", "expert", "auditor", "evaluator")
]
ReplayCaller = Annotated[Principal, caller_with_role("bureau", "auditor")]


def _problems(problems: list[RuleProblemData]) -> list[RuleProblem]:
    return [RuleProblem(**p.__dict__) for p in problems]


def _refused(title: str, problems: list[RuleProblemData]) -> ProblemError:
    errors = [
        FieldError(
            path=f"$.{p.edition}.{p.item or '-'}.{p.field}",
            code="rule",
            message_zh=p.message_zh,
            message_en=p.message_en,
        )
        for p in problems
    ]
    return ProblemError(422, title, f"{len(problems)} problem(s)", errors)


def build_app(
    db: Database,
    pool: EnginePool,
    rules: Rulebooks,
    secret: str,
    announce: Callable[[RulebookPublished], Awaitable[None]],
    runner: whatif.WhatIfRunner,
) -> FastAPI:
    app = service_app(
        title="greenfab scoring API",
        version="1.0.0",
        description="The green-diagnosis advisor (003 第十六条), the bureau's policy what-if, and rulebook editions "
        "(check, publish, replay by version). 评分服务：绿色诊断建议、政策模拟、规则版本。",
        secret=secret,
    )
    router = APIRouter(prefix="/v1", responses=PROBLEMS)

    @app.middleware("http")
    async def _limit_body(request: Request, call_next):  # type: ignore[no-untyped-def]
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return problem_response(
                Problem(status=413, title="请求体过大 / Request body too large", detail=f"limit is {MAX_BODY} bytes")
            )
        return await call_next(request)

    def draft_of(body: DraftBody) -> Draft:
        draft = parse_draft(dict(body.rulebook), "request")
        if draft.rulebook is None:
            raise _refused("草案规则集格式有误 / The draft rulebook is malformed", draft.problems)
        return draft

    async def advise(scheme: Scheme, as_of: date, data: dict[str, Any], level: int | None, target: Any) -> Advice:
        try:
            raw = await pool.run(
                advise_in_worker,
                scheme.value,
                as_of.isoformat(),
                data,
                level,
                str(target) if target is not None else None,
            )
        except InputError as exc:
            error = FieldError(
                path=f"$.data.{exc.field}",
                code="invalid_input",
                message_zh=f"输入有误：{exc.message_zh}",
                message_en=exc.reason,
            )
            raise ProblemError(422, "申报数据有误 / Invalid declaration data", str(exc), [error]) from None
        except UnknownEdition as exc:
            raise ProblemError(422, "无适用的评价规则 / No rulebook in force", str(exc)) from None
        except EngineCrashed as exc:
            raise ProblemError(503, "规则引擎故障 / Rules engine unavailable", str(exc)) from None
        return Advice.model_validate(raw)

    # ----- the advisor ---------------------------------------------------------------------

    @router.get("/units/{uscc}/advice", response_model=Advice, tags=["advice"])
    async def unit_advice(
        uscc: Annotated[str, PathParam(pattern=r"^[0-9A-HJ-NP-RTUWXY]{18}$")],
        who: CurrentPrincipal,
        scheme: Scheme = Scheme.GRADING,
        level: Annotated[int | None, Query(ge=1, le=4)] = None,
        target: Annotated[float | None, Query(ge=0, le=200)] = None,
    ) -> Advice:
        """Diagnosis for a unit's latest declaration of ``scheme``: points still available item by item, the change
        that earns them, the cheapest plan to the next level / pass mark / ``target``, and what cannot move.
        The enterprise sees its own units, a district the units in it, the bureau (and auditors, experts) all."""
        row = await store.latest(db, uscc, scheme)
        if row is None or not can_read_enterprise(who, uscc, row.district or ""):
            raise ProblemError(
                404, "未找到该单位的申报 / Not found", f"no {scheme.value} declaration of {uscc} visible to you"
            )
        assert row.declared_on is not None and row.data is not None
        advice = await advise(scheme, row.declared_on, row.data, level, target)
        return advice.model_copy(
            update={
                "uscc": uscc,
                "district": row.district,
                "enterprise_name": row.enterprise_name,
                "submission_id": row.submission_id,
            }
        )

    @router.post("/advice", response_model=Advice, tags=["advice"])
    async def declaration_advice(body: AdviceBody, who: AnyRoleCaller) -> Advice:
        """Diagnosis for a declaration sent in the body (nothing is stored), as `greenfab advise FILE` gives it."""
        return await advise(body.scheme, body.declared_on, body.data, body.level, body.target)

    # ----- the what-if ---------------------------------------------------------------------

    @router.post(
        "/whatif",
        response_model=WhatIfReport,
        responses={200: {"content": {"text/html": {}, "text/csv": {}}}},
        tags=["what-if"],
    )
    async def run_whatif(
        who: BureauCaller,
        body: WhatIfBody,
        format: Annotated[str, Query(pattern="^(json|html|csv)$")] = "json",
    ) -> Any:
        """Rescore every unit's latest declaration under the draft editions beside the editions in force (bureau
        only). Publishes nothing, writes nothing to any unit. ``format=html`` gives the report page with its
        pictures, ``format=csv`` the units that change level or pass."""
        drafts: dict[Scheme, Edition] = {}
        for d in body.drafts:
            draft = draft_of(d)
            problems = rules.checker.check(draft, only=draft.edition(d.edition).edition)
            if problems:
                raise _refused("草案未通过检查，不进行模拟 / The draft fails its check; no what-if", problems)
            assert draft.rulebook is not None
            drafts[draft.rulebook.scheme] = draft.edition(d.edition)
        if runner.lock.locked():
            raise ProblemError(409, "已有政策模拟在运行 / A what-if is already running", "try again when it is done")
        async with runner.lock:
            lines = await store.latest_declarations(db, set(drafts))
            report = await runner.run(drafts, lines, body.limit)
        if format == "html":
            return HTMLResponse(whatif_report.page(report))
        if format == "csv":
            return PlainTextResponse(whatif_report.movers_csv(report), media_type="text/csv; charset=utf-8")
        return report

    # ----- rulebook editions ---------------------------------------------------------------

    @router.get("/rulebooks", response_model=list[EditionRow], tags=["rulebooks"])
    async def editions(who: CurrentPrincipal) -> list[EditionRow]:
        """Every edition of every scheme with its version, effective date and, if published here, who and why."""
        return await rules.rows(db)

    @router.post("/rulebooks/check", response_model=CheckResult, tags=["rulebooks"])
    async def check(who: BureauCaller, body: DraftBody) -> CheckResult:
        """A draft rulebook checked as `greenfab rules check` does (bureau)."""
        draft = parse_draft(dict(body.rulebook), "request")
        problems = draft.problems if draft.rulebook is None else rules.checker.check(draft, only=body.edition)
        return CheckResult(ok=not problems, problems=_problems(problems))

    @router.post("/rulebooks/publish", response_model=PublishResult, status_code=201, tags=["rulebooks"])
    async def publish(who: BureauCaller, body: PublishBody) -> PublishResult:
        """Publish a draft edition with its effective date (bureau): checked first, added to the rulebook, recorded
        on the audit chain with who and why; declarations dated from then on are scored by it."""
        draft = draft_of(body)
        try:
            edition, version, changes = await rules.publish(
                db, draft, body.edition, body.effective_from, who.subject, body.reason, date.today()
            )
        except PublishRefused as exc:
            raise _refused("该版本不能发布 / The edition cannot be published", exc.problems) from None
        pool.reload()
        assert draft.rulebook is not None
        lines = [f"{c.item or '设置'} {c.path}: {c.before} → {c.after}" for c in changes.changed] if changes else []
        await announce(
            RulebookPublished(
                correlation_id=version,
                actor=Actor(role=who.role, subject=who.subject, scope=who.scope),
                scheme=draft.rulebook.scheme,
                edition=edition.edition,
                effective_from=edition.effective_from,
                version=version,
                reason=body.reason,
                changes=lines[:200],
            )
        )
        return PublishResult(
            scheme=draft.rulebook.scheme,
            edition=edition.edition,
            effective_from=edition.effective_from,
            version=version,
            published_by=who.subject,
        )

    @router.get("/evaluations/{submission_id}/replay", response_model=Replay, tags=["evaluations"])
    async def replay(who: ReplayCaller, submission_id: Annotated[str, PathParam(max_length=64)]) -> Replay:
        """A stored evaluation scored again by durable_rules under exactly the rulebook version that scored it
        (bureau, auditors)."""
        async with db.session() as s:
            row = await s.get(StoredEvaluation, submission_id)
        if row is None or row.result is None or row.data is None or row.declared_on is None:
            raise ProblemError(404, "未找到该评价 / Not found", f"no stored evaluation {submission_id}")
        stored = Evaluation.model_validate(row.result)
        snap = await store.snapshot_of(db, stored.rulebook_version)
        if snap is None:
            raise ProblemError(
                409,
                "该规则版本未留存 / Version not kept",
                f"{stored.rulebook_version} was not kept (scored before versions were kept)",
            )
        raw = await pool.run(replay_in_worker, snap.model_dump(mode="json"), row.declared_on.isoformat(), row.data)
        replayed = Evaluation.model_validate(raw)
        return Replay(
            submission_id=submission_id,
            rulebook_version=stored.rulebook_version,
            identical=replayed == stored,
            stored=stored,
            replayed=replayed,
        )

    app.include_router(router)
    return app
