"""A registry that grows: list-route latency and size, memory and bytes stored per unit.

    .venv/bin/python bench/registry.py                      # 300, 3,000 and 10,000 units
    .venv/bin/python bench/registry.py --levels 300,3000    # fewer
    .venv/bin/python bench/registry.py --quick              # 100 units: a smoke run

Starts its own `greenfab up` and fills it through the real path (intake's HTTP API) as fast as
it takes declarations: nine in ten grading declarations, one in ten green-factory declarations
inside an open call (each opens a district task), and one cultivation-pool entry per ten units.
At each level, once every unit took its first step and every consumer is drained, it measures:

- every list route (``--repeat`` calls each, as the widest reader that may call it): p50/p99
  latency and the answer's size; when a route pages (a ``cursor``/``next_cursor`` in the body or
  a ``Link: rel=next`` header), also the time and size of walking every page;
- RSS of each process;
- the data folder by where the bytes go (Temporal's SQLite, the JetStream store, each service's
  SQLite; tables by size where SQLite's dbstat is available), and bytes per unit.

The machine is shared: the load average is recorded with each level. Writes
`bench/results/registry-<time>.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import nats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import (
    ROOT,
    Stack,
    enterprise_token,
    grading_declaration,
    load_average,
    machine,
    percentiles,
    rss_mib,
    save_result,
    stack_processes,
    throwaway_stack,
    uscc,
)
from bench.path import Load, Observed, consumer_pending, wait_drained
from contracts import subjects
from tests.e2e.stack import PORT_FLAGS

DISTRICTS = ("海淀区", "朝阳区", "顺义区", "大兴区", "昌平区")
GREEN_FACTORY = json.loads((ROOT / "examples" / "green-factory-declaration.json").read_text())


class RegistryLoad(Load):
    """Grading declarations, with every tenth a green-factory one, spread over five districts."""

    def prepare(self, count: int) -> list[tuple[int, dict[str, Any], str]]:
        out = []
        for _ in range(count):
            n = self.next_n
            self.next_n += 1
            if n % 10 == 5:  # district 海淀区 (n % 5 == 0): its tasks and inbox are measured
                body = dict(GREEN_FACTORY, uscc=uscc(n), enterprise_name=f"北京基准测试工厂{n}有限公司")
            else:
                body = grading_declaration(n)
            body["district"] = DISTRICTS[n % len(DISTRICTS)]
            out.append((n, body, enterprise_token(self.stack, uscc(n))))
        return out


# ----- list routes --------------------------------------------------------------------------

# (service, path, role, scope)
ROUTES: tuple[tuple[str, str, str | None, str | None], ...] = (
    ("workflow", "/v1/public/grades", None, None),
    ("workflow", "/v1/public/grades?district=海淀区", None, None),
    ("workflow", "/v1/public/listed", None, None),
    ("workflow", "/v1/public/counts", None, None),
    ("workflow", "/v1/units", "bureau", None),
    ("workflow", "/v1/tasks?status=all", "bureau", None),
    ("workflow", "/v1/tasks?status=all", "district", "海淀区"),
    ("workflow", "/v1/calls", None, None),
    ("workflow", "/v1/pool", "bureau", None),
    ("workflow", "/v1/evaluator-bans", None, None),
    ("intake", "/v1/declarations", "bureau", None),
    ("notify", "/v1/inbox", "district", "海淀区"),
    ("notify", "/v1/deliveries", "bureau", None),
    ("audit", "/v1/audit/export", "auditor", None),
    ("audit", "/v1/audit/export?format=csv", "auditor", None),
)


def _next_page(r: httpx.Response) -> str | None:
    """The next page's URL if the answer pages (Link header or a cursor in the body), else None."""
    link = r.links.get("next", {}).get("url")
    if link:
        return str(link)
    if "json" not in r.headers.get("content-type", ""):
        return None
    try:
        body = r.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        cursor = body.get("next_cursor") or body.get("cursor") or body.get("next")
        if isinstance(cursor, str) and cursor:
            url = r.request.url
            return str(url.copy_merge_params({"cursor": cursor}))
    return None


async def measure_route(
    http: httpx.AsyncClient, stack: Stack, route: tuple[str, str, str | None, str | None], repeat: int
) -> dict[str, Any]:
    service, path, role, scope = route
    headers = {"Authorization": f"Bearer {stack.token(role, scope)}"} if role else {}
    url = stack.url(service) + path
    times, sizes, status = [], [], 0
    for _ in range(repeat):
        t = time.perf_counter()
        r = await http.get(url, headers=headers)
        times.append(time.perf_counter() - t)
        sizes.append(len(r.content))
        status = r.status_code
    out: dict[str, Any] = {
        "route": f"{service} {path}" + (f" ({role}{' ' + scope if scope else ''})" if role else " (public)"),
        "status": status,
        "latency_s": percentiles(times),
        "bytes": max(sizes),
    }
    nxt = _next_page(r)
    if nxt is not None:
        t = time.perf_counter()
        pages, total, page_times, last = 1, len(r.content), [], nxt
        while nxt is not None and pages < 100_000:
            last = nxt
            t_page = time.perf_counter()
            r = await http.get(nxt, headers=headers)
            page_times.append(time.perf_counter() - t_page)
            pages, total = pages + 1, total + len(r.content)
            nxt = _next_page(r)
        walk_s = round(time.perf_counter() - t, 3)
        # The deepest page (the last), asked again and again: keyset paging costs the same at any depth.
        deep = []
        for _ in range(repeat):
            t_page = time.perf_counter()
            await http.get(last, headers=headers)
            deep.append(time.perf_counter() - t_page)
        out["pages"] = {
            "count": pages,
            "bytes": total,
            "walk_s": walk_s,
            "page_s": percentiles(page_times),
            "last_page_s": percentiles(deep),
        }
    return out


# ----- bytes stored -------------------------------------------------------------------------


def _tables(db: Path) -> dict[str, int]:
    """Bytes per table and index (SQLite's dbstat), largest first; empty if dbstat is missing."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            rows = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
    except sqlite3.Error:
        return {}
    return {name: int(size) for name, size in rows[:12]}


def storage(data: Path) -> dict[str, Any]:
    """The data folder by where the bytes go."""
    out: dict[str, Any] = {}
    for db in sorted(data.glob("*.db")):
        files = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
        out[db.stem] = {
            "bytes": sum(f.stat().st_size for f in files if f.exists()),
            "wal_bytes": files[1].stat().st_size if files[1].exists() else 0,
            "tables": _tables(db),
        }
    nats_dir = data / "nats"
    streams: dict[str, int] = {}
    for f in nats_dir.rglob("*"):
        if f.is_file():
            parts = f.relative_to(nats_dir).parts
            key = parts[3] if len(parts) > 3 and parts[2] == "streams" else "/".join(parts[:2])
            streams[key] = streams.get(key, 0) + f.stat().st_size
    out["jetstream"] = {"bytes": sum(streams.values()), "by_stream": streams}
    logs = {f.name: f.stat().st_size for f in sorted((data / "logs").glob("*")) if f.is_file()}
    out["logs"] = {"bytes": sum(logs.values()), "by_file": logs}
    other = sum(f.stat().st_size for f in data.rglob("*") if f.is_file())
    out["total_bytes"] = other
    return out


async def jetstream_streams(nc: Any) -> dict[str, Any]:
    """Each stream's messages and bytes, its retention, and each consumer's backlog: when no consumer has
    anything pending or unacknowledged, every message the stream keeps is work already done."""
    js = nc.jetstream()
    out: dict[str, Any] = {}
    for info in await js.streams_info():
        name = info.config.name
        consumers = {
            c.name: {"pending": c.num_pending, "unacknowledged": c.num_ack_pending}
            for c in await js.consumers_info(name)
        }
        out[name] = {
            "messages": info.state.messages,
            "bytes": info.state.bytes,
            "retention": str(getattr(info.config.retention, "value", info.config.retention)),
            "max_age_s": info.config.max_age,
            "all_delivered": all(not c["pending"] and not c["unacknowledged"] for c in consumers.values()),
            "consumers": consumers,
        }
    return out


async def temporal_histories(stack: Stack, sample: int) -> dict[str, Any]:
    """Workflow histories from Temporal itself: how many workflows, and for a sample of them the history's
    size (events as stored, protobuf bytes) and the share of it that is the workflow's start input."""
    from temporalio.client import Client

    client = await Client.connect(f"127.0.0.1:{stack.ports['temporal-port']}")
    count = (await client.count_workflows()).count
    sizes, inputs, events = [], [], []
    async for wf in client.list_workflows(limit=sample):
        history = await client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
        sizes.append(sum(e.ByteSize() for e in history.events))
        started = history.events[0].workflow_execution_started_event_attributes
        inputs.append(started.input.ByteSize())
        events.append(len(history.events))
    n = max(len(sizes), 1)
    return {
        "workflows": count,
        "sampled": len(sizes),
        "history_bytes_mean": round(sum(sizes) / n),
        "start_input_bytes_mean": round(sum(inputs) / n),
        "start_input_share": round(sum(inputs) / max(sum(sizes), 1), 3),
        "events_mean": round(sum(events) / n, 1),
    }


# ----- the run ------------------------------------------------------------------------------


async def fill(load: RegistryLoad, seen: Observed, nc: Any, target: int, in_flight: int, stack: Stack) -> float:
    """Declare until ``target`` units exist, add one pool entry per ten, wait until drained; seconds taken."""
    t0 = time.monotonic()
    phase = f"fill-{target}"
    while (missing := target - sum(1 for s in load.sent if s.status == 202)) > 0:
        queue = load.prepare(missing)

        async def sender(queue: list[tuple[int, dict[str, Any], str]]) -> None:
            while queue:
                n, body, token = queue.pop()
                await load.one(phase, n, body, token)

        await asyncio.gather(*(sender(queue) for _ in range(in_flight)))
    for s in [s for s in load.sent if s.status == 202 and s.n % 10 == 0 and s.phase == phase]:
        district = DISTRICTS[s.n % len(DISTRICTS)]
        await load.http.post(
            stack.url("workflow") + "/v1/pool",
            json={"uscc": s.uscc, "enterprise_name": f"北京基准测试企业{s.n}有限公司"},
            headers={"Authorization": f"Bearer {stack.token('district', district)}"},
        )
    await wait_drained(load, seen, nc, 3600)
    return time.monotonic() - t0


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"kind": "registry", "machine": machine(), "args": vars(args), "levels": []}
    with throwaway_stack() as stack:
        nc = await nats.connect(stack.nats_url)
        seen = Observed()
        await nc.subscribe(subjects.UNIT_CHANGED, cb=seen.on_unit)
        load = RegistryLoad(stack, first=1)
        http = httpx.AsyncClient(timeout=120)
        try:
            bureau = {"Authorization": f"Bearer {stack.token('bureau', None)}"}
            r = await http.post(
                stack.url("workflow") + "/v1/calls",
                json={"scheme": "green-factory", "title": "基准测试征集", "opens_on": "2025-01-01",
                      "closes_on": "2026-12-31"},
                headers=bureau,
            )  # fmt: skip
            r.raise_for_status()
            await asyncio.sleep(1)
            empty = storage(stack.data_dir)
            result["empty"] = {"storage": empty, "rss_mib": rss_mib(stack_processes(stack))}
            for target in args.levels:
                print(f"filling to {target} units…", flush=True)
                took = await fill(load, seen, nc, target, args.in_flight, stack)
                units = len([s for s in load.sent if s.status == 202])
                print(f"  {units} units in {took:.0f} s (load {load_average()[0]:.1f}); measuring…", flush=True)
                level = await measure_level(http, stack, nc, args, units, empty)
                level["fill_seconds"] = round(took, 1)
                result["levels"].append(level)
                show_level(level)
        finally:
            await http.aclose()
            await load.close()
            await nc.drain()
    return result


async def measure_level(
    http: httpx.AsyncClient, stack: Stack, nc: Any, args: argparse.Namespace, units: int, empty: dict[str, Any]
) -> dict[str, Any]:
    """Every figure at one level: list routes, RSS, bytes by store, streams, Temporal's histories."""
    level: dict[str, Any] = {
        "units": units,
        "load_average": load_average(),
        "pending": {k: v for k, v in (await consumer_pending(nc)).items() if v},
    }
    level["routes"] = [await measure_route(http, stack, route, args.repeat) for route in ROUTES]
    level["rss_mib"] = rss_mib(stack_processes(stack))
    stored = storage(stack.data_dir)
    level["storage"] = stored
    level["bytes_per_unit"] = _per_unit(stored, empty, units)
    level["streams"] = await jetstream_streams(nc)
    level["temporal"] = await temporal_histories(stack, args.history_sample)
    return level


def _count(db: Path, table: str) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608 (a fixed name)


async def attach(args: argparse.Namespace) -> dict[str, Any]:
    """Measure a stack that is already running (e.g. this benchmark's own, still filling) as it stands now.

    Its baseline is an empty folder (nothing subtracted), and its unit count is intake's declarations; the
    workflow service's units, and what the consumers still have pending, are recorded beside it."""
    data = Path(args.attach)
    state = json.loads((data / "stack.json").read_text())
    stack = Stack(data, ports={flag: int(state[flag.replace("-", "_")]) for flag in PORT_FLAGS})
    stack.proc = type("Running", (), {"pid": state["pid"]})()  # type: ignore[assignment]  # the supervisor
    declared, started = _count(data / "intake.db", "declarations"), _count(data / "workflow.db", "units")
    print(f"attached to {data}: {declared:,} declarations, {started:,} units with a workflow", flush=True)
    nc = await nats.connect(stack.nats_url)
    http = httpx.AsyncClient(timeout=120)
    try:
        nothing = {"total_bytes": 0}
        level = await measure_level(http, stack, nc, args, declared, nothing)
        level["units_with_workflow"] = started
        show_level(level)
        print(f"  (units counted as intake's declarations; {started:,} had a workflow; pending {level['pending']})")
    finally:
        await http.aclose()
        await nc.drain()
    return {"kind": "registry-attached", "machine": machine(), "args": vars(args), "levels": [level]}


def _per_unit(stored: dict[str, Any], empty: dict[str, Any], units: int) -> dict[str, float]:
    out = {}
    for key, value in stored.items():
        if isinstance(value, dict) and "bytes" in value:
            before = empty.get(key, {}).get("bytes", 0)
            out[key] = round((value["bytes"] - before) / units)
    out["total"] = round((stored["total_bytes"] - empty["total_bytes"]) / units)
    wal = sum(v.get("wal_bytes", 0) for v in stored.values() if isinstance(v, dict))
    wal_before = sum(v.get("wal_bytes", 0) for v in empty.values() if isinstance(v, dict))
    out["total_without_sqlite_wal"] = round((stored["total_bytes"] - wal - empty["total_bytes"] + wal_before) / units)
    return out


def show_level(level: dict[str, Any]) -> None:
    print(f"\n{level['units']} units (load average {level['load_average']}):")
    for r in level["routes"]:
        lat = r["latency_s"]
        pages = r.get("pages")
        paged = ""
        if pages:
            deep = pages["last_page_s"]
            paged = (
                f", {pages['count']} pages {pages['bytes'] / 1e3:.0f} kB in {pages['walk_s']} s,"
                f" last page p50 {deep['p50'] * 1000:.1f} ms p99 {deep['p99'] * 1000:.1f} ms"
            )
        print(
            f"  {r['route']:<52} {r['status']}  p50 {lat['p50'] * 1000:6.1f} ms  p99 {lat['p99'] * 1000:6.1f} ms"
            f"  {r['bytes'] / 1e3:8.1f} kB{paged}"
        )
    print("  RSS MiB: " + ", ".join(f"{k} {v:.0f}" for k, v in level["rss_mib"].items()))
    per = level["bytes_per_unit"]
    print("  bytes per unit: " + ", ".join(f"{k} {v:,.0f}" for k, v in sorted(per.items(), key=lambda kv: -kv[1])))
    for name, info in level["storage"].items():
        if isinstance(info, dict) and info.get("tables"):
            top = ", ".join(f"{t} {b / 1e6:.1f} MB" for t, b in list(info["tables"].items())[:5])
            print(f"  {name}: {info['bytes'] / 1e6:.1f} MB (WAL {info['wal_bytes'] / 1e6:.1f} MB): {top}")
    js = level["storage"]["jetstream"]
    streams = ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in js["by_stream"].items())
    print(f"  jetstream: {js['bytes'] / 1e6:.1f} MB: {streams}")
    for name, info in level["streams"].items():
        print(
            f"    {name}: {info['messages']:,} messages {info['bytes'] / 1e6:.1f} MB, retention {info['retention']},"
            f" {len(info['consumers'])} consumers,"
            f" {'every message delivered and acknowledged' if info['all_delivered'] else 'work pending'}"
        )
    logs = level["storage"]["logs"]
    print(
        f"  logs: {logs['bytes'] / 1e6:.1f} MB: "
        + ", ".join(f"{k} {v / 1e3:.0f} kB" for k, v in logs["by_file"].items())
    )
    t = level["temporal"]
    print(
        f"  temporal: {t['workflows']:,} workflows; {t['sampled']} sampled: history {t['history_bytes_mean']:,} B"
        f" ({t['events_mean']} events), of which the start input {t['start_input_bytes_mean']:,} B"
        f" ({t['start_input_share']:.0%})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default="300,3000,10000", help="unit counts to measure at, ascending")
    parser.add_argument("--in-flight", type=int, default=16, help="declarations outstanding while filling")
    parser.add_argument("--repeat", type=int, default=20, help="calls per list route per level")
    parser.add_argument("--history-sample", type=int, default=30, help="workflow histories read from Temporal")
    parser.add_argument("--attach", help="measure the running stack of this data folder now, instead of filling one")
    parser.add_argument("--quick", action="store_true", help="smoke run: 100 units, 5 calls per route")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.levels, args.repeat = "100", 5
    args.levels = [int(x) for x in args.levels.split(",")]
    result = asyncio.run(attach(args) if args.attach else main_async(args))
    if not args.no_save:
        print(f"saved {save_result('registry', result)}")


if __name__ == "__main__":
    main()
