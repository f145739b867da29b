"""Counters for `bench/roundtrips.py`, loaded into each service process through PYTHONPATH.

Only when BENCH_COUNT_DIR is set and the process is a greenfab service: counts SQL statements
(by verb), commits and connection checkouts (SQLAlchemy events on every engine), NATS publishes
and requests by kind (nats-py), and Temporal client RPCs by name (temporalio's service client).
The counts are written to BENCH_COUNT_DIR/<service>-<pid>.json twice a second (services leave
with os._exit, so nothing can be written at exit). Nothing here changes what a service does.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter
from typing import Any

_DIR = os.environ.get("BENCH_COUNT_DIR")
_counts: Counter[str] = Counter()
_lock = threading.Lock()


def _count(key: str) -> None:
    with _lock:
        _counts[key] += 1


def _service() -> str | None:
    argv = " ".join(getattr(sys, "orig_argv", sys.argv))
    for name in ("scoring", "intake", "workflow", "notify", "audit"):
        if f"services.{name}" in argv:
            return name
    return None


def _nats_kind(subject: str) -> str:
    if subject.startswith("$JS.ACK"):
        return "ack/nak"
    if subject.startswith("$JS.API.CONSUMER.MSG.NEXT"):
        return "fetch"
    if subject.startswith("$JS.API"):
        return "js-api"
    return subject


def _install() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    @event.listens_for(Engine, "before_cursor_execute")
    def _stmt(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
        _count(f"sql.{verb}")

    @event.listens_for(Engine, "commit")
    def _commit(_conn: Any) -> None:
        _count("sql.commit")

    @event.listens_for(Pool, "checkout")
    def _checkout(*_args: Any) -> None:
        _count("sql.session")

    import nats.aio.client as nats_client

    publish = nats_client.Client.publish
    request = nats_client.Client.request

    async def counted_publish(self: Any, subject: str, *args: Any, **kwargs: Any) -> Any:
        # A request's own publish is counted here too (as nats.publish.<subject>).
        _count(f"nats.publish.{_nats_kind(subject)}")
        return await publish(self, subject, *args, **kwargs)

    async def counted_request(self: Any, subject: str, *args: Any, **kwargs: Any) -> Any:
        _count(f"nats.request.{_nats_kind(subject)}")
        return await request(self, subject, *args, **kwargs)

    nats_client.Client.publish = counted_publish  # type: ignore[method-assign]
    nats_client.Client.request = counted_request  # type: ignore[method-assign]

    import temporalio.service as temporal_service

    rpc = temporal_service._BridgeServiceClient._rpc_call  # noqa: SLF001

    async def counted_rpc(self: Any, *args: Any, **kwargs: Any) -> Any:
        _count(f"temporal.{kwargs.get('rpc', args[0] if args else '?')}")
        return await rpc(self, *args, **kwargs)

    temporal_service._BridgeServiceClient._rpc_call = counted_rpc  # type: ignore[method-assign]  # noqa: SLF001


def _dump(path: str) -> None:
    while True:
        time.sleep(0.5)
        with _lock:
            data = dict(_counts)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f)
        os.replace(tmp, path)


if _DIR and (_name := _service()) is not None:
    try:
        _install()
    except Exception as exc:  # noqa: BLE001 - a counter must never stop a service
        print(f"bench counters not installed: {exc}", file=sys.stderr)
    else:
        target = os.path.join(_DIR, f"{_name}-{os.getpid()}.json")
        threading.Thread(target=_dump, args=(target,), daemon=True, name="bench-counters").start()
