"""Generating the AsyncAPI and OpenAPI documents in contracts/ from the services themselves, and the
NATS server configuration compose.yaml carries (from contracts/nats_roles.py).

`greenfab specs` writes them; `greenfab specs --check` fails when a checked-in document differs
from what the code generates (CI runs it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from faststream.specification import AsyncAPI

from contracts.requests import REQUEST_REPLY
from greenfab.asyncapi import complete as complete_asyncapi

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts"
COMPOSE = CONTRACTS.parent / "compose.yaml"
NATS_BLOCK = "  nats-server:\n"  # compose.yaml's configs entry whose `content: |` is the generated configuration
_SPEC_SETTINGS = {"auth_secret": "specs-only-secret-not-used-to-sign-anything", "database_url": "sqlite+aiosqlite://"}


def _services() -> list[Any]:
    from services.audit.bootstrap import AuditService
    from services.audit.settings import AuditSettings
    from services.intake.bootstrap import IntakeService
    from services.intake.settings import IntakeSettings
    from services.notify.bootstrap import NotifyService
    from services.notify.settings import NotifySettings
    from services.scoring.bootstrap import ScoringService
    from services.scoring.settings import ScoringSettings
    from services.workflow.bootstrap import WorkflowService
    from services.workflow.settings import WorkflowSettings

    return [
        IntakeService(IntakeSettings(**_SPEC_SETTINGS)),  # type: ignore[arg-type]
        ScoringService(ScoringSettings(**_SPEC_SETTINGS)),  # type: ignore[arg-type]
        WorkflowService(WorkflowSettings(**_SPEC_SETTINGS)),  # type: ignore[arg-type]
        NotifyService(NotifySettings(**_SPEC_SETTINGS)),  # type: ignore[arg-type]
        AuditService(AuditSettings(**_SPEC_SETTINGS)),  # type: ignore[arg-type]
    ]


def _dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def documents() -> dict[Path, str]:
    """Every generated document, by its path under contracts/."""
    out: dict[Path, str] = {}
    services = _services()
    try:
        for svc in services:
            spec = AsyncAPI(
                svc.broker,
                title=f"greenfab {svc.name} messages",
                version="1.0.0",
                description=f"What the {svc.name} service publishes and consumes on NATS JetStream.",
            ).to_specification()
            messages = complete_asyncapi(json.loads(spec.to_json()), REQUEST_REPLY)
            out[CONTRACTS / "asyncapi" / f"{svc.name}.json"] = _dump(messages)
            out[CONTRACTS / "openapi" / f"{svc.name}.json"] = _dump(svc.app.openapi())
    finally:
        for svc in services:
            if hasattr(svc, "pool"):
                svc.pool.close()
    if COMPOSE.exists():
        out[COMPOSE] = compose_with_nats_config(COMPOSE.read_text(encoding="utf-8"))
    return out


def compose_with_nats_config(compose: str) -> str:
    """``compose`` with its nats-server config's content replaced by the generated one (`$` written `$$`)."""
    from greenfab.nats_config import render_for_compose

    start = compose.index("    content: |\n", compose.rindex(NATS_BLOCK)) + len("    content: |\n")
    end = start
    lines = compose[start:].splitlines(keepends=True)
    for line in lines:
        if line.strip() and not line.startswith("      "):
            break
        end += len(line)
    body = "".join(f"      {line}" if line.strip() else "\n" for line in render_for_compose().splitlines(True))
    return compose[:start] + body.replace("$", "$$") + compose[end:]


def main(check: bool) -> int:
    stale = []
    for path, text in documents().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if check:
            stale.append(str(path.relative_to(CONTRACTS.parent)))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(CONTRACTS.parent)}")
    if stale:
        print("out of date (run `uv run greenfab specs` and commit): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0
