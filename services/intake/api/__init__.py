"""Intake's HTTP API (/v1): declarations, forms, evidence and notices, a router per concern.

Each route is a few lines over a use case in services/intake/desk.py, which checks scope (the same 404 for
an id that is absent and one that is not the caller's) and acts through handlers.py.
"""

from __future__ import annotations

from fastapi import FastAPI

from greenfab.bodies import BodyLimits
from greenfab.http import service_app
from services.intake.api import declarations, evidence, forms, notices
from services.intake.desk import Desk

# Evidence uploads may be larger than any other body.
EVIDENCE_UPLOAD = r"/v1/declarations/[^/]+/evidence/[^/]+"


def build_app(desk: Desk, secret: str, max_body_bytes: int, max_evidence_bytes: int, body_timeout_s: float) -> FastAPI:
    app = service_app(
        title="greenfab intake API",
        version="1.0.0",
        description="Declarations from enterprises: submit, then read back with the evaluation. 申报受理接口。",
        secret=secret,
        body_limits=BodyLimits(max_body_bytes, [(EVIDENCE_UPLOAD, max_evidence_bytes)], body_timeout_s),
    )
    app.state.desk = desk
    for module in (declarations, forms, evidence, notices):
        app.include_router(module.router)
    return app
