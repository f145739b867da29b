"""Notices: before one is stored, the workflow service is asked which units it could be about.

A notice never creates a unit. Intake asks the workflow service (NATS request/reply, subject
``greenfab.workflow.units``) for the enterprise's units while the caller waits, and refuses by field
a notice about no unit, an objection to a unit not in publicity, or a report from another district
(the rule itself is contracts.notices.refusal, which the workflow service applies again).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from faststream.nats import NatsBroker

from contracts import subjects
from contracts.http import FieldError
from contracts.messages import UnitBrief, UnitLookupReply, UnitLookupRequest
from contracts.notices import AnyNotice, NoticeRefusal, designations_of, filer_refusal, refusal
from greenfab.auth import Principal
from greenfab.http import ProblemError
from greenfab.messaging import request

log = logging.getLogger(__name__)
UnitLookup = Callable[[str], Awaitable[list[UnitBrief]]]
LOOKUP_TIMEOUT_S = 5.0


def nats_lookup(broker: NatsBroker, timeout: float = LOOKUP_TIMEOUT_S) -> UnitLookup:
    """Ask the workflow service for an enterprise's units over NATS."""

    async def units(uscc: str) -> list[UnitBrief]:
        reply = await request(broker, subjects.WORKFLOW_UNITS, UnitLookupRequest(uscc=uscc), timeout=timeout)
        return UnitLookupReply.model_validate(reply).units

    return units


async def check(units_of: UnitLookup, notice: AnyNotice, who: Principal) -> str | None:
    """Refuse (ProblemError) a notice that may not be filed; 503 if the workflow service cannot be asked.

    Returns the district of the unit the notice is about (the unit's own, never the filer's), so that
    district's staff can read the notice.
    """
    _raise(filer_refusal(notice, who.actor()))
    try:
        units = await units_of(notice.uscc)
    except Exception as exc:  # any failure to ask means "cannot check now", never "accepted"
        log.warning("cannot look up the units of %s: %s", notice.uscc, exc)
        raise ProblemError(
            503,
            "暂时无法核实该单位，请稍后重试 / Cannot check the unit now",
            "the workflow service did not answer; nothing was stored, try again shortly",
        ) from exc
    _raise(refusal(notice, who.actor(), units))
    wanted = designations_of(notice)
    return next((u.district for u in units if u.designation in wanted), None)


def _raise(refused: NoticeRefusal | None) -> None:
    if refused is not None:
        error = FieldError(
            path=refused.path, code=refused.code, message_zh=refused.message_zh, message_en=refused.message_en
        )
        raise ProblemError(refused.status, f"{refused.message_zh} / {refused.message_en}", refused.message_en, [error])
