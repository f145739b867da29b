"""The whole declaration path under load, against the raw ceilings of the same servers, in one run.

    .venv/bin/python bench/path.py                 # 10, 25, 50/s and the most it takes, 60 s each
    .venv/bin/python bench/path.py --quick         # a smoke run (10 s phases, 10/s and max)
    .venv/bin/python bench/path.py --rates 25 --duration 120

Starts its own `greenfab up` (temporary folder, free ports). Each phase offers grading
declarations (a new enterprise, hence a new unit, each) to intake's HTTP API, open loop at a fixed
rate, or closed loop with ``--in-flight`` requests outstanding for "max". Figures come from the
system itself: the HTTP answer (accepted), the `occurred_at` inside each `evaluation.completed`
(evaluated), Temporal's start time of each unit's workflow (workflow started) and the
`occurred_at` of its first `unit.changed` (first step: the workflow ran and its effects were
published). Between phases the stack drains. Backlog: every JetStream consumer's pending count
at the start and end of each phase, and the slope of (accepted − first step) over the phase.

Raw ceilings, before and after the phases, on the same servers: Temporal `start_workflow` (and
signal-with-start) with 50 in flight and the payload sizes the system uses (no worker polls that
task queue), and JetStream acked publishes of a `submission.received`-sized payload with 50 in
flight. The machine is shared: the load average is recorded with each figure; compare ratios
within one run. Each run writes `bench/results/path-<time>.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nats
from nats.aio.client import Client as Nats
from nats.aio.msg import Msg
from nats.js.api import StorageType, StreamConfig
from temporalio.api.enums.v1 import EventType, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import (
    CpuWindow,
    Stack,
    enterprise_token,
    fmt_latency,
    grading_declaration,
    load_average,
    machine,
    percentiles,
    save_result,
    stack_processes,
    throwaway_stack,
    uscc,
)
from contracts import subjects
from tests.support.servers import free_port

RAW_QUEUE = "bench-raw-ceiling"
RAW_STREAM = "BENCH_RAW"
SIGNALED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


@dataclass
class Sent:
    n: int
    uscc: str
    phase: str
    submitted: float
    accepted: float | None = None
    status: int | None = None
    id: str | None = None


@dataclass
class Observed:
    """What the system announced on NATS, by USCC (one unit per USCC here)."""

    evaluated: dict[str, tuple[float, float]] = field(default_factory=dict)  # occurred_at, received
    first_step: dict[str, tuple[float, float]] = field(default_factory=dict)
    submission_bytes: list[int] = field(default_factory=list)
    evaluation_bytes: list[int] = field(default_factory=list)
    unit_changed: int = 0

    async def on_evaluation(self, msg: Msg) -> None:
        body = json.loads(msg.data)
        self.evaluation_bytes.append(len(msg.data))
        self.evaluated.setdefault(body["uscc"], (epoch(body["occurred_at"]), time.time()))

    async def on_unit(self, msg: Msg) -> None:
        body = json.loads(msg.data)
        self.unit_changed += 1
        self.first_step.setdefault(body["uscc"], (epoch(body["occurred_at"]), time.time()))

    async def on_submission(self, msg: Msg) -> None:
        self.submission_bytes.append(len(msg.data))


LIFECYCLE_QUEUE = "greenfab-lifecycle"  # the workflow service's default task queue


async def temporal_backlog(client: Client) -> dict[str, float]:
    """Tasks waiting in the lifecycle task queue (approximate, as Temporal reports them), by kind."""
    out: dict[str, float] = {}
    for kind, value in (("workflow_tasks", TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
                        ("activity_tasks", TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)):  # fmt: skip
        with contextlib.suppress(Exception):
            r = await client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace="default",
                    task_queue=TaskQueue(name=LIFECYCLE_QUEUE),
                    task_queue_type=value,
                    report_stats=True,
                )
            )
            out[kind] = r.stats.approximate_backlog_count
            out[kind + "_age_s"] = round(r.stats.approximate_backlog_age.ToTimedelta().total_seconds(), 1)
    return out


async def consumer_stats(nc: Nats) -> dict[str, dict[str, int]]:
    """Per durable consumer: deliveries so far (redeliveries included), messages delivered more than once and not
    yet acked, delivered and not acked, not yet delivered. Deliveries beyond one per message are wasted work
    (an evaluation redelivered after the ack wait costs a Temporal signal)."""
    js = nc.jetstream()
    out: dict[str, dict[str, int]] = {}
    for spec in subjects.ALL_STREAMS:
        with contextlib.suppress(Exception):
            for info in await js.consumers_info(spec.name):
                out[info.name] = {
                    "delivered": int(info.delivered.consumer_seq or 0) if info.delivered else 0,
                    "redelivered_unacked": int(info.num_redelivered or 0),
                    "ack_pending": int(info.num_ack_pending or 0),
                    "not_delivered": int(info.num_pending or 0),
                }
    return out


# ----- the workflow service's Temporal worker, from its Prometheus metrics ------------------------------

METRICS_ENV = "GREENFAB_TEMPORAL_METRICS_BIND"
# Worker metrics kept per sample (gauges) and per phase (histogram and counter deltas); sdk-core's names.
SLOT_GAUGES = ("temporal_worker_task_slots_available", "temporal_worker_task_slots_used")
HISTOGRAMS = (
    "temporal_workflow_task_schedule_to_start_latency",
    "temporal_workflow_task_execution_latency",
    "temporal_workflow_task_replay_latency",
    "temporal_workflow_endtoend_latency",
    "temporal_local_activity_execution_latency",
    "temporal_activity_execution_latency",
    "temporal_request_latency",
)


def _labels(text: str) -> dict[str, str]:
    out = {}
    for part in text.split('",'):
        key, _, value = part.partition('="')
        if key:
            out[key.strip().strip(",")] = value.rstrip('"')
    return out


def parse_worker_metrics(text: str) -> dict[str, float]:
    """Prometheus text → {"name{kind}": value}: labels folded to what tells slot kinds and queues apart
    (worker_type; sticky or normal task queue; the RPC's operation; a histogram bucket's le)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("temporal_"):
            continue
        head, _, value = line.rpartition(" ")
        name, _, rest = head.partition("{")
        labels = _labels(rest.rstrip("}"))
        keep = []
        if "worker_type" in labels:
            keep.append(labels["worker_type"])
        if "task_queue" in labels and name.startswith("temporal_workflow_task"):
            keep.append("normal" if labels["task_queue"] == LIFECYCLE_QUEUE else "sticky")
        if "operation" in labels:
            keep.append(labels["operation"])
        if "le" in labels:
            keep.append("le=" + labels["le"])
        key = name + ("{" + ",".join(keep) + "}" if keep else "")
        with contextlib.suppress(ValueError):
            out[key] = out.get(key, 0.0) + float(value)
    return out


async def worker_metrics(http: httpx.AsyncClient | None) -> dict[str, float]:
    if http is None:
        return {}
    with contextlib.suppress(httpx.HTTPError):
        return parse_worker_metrics((await http.get("/metrics")).text)
    return {}


def metric_deltas(start: dict[str, float], end: dict[str, float]) -> dict[str, Any]:
    """Over a phase: each histogram's count, mean and p50/p99 (from its buckets, ms), each counter's increase."""
    out: dict[str, Any] = {}
    for key, value in end.items():
        base = key.split("{")[0]
        if base.endswith("_count") and base.removesuffix("_count") in HISTOGRAMS:
            name = base.removesuffix("_count")
            rest = key[len(base) :]
            count = value - start.get(key, 0.0)
            if count <= 0:
                continue
            total = end.get(name + "_sum" + rest, 0.0) - start.get(name + "_sum" + rest, 0.0)
            inner = rest.strip("{}")
            buckets = sorted(
                (float(k.rsplit("le=", 1)[1].rstrip("}")), v - start.get(k, 0.0))
                for k, v in end.items()
                if k.startswith(name + "_bucket{")
                and k.rsplit("le=", 1)[1] != "+Inf}"
                and k.split("{", 1)[1].rsplit("le=", 1)[0].rstrip(",") == inner
            )

            def quantile(q: float, buckets: list[tuple[float, float]] = buckets, count: float = count) -> float | None:
                return next((le for le, n in buckets if n >= q * count), None)

            out[name.removeprefix("temporal_") + rest] = {
                "count": int(count),
                "mean_ms": round(total / count, 1),
                "p50_ms_at_most": quantile(0.5),
                "p99_ms_at_most": quantile(0.99),
            }
        elif (
            not any(base.startswith(h) for h in HISTOGRAMS)
            and base not in SLOT_GAUGES
            and (delta := value - start.get(key, 0.0))
        ):
            out[key.removeprefix("temporal_")] = delta  # counters' increase (gauges: their change)
    return out


def slot_use(metrics: dict[str, float]) -> dict[str, float]:
    """Slots in use and free by kind (WorkflowWorker, LocalActivityWorker, ...), and the sticky cache size."""
    out = {k.removeprefix("temporal_worker_task_"): v for k, v in metrics.items() if k.split("{")[0] in SLOT_GAUGES}
    if "temporal_sticky_cache_size" in metrics:
        out["sticky_cache_size"] = metrics["temporal_sticky_cache_size"]
    return out


async def consumer_pending(nc: Nats) -> dict[str, int]:
    """Messages each durable consumer has yet to finish (not yet delivered + delivered, not acked)."""
    js = nc.jetstream()
    out: dict[str, int] = {}
    for spec in subjects.ALL_STREAMS:
        with contextlib.suppress(Exception):
            for info in await js.consumers_info(spec.name):
                out[info.name] = int(info.num_pending or 0) + int(info.num_ack_pending or 0)
    return out


# ----- load ---------------------------------------------------------------------------------


class Load:
    """Posts grading declarations to intake; one new enterprise (and unit) per declaration."""

    def __init__(self, stack: Stack, first: int) -> None:
        self.stack = stack
        self.next_n = first
        self.sent: list[Sent] = []
        self.transport_errors = 0
        self.http = httpx.AsyncClient(
            base_url=stack.url("intake"),
            timeout=60,
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=256),
        )

    def prepare(self, count: int) -> list[tuple[int, dict[str, Any], str]]:
        out = []
        for _ in range(count):
            n = self.next_n
            self.next_n += 1
            out.append((n, grading_declaration(n), enterprise_token(self.stack, uscc(n))))
        return out

    async def one(self, phase: str, n: int, body: dict[str, Any], token: str) -> None:
        """Declare once; a dropped connection is retried with the same Idempotency-Key (intake answers the first)."""
        sent = Sent(n=n, uscc=body["uscc"], phase=phase, submitted=time.time())
        self.sent.append(sent)
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"bench-{n}"}
        for attempt in range(3):
            try:
                r = await self.http.post("/v1/declarations", json=body, headers=headers)
                break
            except httpx.TransportError as exc:
                self.transport_errors += 1
                if attempt == 2:
                    print(f"   request failed 3 times: {type(exc).__name__}: {exc}", flush=True)
                    return
        sent.accepted, sent.status = time.time(), r.status_code
        if r.status_code in (200, 202):
            sent.status, sent.id = 202, r.json()["id"]
        elif len([s for s in self.sent if s.status not in (None, 202)]) <= 3:
            print(f"   intake answered {r.status_code}: {r.text[:300]}", flush=True)

    async def fixed_rate(self, phase: str, rate: float, seconds: float) -> None:
        """Open loop: one declaration every 1/rate s whatever the answers take."""
        work = self.prepare(int(rate * seconds))
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        tasks = []
        for i, (n, body, token) in enumerate(work):
            await asyncio.sleep(max(0.0, t0 + i / rate - loop.time()))
            tasks.append(asyncio.create_task(self.one(phase, n, body, token)))
        await asyncio.gather(*tasks)

    async def closed_loop(self, phase: str, in_flight: int, seconds: float) -> None:
        """As fast as intake answers, ``in_flight`` requests outstanding."""
        loop = asyncio.get_running_loop()
        stop = loop.time() + seconds

        async def sender() -> None:
            while loop.time() < stop:
                (n, body, token) = self.prepare(1)[0]
                await self.one(phase, n, body, token)

        await asyncio.gather(*(sender() for _ in range(in_flight)))

    async def close(self) -> None:
        await self.http.aclose()


# ----- raw ceilings -------------------------------------------------------------------------


async def _saturate(
    seconds: float, in_flight: int, call: Callable[[int], Awaitable[object]], cpu: CpuWindow
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    counter = iter(range(10**9))
    stop = 0.0  # set once warm

    async def worker() -> None:
        while loop.time() < stop:
            t = time.perf_counter()
            await call(next(counter))
            latencies.append(time.perf_counter() - t)

    # Two seconds first, not counted: connections, caches and the server's own start-up work.
    warm_stop = loop.time() + 2.0

    async def warm() -> None:
        while loop.time() < warm_stop:
            await call(next(counter))

    await asyncio.gather(*(warm() for _ in range(in_flight)))
    stop = loop.time() + seconds
    t0 = time.perf_counter()
    cpu.start()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    cpu.stop()
    took = time.perf_counter() - t0
    shares = {k: v for k, v in cpu.shares().items() if v >= 0.02}
    return {
        "rate": round(len(latencies) / took, 1),
        "count": len(latencies),
        "latency": percentiles(latencies),
        "cpu_share_of_one_core": shares,
    }


async def raw_ceilings(
    stack: Stack, nc: Nats, tag: str, seconds: float, in_flight: int, sizes: dict[str, int]
) -> dict[str, Any]:
    client = await Client.connect(f"127.0.0.1:{stack.ports['temporal-port']}")
    start_input = "x" * sizes["workflow_input"]
    signal_arg = "x" * sizes["signal_arg"]
    out: dict[str, Any] = {"load_average_before": load_average()}
    cpu = CpuWindow(stack_processes(stack))

    async def start(i: int) -> None:
        await client.start_workflow("BenchRawWorkflow", start_input, id=f"raw-{tag}-start-{i}", task_queue=RAW_QUEUE)

    async def signal_with_start(i: int) -> None:
        await client.start_workflow(
            "BenchRawWorkflow",
            start_input,
            id=f"raw-{tag}-sws-{i}",
            task_queue=RAW_QUEUE,
            start_signal="evaluation_completed",
            start_signal_args=[signal_arg],
        )

    out["temporal_start_workflow"] = await _saturate(seconds, in_flight, start, cpu)
    out["temporal_signal_with_start"] = await _saturate(seconds, in_flight, signal_with_start, cpu)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name=RAW_STREAM, subjects=["bench.raw"], storage=StorageType.FILE))
    payload = b"x" * sizes["submission"]
    try:

        async def publish(i: int) -> None:
            await js.publish("bench.raw", payload, headers={"Nats-Msg-Id": f"raw-{tag}-{i}"})

        out["jetstream_publish"] = await _saturate(seconds, in_flight, publish, cpu)
    finally:
        await js.delete_stream(RAW_STREAM)
    out["load_average_after"] = load_average()
    return out


# ----- Temporal's side ----------------------------------------------------------------------


async def workflow_starts(stack: Stack, expected: set[str] | None = None) -> dict[str, float]:
    """Each unit workflow's start time (epoch s), by USCC, from Temporal's visibility store.

    Visibility is written after the workflow, from Temporal's own queue: with ``expected`` (units known to have
    taken their first step) ask again, for up to 30 s, until each of them is listed, so that the slowest starts
    are not the ones left out of the percentiles."""
    client = await Client.connect(f"127.0.0.1:{stack.ports['temporal-port']}")
    deadline = time.monotonic() + 30
    for attempt in range(40):
        out: dict[str, float] = {}
        try:
            async for wf in client.list_workflows(
                "WorkflowType = 'UnitLifecycleWorkflow'", page_size=500, rpc_timeout=timedelta(seconds=60)
            ):
                code = wf.id.removeprefix("unit-").removesuffix("-annual-grading")
                out[code] = wf.start_time.timestamp()
        except RPCError as exc:  # a busy server: ask again
            print(f"   listing workflows failed ({exc}); try {attempt + 2}", flush=True)
            await asyncio.sleep(5)
            continue
        if expected and not expected <= out.keys() and time.monotonic() < deadline:
            await asyncio.sleep(1)
            continue
        return out
    raise RuntimeError("Temporal would not list the workflows")


async def history_profile(stack: Stack, codes: list[str]) -> dict[str, Any]:
    """What Temporal stored for a few started units: events by type, tasks, bytes."""
    client = await Client.connect(f"127.0.0.1:{stack.ports['temporal-port']}")
    units = []
    for code in codes:
        history = await client.get_workflow_handle(f"unit-{code}-annual-grading").fetch_history()
        kinds: dict[str, int] = {}
        for e in history.events:
            name = EventType.Name(e.event_type).removeprefix("EVENT_TYPE_")
            kinds[name] = kinds.get(name, 0) + 1
        first = history.events[0].workflow_execution_started_event_attributes
        signal = next(
            (e.workflow_execution_signaled_event_attributes for e in history.events if e.event_type == SIGNALED), None
        )
        units.append(
            {
                "events": len(history.events),
                "bytes": sum(e.ByteSize() for e in history.events),
                "by_type": kinds,
                "workflow_input_bytes": first.input.ByteSize(),
                "signal_arg_bytes": signal.input.ByteSize() if signal else 0,
            }
        )
    return {"units": units}


# ----- phases -------------------------------------------------------------------------------


def _slope(points: list[tuple[float, float]]) -> float:
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    den = sum((p[0] - mx) ** 2 for p in points)
    return sum((p[0] - mx) * (p[1] - my) for p in points) / den if den else 0.0


@dataclass
class Phase:
    name: str
    rate: float | None  # None: closed loop
    seconds: float
    t_start: float = 0.0
    t_end: float = 0.0
    samples: list[dict[str, Any]] = field(default_factory=list)
    pending_start: dict[str, int] = field(default_factory=dict)
    pending_end: dict[str, int] = field(default_factory=dict)
    temporal_backlog: dict[str, dict[str, float]] = field(default_factory=dict)
    drained_after_s: float | None = None
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    cpu_share: dict[str, float] = field(default_factory=dict)
    load_average: dict[str, list[float]] = field(default_factory=dict)
    machine: dict[str, float] = field(default_factory=dict)
    metrics_start: dict[str, float] = field(default_factory=dict)
    metrics_end: dict[str, float] = field(default_factory=dict)
    consumers_start: dict[str, dict[str, int]] = field(default_factory=dict)
    evaluations_seen_start: int = 0
    deliveries: dict[str, int] = field(default_factory=dict)
    worker: dict[str, Any] = field(default_factory=dict)
    worker_during_phase: dict[str, Any] = field(default_factory=dict)


def machine_counters() -> dict[str, float]:
    """Whole-machine CPU seconds (busy and all, every core) and pressure-stall totals (µs) for CPU and I/O."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    out = {"cpu_all_s": sum(fields[:8]) / tick, "cpu_idle_s": (fields[3] + fields[4]) / tick}
    for kind in ("cpu", "io"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            some = Path(f"/proc/pressure/{kind}").read_text().split("\n", 1)[0]
            out[f"{kind}_some_us"] = float(some.rsplit("total=", 1)[1])
    return out


def machine_share(
    start: dict[str, float], end: dict[str, float], seconds: float, stack_cpu_s: float
) -> dict[str, float]:
    """Over a phase: cores busy in all (stack, generator and anything else on the machine), cores busy outside the
    stack and its generator (other jobs: a quiet window should show about 0), and the share of time some task
    waited for CPU or for I/O (Linux pressure stall information)."""
    busy = (end["cpu_all_s"] - start["cpu_all_s"]) - (end["cpu_idle_s"] - start["cpu_idle_s"])
    out = {"cores_busy": round(busy / seconds, 2), "cores_busy_outside_stack": round((busy - stack_cpu_s) / seconds, 2)}
    for kind in ("cpu", "io"):
        key = f"{kind}_some_us"
        if key in start and key in end:
            out[f"{kind}_pressure_some"] = round((end[key] - start[key]) / 1e6 / seconds, 3)
    return out


async def wait_drained(load: Load, seen: Observed, nc: Nats, timeout: float) -> float | None:
    """Seconds until every accepted declaration's unit took its first step and no consumer has work."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        accepted = {s.uscc for s in load.sent if s.status == 202}
        if accepted <= seen.first_step.keys() and not any((await consumer_pending(nc)).values()):
            return time.monotonic() - t0
        await asyncio.sleep(0.5)
    missing = {s.uscc for s in load.sent if s.status == 202} - seen.first_step.keys()
    pending = {k: v for k, v in (await consumer_pending(nc)).items() if v}
    print(f"   not drained after {timeout:.0f} s: {len(missing)} unit(s) without a first step; pending {pending}")
    return None


async def run_phase(
    phase: Phase, load: Load, seen: Observed, nc: Nats, stack: Stack, in_flight: int, metrics: httpx.AsyncClient | None
) -> None:
    temporal = await Client.connect(f"127.0.0.1:{stack.ports['temporal-port']}")
    procs = stack_processes(stack)
    cpu = CpuWindow(procs)
    phase.metrics_start = await worker_metrics(metrics)
    phase.consumers_start = await consumer_stats(nc)
    phase.evaluations_seen_start = len(seen.evaluation_bytes)
    phase.pending_start = await consumer_pending(nc)
    phase.temporal_backlog["start"] = await temporal_backlog(temporal)
    phase.load_average["start"] = load_average()
    mine = [s for s in load.sent if s.phase == phase.name]
    stop = asyncio.Event()

    async def sampler() -> None:
        while not stop.is_set():
            now = time.time()
            accepted = {s.uscc for s in load.sent if s.phase == phase.name and s.status == 202}
            phase.samples.append(
                {
                    "t": round(now - phase.t_start, 2),
                    "accepted": len(accepted),
                    "evaluated": len(accepted & seen.evaluated.keys()),
                    "first_step": len(accepted & seen.first_step.keys()),
                    "pending": await consumer_pending(nc),
                    "temporal_backlog": await temporal_backlog(temporal),
                    "worker_slots": slot_use(await worker_metrics(metrics)),
                    "redelivered_unacked": {
                        k: v["redelivered_unacked"]
                        for k, v in (await consumer_stats(nc)).items()
                        if v["redelivered_unacked"]
                    },
                }
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

    phase.t_start = time.time()
    cpu.start()
    counters = machine_counters()
    sampling = asyncio.create_task(sampler())
    if phase.rate is None:
        await load.closed_loop(phase.name, in_flight, phase.seconds)
    else:
        await load.fixed_rate(phase.name, phase.rate, phase.seconds)
    phase.t_end = time.time()
    cpu.stop()
    phase.machine = machine_share(counters, machine_counters(), phase.t_end - phase.t_start, sum(cpu.seconds.values()))
    stop.set()
    await sampling
    phase.pending_end = await consumer_pending(nc)
    phase.temporal_backlog["end"] = await temporal_backlog(temporal)
    phase.load_average["end"] = load_average()
    phase.cpu_seconds, phase.cpu_share = cpu.seconds, cpu.shares()
    phase.metrics_end = await worker_metrics(metrics)
    del mine


async def after_drain(phase: Phase, seen: Observed, nc: Nats, metrics: httpx.AsyncClient | None) -> None:
    """Deliveries per consumer and the worker's task latencies from the phase's start to the end of its drain."""
    end = await consumer_stats(nc)
    evaluations = len(seen.evaluation_bytes) - phase.evaluations_seen_start
    phase.deliveries = {
        name: end[name]["delivered"] - phase.consumers_start.get(name, {}).get("delivered", 0) for name in end
    }
    phase.deliveries["evaluation.completed published"] = evaluations
    phase.worker = metric_deltas(phase.metrics_start, await worker_metrics(metrics))
    phase.worker_during_phase = metric_deltas(phase.metrics_start, phase.metrics_end)


def summarise(phase: Phase, load: Load, seen: Observed, starts: dict[str, float]) -> dict[str, Any]:
    mine = [s for s in load.sent if s.phase == phase.name]
    ok = [s for s in mine if s.status == 202]
    window = phase.t_end - phase.t_start

    def within(t: float) -> bool:
        return phase.t_start <= t <= phase.t_end

    def rate_of(times: dict[str, float]) -> float:
        return round(sum(1 for s in ok if s.uscc in times and within(times[s.uscc])) / window, 1)

    accepted_lat = [s.accepted - s.submitted for s in ok if s.accepted]
    evaluated_lat = [seen.evaluated[s.uscc][0] - s.submitted for s in ok if s.uscc in seen.evaluated]
    started_lat = [starts[s.uscc] - s.submitted for s in ok if s.uscc in starts]
    step_lat = [seen.first_step[s.uscc][0] - s.submitted for s in ok if s.uscc in seen.first_step]
    step_seen_lat = [seen.first_step[s.uscc][1] - s.submitted for s in ok if s.uscc in seen.first_step]
    lag = [(x["t"], x["accepted"] - x["first_step"]) for x in phase.samples]
    tail = lag[len(lag) // 3 :]
    slope = _slope(tail)
    accept_rate = len([s for s in ok if s.accepted and within(s.accepted)]) / window
    grows = slope > max(0.5, 0.05 * accept_rate)
    wf_pending = [(x["t"], x["pending"].get(subjects.CONSUMER_WORKFLOW_EVALUATIONS, 0)) for x in phase.samples]
    per_decl = {k: round(v / max(1, len(ok)) * 1000, 2) for k, v in phase.cpu_seconds.items()}
    return {
        "phase": phase.name,
        "offered_rate": phase.rate,
        "seconds": round(window, 1),
        "offered": len(mine),
        "accepted": len(ok),
        "refused_or_failed": len(mine) - len(ok),
        "answers": {str(k): v for k, v in Counter(s.status for s in mine).items()},
        "rates": {
            "offered": round(len(mine) / window, 1),
            "accepted": round(accept_rate, 1),
            "evaluated": rate_of({k: v[0] for k, v in seen.evaluated.items()}),
            "workflow_started": rate_of(starts),
            "first_step": rate_of({k: v[0] for k, v in seen.first_step.items()}),
        },
        "latency_s": {
            "accepted": percentiles(accepted_lat),
            "evaluated": percentiles(evaluated_lat),
            "workflow_started": percentiles(started_lat),
            "first_step": percentiles(step_lat),
            "first_step_received": percentiles(step_seen_lat),
        },
        "never": {
            "evaluated": len(ok) - len(evaluated_lat),
            "workflow_started": len(ok) - len(started_lat),
            "first_step": len(ok) - len(step_lat),
        },
        "backlog": {
            "grows": grows,
            "lag_slope_per_s": round(slope, 2),
            "lag_at_end": lag[-1][1] if lag else None,
            "workflow_consumer_pending_slope_per_s": round(_slope(wf_pending[len(wf_pending) // 3 :]), 2),
            "pending_start": phase.pending_start,
            "pending_end": phase.pending_end,
            "temporal_backlog": phase.temporal_backlog,
            "drained_after_s": None if phase.drained_after_s is None else round(phase.drained_after_s, 1),
        },
        "cpu_share_of_one_core": phase.cpu_share,
        "cpu_ms_per_declaration": per_decl,
        "consumer_deliveries_through_drain": phase.deliveries,
        "worker_through_drain": phase.worker,
        "worker_during_phase": phase.worker_during_phase,
        "load_average": phase.load_average,
        "machine": phase.machine,
        "samples": phase.samples,
    }


# ----- the run ------------------------------------------------------------------------------


def print_phase(s: dict[str, Any]) -> None:
    r, lat, b = s["rates"], s["latency_s"], s["backlog"]
    print(
        f"  {s['phase']:>5}: offered {r['offered']:5.1f}/s  accepted {r['accepted']:5.1f}/s  "
        f"evaluated {r['evaluated']:5.1f}/s  started {r['workflow_started']:5.1f}/s  "
        f"first step {r['first_step']:5.1f}/s"
        f"   (load {s['load_average']['start'][0]:.1f}→{s['load_average']['end'][0]:.1f})"
    )
    print(f"         submit→accepted         p50/p95/p99 {fmt_latency(lat['accepted'])}")
    print(f"         submit→evaluated        p50/p95/p99 {fmt_latency(lat['evaluated'])}")
    print(f"         submit→workflow started p50/p95/p99 {fmt_latency(lat['workflow_started'])}")
    print(f"         submit→first step       p50/p95/p99 {fmt_latency(lat['first_step'])}")
    busiest = sorted(s["cpu_share_of_one_core"].items(), key=lambda kv: -kv[1])
    print("         CPU (share of one core): " + ", ".join(f"{k} {v:.0%}" for k, v in busiest if v >= 0.01))
    if s.get("machine"):
        print(f"         machine over the phase: {s['machine']}")
    pend = {k: v for k, v in b["pending_end"].items() if v}
    print(
        f"         backlog {'GROWS' if b['grows'] else 'steady'}: lag slope {b['lag_slope_per_s']:+.1f}/s, "
        f"lag at end {b['lag_at_end']}, drained after {b['drained_after_s']} s; pending at end {pend or 'none'}"
    )
    tq = b["temporal_backlog"].get("end", {})
    if tq:
        print(f"         Temporal task queue at end: {tq}")
    slots = [x.get("worker_slots", {}) for x in s["samples"] if x.get("worker_slots")]
    if slots:
        keys = sorted({k for x in slots for k in x})
        print(
            "         worker slots over the phase (min/median/max): "
            + ", ".join(
                f"{k} {min(x.get(k, 0) for x in slots):.0f}/{sorted(x.get(k, 0) for x in slots)[len(slots) // 2]:.0f}"
                f"/{max(x.get(k, 0) for x in slots):.0f}"
                for k in keys
            )
        )
    shown = ("StartWorkflowExecution", "RespondWorkflowTaskCompleted", "SignalWorkflowExecution")
    lat = {
        k: v
        for k, v in s["worker_through_drain"].items()
        if isinstance(v, dict) and ("request" not in k or any(op in k for op in shown))
    }
    for k, v in sorted(lat.items()):
        print(
            f"         worker {k}: n={v['count']} mean {v['mean_ms']} ms, "
            f"p50≤{v['p50_ms_at_most']} p99≤{v['p99_ms_at_most']}"
        )
    counters = {
        k: v
        for k, v in s["worker_through_drain"].items()
        if not isinstance(v, dict) and "latency" not in k and "long_request" not in k
    }
    if counters:
        print(f"         worker counters: {counters}")
    print(f"         consumer deliveries (phase + drain): {s['consumer_deliveries_through_drain']}")
    redelivered = max((sum(x.get("redelivered_unacked", {}).values()) for x in s["samples"]), default=0)
    print(f"         most messages redelivered and unacked at once: {redelivered}")
    if s["refused_or_failed"]:
        print(f"         answers: {s['answers']} (None: no answer after 3 tries)")
    never = {k: v for k, v in s["never"].items() if v}
    if never:
        print(f"         not reached by the end of the drain: {never}")


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"kind": "path", "machine": machine(), "args": vars(args)}
    metrics_port = free_port()
    metrics = httpx.AsyncClient(base_url=f"http://127.0.0.1:{metrics_port}", timeout=5)
    # GREENFAB_* settings of this shell reach the stack only through ``env`` (the stack drops the others).
    env = {k: v for k, v in os.environ.items() if k.startswith("GREENFAB_")}
    env[METRICS_ENV] = f"127.0.0.1:{metrics_port}"
    result["env"] = env
    with throwaway_stack(keep=args.keep, env=env) as stack:
        nc = await nats.connect(stack.nats_url)
        seen = Observed()
        await nc.subscribe(subjects.EVALUATION_COMPLETED, cb=seen.on_evaluation)
        await nc.subscribe(subjects.UNIT_CHANGED, cb=seen.on_unit)
        await nc.subscribe(subjects.SUBMISSION_RECEIVED, cb=seen.on_submission)
        load = Load(stack, first=1)
        for name, value in args.nice.items():
            for label, proc in stack_processes(stack).items():
                if label == name or label.startswith(name + "-"):
                    # Experiment: what the path gains when this process yields the CPU to it. Linux's nice is per
                    # thread: every thread now, and threads made later inherit it from the one that makes them.
                    for thread in proc.threads():
                        os.setpriority(os.PRIO_PROCESS, thread.id, value)
        try:
            # One unit first: it warms every part and gives the payload sizes the system really sends.
            await load.fixed_rate("warm-up", 1, 3)
            await wait_drained(load, seen, nc, 60)
            warm = [s.uscc for s in load.sent if s.phase == "warm-up" and s.status == 202]
            profile = await history_profile(stack, warm[:1])
            unit = profile["units"][0]
            sizes = {
                "workflow_input": unit["workflow_input_bytes"],
                "signal_arg": unit["signal_arg_bytes"],
                "submission": max(seen.submission_bytes),
            }
            result["payload_bytes"] = sizes | {"evaluation_completed": max(seen.evaluation_bytes)}
            print(f"payload sizes: {result['payload_bytes']}; a started unit's history: {unit}", flush=True)

            print(f"raw ceilings ({args.raw_seconds:.0f} s each, {args.raw_in_flight} in flight)…", flush=True)
            raw_before = await raw_ceilings(stack, nc, "before", args.raw_seconds, args.raw_in_flight, sizes)
            _print_raw("before", raw_before)

            phases = [Phase(name=r, rate=None if r == "max" else float(r), seconds=args.duration) for r in args.rates]
            for phase in phases:
                print(f"phase {phase.name}: {args.duration:.0f} s…", flush=True)
                await run_phase(phase, load, seen, nc, stack, args.in_flight, metrics)
                phase.drained_after_s = await wait_drained(load, seen, nc, args.drain_timeout)
                await after_drain(phase, seen, nc, metrics)

            starts = await workflow_starts(stack, {s.uscc for s in load.sent if s.uscc in seen.first_step})
            raw_after = await raw_ceilings(stack, nc, "after", args.raw_seconds, args.raw_in_flight, sizes)
            _print_raw("after", raw_after)
            ok = [s.uscc for s in load.sent if s.status == 202 and s.uscc in seen.first_step]
            result["history"] = await history_profile(stack, ok[-3:])
        finally:
            await load.close()
            await metrics.aclose()
            await nc.drain()
        summaries = [summarise(p, load, seen, starts) for p in phases]
        # The ceiling is the better of the two (the first often meets the stack still settling).
        raw_rate = max(raw_before["temporal_start_workflow"]["rate"], raw_after["temporal_start_workflow"]["rate"])
        result["raw"] = {"before": raw_before, "after": raw_after, "temporal_start_rate": raw_rate}
        result["phases"] = summaries
        result["ratios"] = {
            s["phase"]: {
                "workflow_started_over_raw_temporal_start": round(s["rates"]["workflow_started"] / raw_rate, 3),
                "first_step_over_raw_temporal_start": round(s["rates"]["first_step"] / raw_rate, 3),
            }
            for s in summaries
        }
    result["machine"]["load_average_at_end"] = load_average()
    result["transport_errors_retried"] = load.transport_errors
    print()
    print("results (load generator on the same cores; see load averages):")
    for s in summaries:
        print_phase(s)
    print(
        f"  raw Temporal start_workflow (the better of before/after): {raw_rate:.1f}/s;"
        " sustained workflow starts over it: "
        + ", ".join(f"{k} {v['workflow_started_over_raw_temporal_start']:.2f}" for k, v in result["ratios"].items())
    )
    return result


def _print_raw(when: str, raw: dict[str, Any]) -> None:
    t, sws, js = raw["temporal_start_workflow"], raw["temporal_signal_with_start"], raw["jetstream_publish"]
    print(
        f"  raw ({when}): Temporal start_workflow {t['rate']:.0f}/s (p50 {t['latency']['p50'] * 1000:.0f} ms), "
        f"signal-with-start {sws['rate']:.0f}/s, JetStream acked publish {js['rate']:.0f}/s "
        f"(load {raw['load_average_before'][0]:.1f}; CPU during start_workflow: "
        + ", ".join(f"{k} {v:.0%}" for k, v in t["cpu_share_of_one_core"].items())
        + ")",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="10,25,50,max", help="phases: offered declarations/s, or max")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per phase (default 60)")
    parser.add_argument("--in-flight", type=int, default=50, help="outstanding requests in the max phase")
    parser.add_argument("--drain-timeout", type=float, default=600.0, help="seconds to wait for a phase to drain")
    parser.add_argument("--raw-seconds", type=float, default=10.0, help="seconds per raw ceiling")
    parser.add_argument("--raw-in-flight", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="smoke run: 10 s phases at 10/s and max, 3 s ceilings")
    parser.add_argument("--keep", action="store_true", help="keep the stack's data folder")
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results/path-*.json")
    parser.add_argument(
        "--nice", default="", help="experiment: processes to run at a lower priority, e.g. audit=5,notify=5"
    )
    args = parser.parse_args()
    if args.quick:
        args.rates, args.duration, args.raw_seconds, args.drain_timeout = "10,max", 10.0, 3.0, 120.0
    args.rates = [r.strip() for r in args.rates.split(",") if r.strip()]
    args.nice = {k.strip(): int(v) for k, _, v in (x.partition("=") for x in args.nice.split(",") if x.strip())}
    result = asyncio.run(main_async(args))
    if not args.no_save:
        print(f"saved {save_result('path', result)}")


if __name__ == "__main__":
    main()
