"""Core NATS request/reply subjects with the body each is asked with and the body each answers.

faststream's AsyncAPI generator knows neither the request of a subscriber that reads raw bytes nor any
reply; ``greenfab.asyncapi`` reads this table to document both (AsyncAPI 3 `reply`), and a test checks
that every request/reply subject a service answers has its line here.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from contracts import subjects
from contracts.http import DeclareReply, DeclareRequest, StatusRequest
from contracts.messages import RescoreReply, RescoreRequest, UnitLookupReply, UnitLookupRequest


@dataclass(frozen=True)
class RequestReply:
    """What a request on a subject carries, and what its reply carries."""

    request: type[BaseModel]
    reply: type[BaseModel]


REQUEST_REPLY: dict[str, RequestReply] = {
    subjects.INTAKE_DECLARE: RequestReply(DeclareRequest, DeclareReply),
    subjects.INTAKE_STATUS: RequestReply(StatusRequest, DeclareReply),
    subjects.SCORING_RESCORE: RequestReply(RescoreRequest, RescoreReply),
    subjects.WORKFLOW_UNITS: RequestReply(UnitLookupRequest, UnitLookupReply),
}
