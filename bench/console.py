"""Console benchmark: each page's server time (p50/p99) with 2,000 units in the registry; a script, not a timed test.

    uv run python bench/console.py [--units 2000] [--requests 40]

Starts `greenfab up` on free ports in a temporary folder, declares --units annual gradings (16
districts, inputs varied so the levels vary) and a few green-factory units (so inboxes have
tasks) through intake, waits until every unit is graded, then asks each page --requests times
in a row, signed in as whoever reads it, and prints the median and 99th percentile. The time is
the whole answer as a client on the same machine sees it: the console's own work plus its calls
to the services.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from stdnum.cn import uscc as uscc_check

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from greenfab.auth import Principal, issue_token  # noqa: E402
from greenfab_cli.stack import auth_secret  # noqa: E402

DISTRICTS = ("东城区", "西城区", "朝阳区", "海淀区", "丰台区", "石景山区", "门头沟区", "房山区",
             "通州区", "顺义区", "昌平区", "大兴区", "怀柔区", "平谷区", "密云区", "延庆区")  # fmt: skip
FLAGS = ("nats-port", "nats-monitor-port", "temporal-port", "temporal-ui-port", "intake-port", "workflow-port",
         "notify-port", "scoring-port", "audit-port", "console-port")  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def uscc(n: int) -> str:
    body = f"91110108MB{n:07d}"
    return body + str(uscc_check.calc_check_digit(body))


def grading(n: int, rng: random.Random) -> dict[str, Any]:
    body = json.loads((ROOT / "examples" / "grading-declaration.json").read_text(encoding="utf-8"))
    data = body["data"]
    for key, value in list(data.items()):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and key != "industry_code":
            data[key] = round(value * rng.uniform(0.6, 1.4), 4) if value else value
    body.update(uscc=uscc(n), enterprise_name=f"北京基准测试企业{n}有限公司", district=DISTRICTS[n % 16])
    return dict(body)


def green_factory(n: int) -> dict[str, Any]:
    body = json.loads((ROOT / "examples" / "green-factory-declaration.json").read_text(encoding="utf-8"))
    body.update(uscc=uscc(900_000 + n), enterprise_name=f"北京基准绿色工厂{n}有限公司", district=DISTRICTS[n % 16])
    return dict(body)


class Up:
    def __init__(self, folder: Path) -> None:
        self.ports = {flag: free_port() for flag in FLAGS}
        self.data = folder / "data"
        self.log = folder / "up.log"
        argv = [sys.executable, "-m", "greenfab_cli", "up", "--data-dir", str(self.data), "--ready-timeout", "180"]
        for flag, port in self.ports.items():
            argv += [f"--{flag}", str(port)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("GREENFAB_")}
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 240
        while "greenfab is up" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"greenfab up did not start:\n{self.log.read_text(errors='replace')}")
            time.sleep(0.2)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name + '-port']}"

    def token(self, role: str, scope: str | None, subject: str | None = None) -> str:
        who = Principal(role=role, subject=subject or scope or role, scope=scope)  # type: ignore[arg-type]
        return issue_token(auth_secret(self.data), who)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(90)


async def seed(up: Up, units: int) -> float:
    t0 = time.monotonic()
    rng = random.Random(7)  # noqa: S311 - varied inputs, not secrets
    async with httpx.AsyncClient(base_url=up.url("workflow"), timeout=30) as staff:
        call = {"scheme": "green-factory", "title": "基准测试征集", "opens_on": "2025-01-01", "closes_on": "2030-12-31"}
        await staff.post("/v1/calls", headers={"Authorization": f"Bearer {up.token('bureau', None)}"}, json=call)
    bodies = [(b["uscc"], b) for b in (grading(n, rng) for n in range(units))]
    bodies += [(b["uscc"], b) for b in (green_factory(n) for n in range(32))]
    queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
    for item in bodies:
        queue.put_nowait(item)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            who, body = queue.get_nowait()
            r = await client.post("/v1/declarations", json=body,
                                  headers={"Authorization": f"Bearer {up.token('enterprise', who)}"})  # fmt: skip
            if r.status_code not in (200, 202):
                raise SystemExit(f"intake answered {r.status_code}: {r.text}")

    async with httpx.AsyncClient(base_url=up.url("intake"), timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(16)))
    async with httpx.AsyncClient(base_url=up.url("workflow"), timeout=60) as staff:
        while True:
            graded, cursor = 0, None
            while True:  # every page of the published grades
                page = (await staff.get("/v1/public/grades", params={"limit": 500, "cursor": cursor})).json()
                graded, cursor = graded + len(page["items"]), page["next_cursor"]
                if cursor is None:
                    break
            print(f"\r  {graded}/{units} units graded", end="", flush=True)
            if graded >= units:
                break
            await asyncio.sleep(2)
    print()
    return time.monotonic() - t0


def measure(up: Up, pages: dict[str, tuple[str | None, str]], requests: int) -> list[tuple[str, str, float, float]]:
    out = []
    for label, (token, path) in pages.items():
        cookies = {"greenfab_session": token} if token else {}
        with httpx.Client(base_url=up.url("console"), cookies=cookies, timeout=60) as client:
            for _ in range(3):
                client.get(path)
            times = []
            for _ in range(requests):
                t0 = time.perf_counter()
                r = client.get(path)
                times.append((time.perf_counter() - t0) * 1000)
                if r.status_code != 200:
                    raise SystemExit(f"{path} answered {r.status_code}")
        times.sort()
        p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
        out.append((label, path, statistics.median(times), p99))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="greenfab-bench-") as folder:
        up = Up(Path(folder))
        try:
            took = asyncio.run(seed(up, args.units))
            print(f"seeded {args.units} graded units and 32 green-factory units in {took:.0f} s")
            bureau, district = up.token("bureau", None, "bureau-li"), up.token("district", "海淀区", "haidian-zhao")
            enterprise = up.token("enterprise", uscc(3))
            with httpx.Client(base_url=up.url("workflow"), headers={"Authorization": f"Bearer {bureau}"}) as s:
                unit = s.get("/v1/units", params={"limit": 1}).json()["items"][0]["workflow_id"]
            with httpx.Client(base_url=up.url("workflow"), headers={"Authorization": f"Bearer {district}"}) as s:
                deadline = time.monotonic() + 120
                while not (tasks := s.get("/v1/tasks").json()["items"]) and time.monotonic() < deadline:
                    time.sleep(1)
            with httpx.Client(base_url=up.url("intake"), headers={"Authorization": f"Bearer {enterprise}"}) as s:
                declaration = s.get("/v1/declarations").json()["items"][0]["id"]
            pages: dict[str, tuple[str | None, str]] = {
                "home (public)": (None, "/"),
                "listed units (public)": (None, "/public/listed"),
                "published grades, all 2,000 (public)": (None, "/public/grades"),
                "grades of one district (public)": (None, "/public/grades?district=海淀区"),
                "bureau dashboard": (bureau, "/dashboard"),
                "bureau inbox": (bureau, "/tasks"),
                "registry, first 200": (bureau, "/registry"),
                "registry, district + level": (bureau, "/registry?district=海淀区&level=3"),
                "district inbox": (district, "/tasks"),
                "task page": (district, f"/tasks/{tasks[0]['task_id']}" if tasks else "/tasks"),
                "unit page": (bureau, f"/units/{unit}"),
                "declaration form (green factory)": (enterprise, "/declare/green-factory"),
                "declaration and evidence": (enterprise, f"/declarations/{declaration}"),
                "my units": (enterprise, "/my"),
            }
            rows = measure(up, pages, args.requests)
            print(f"\n{'page':<40} {'p50 ms':>8} {'p99 ms':>8}")
            for label, _, p50, p99 in rows:
                print(f"{label:<40} {p50:8.1f} {p99:8.1f}")
        finally:
            up.stop()


if __name__ == "__main__":
    main()
