"""Hostile request bodies against a real intake process (uvicorn, real NATS, SQLite), sent byte by byte.

Limits hold on the bytes as they stream (chunked too), a body that stops arriving is answered, not
held; NaN, Infinity and 1e400 are refused by field; an unparsable body is a 400 naming the body; a
workbook bomb is refused in under a second while /healthz keeps answering. Nothing refused is stored.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import SECRET, token
from tests.support import hostile
from tests.support.servers import free_port, nats_server, start_intake

USCC = "91110115MA04C2UX1E"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Intake:
    port: int
    workdir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token('enterprise', USCC)}"}, timeout=30
        )

    def stored_files(self) -> list[Path]:
        return [p for p in (self.workdir / "evidence").rglob("*") if p.is_file()]


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Intake]:
    workdir = tmp_path_factory.mktemp("bodies")
    with nats_server() as nats:
        port = free_port()
        proc = start_intake(nats.url, SECRET, workdir, port)
        try:
            yield Intake(port, workdir)
        finally:
            proc.terminate()
            proc.wait(20)


def send_raw(
    port: int, head: str, chunks: Iterator[bytes], read_timeout: float = 30
) -> tuple[int, dict[str, Any], float]:
    """Send a request exactly as given (headers, then the chunks as they come); (status, problem, seconds to answer).

    The server may answer and close before the body is all sent: that is the point, so a write that fails
    only stops the sending.
    """
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(head.encode())
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except OSError:
            pass
        sock.settimeout(read_timeout)
        data = b""
        try:
            while True:
                part = sock.recv(65536)
                if not part:
                    break
                data += part
                if b"\r\n\r\n" in data and _complete(data):
                    break
        except OSError:
            pass
    took = time.monotonic() - started
    status_line, _, rest = data.partition(b"\r\n")
    _, _, body = rest.partition(b"\r\n\r\n")
    status = int(status_line.split()[1]) if status_line else 0
    return status, (json.loads(body) if body.startswith(b"{") else {}), took


def _complete(data: bytes) -> bool:
    headers, _, body = data.partition(b"\r\n\r\n")
    for line in headers.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def head(method: str, path: str, content_type: str, extra: str) -> str:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token('enterprise', USCC)}\r\n"
        f"Content-Type: {content_type}\r\n{extra}\r\n"
    )


def chunked(total: int, size: int = 256 * 1024) -> Iterator[bytes]:
    """``total`` bytes of JSON-looking text as HTTP/1.1 chunks, then the last chunk."""
    sent = 0
    while sent < total:
        piece = b"[" * min(size, total - sent)
        sent += len(piece)
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    yield b"0\r\n\r\n"


DECLARATION = {
    "scheme": "grading", "uscc": USCC, "enterprise_name": "北京示例新能源科技有限公司", "district": "大兴",
    "declared_on": "2025-10-08", "data": {"plot_ratio": 1.35, "plot_ratio_requirement": 1.0},
}  # fmt: skip


def test_nan_infinity_and_1e400_are_refused_by_field_and_nothing_is_stored(intake: Intake) -> None:
    text = json.dumps(DECLARATION).replace(
        '"plot_ratio": 1.35', '"plot_ratio": NaN, "land_area": Infinity, "output_value": 1e400, "cod": [1, -Infinity]'
    )
    form = '{"工厂名称": "北京示例", "统一社会信用代码": "91110115MA04C2UX1E", "用地集约化": {"工厂容积率": NaN}}'
    with intake.client() as c:
        r = c.post("/v1/declarations", content=text, headers={"Content-Type": "application/json"})
        by_form = c.post("/v1/forms/grading", content=form, headers={"Content-Type": "application/json"})
        assert c.get("/v1/declarations").json()["items"] == []
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert {(e["path"], e["code"]) for e in r.json()["errors"]} == {
        ("$.data.plot_ratio", "number_not_finite"),
        ("$.data.land_area", "number_not_finite"),
        ("$.data.output_value", "number_not_finite"),
        ("$.data.cod[1]", "number_not_finite"),
    }
    assert all(e["message_zh"] and e["message_en"] for e in r.json()["errors"])
    assert by_form.status_code == 422
    assert [e["path"] for e in by_form.json()["errors"]] == ["$.用地集约化.工厂容积率"]


def test_an_unparsable_body_is_a_400_naming_the_body_and_every_api_document_lists_it(intake: Intake) -> None:
    with intake.client() as c:
        for path in ("/v1/declarations", "/v1/forms/grading", "/v1/notices"):
            r = c.post(path, content=b'{"scheme": "grading",', headers={"Content-Type": "application/json"})
            assert r.status_code == 400, (path, r.text)
            assert [(e["path"], e["code"]) for e in r.json()["errors"]] == [("$", "json_invalid")]
        spec = c.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                assert {"400", "408", "413"} <= set(operation["responses"]), (method, path)


def test_a_chunked_body_over_the_limit_is_refused_as_it_streams(intake: Intake) -> None:
    # 30 MB of JSON with no Content-Length: refused once 1 MB has arrived, not read whole.
    status, problem, took = send_raw(
        intake.port, head("POST", "/v1/declarations", "application/json", "Transfer-Encoding: chunked\r\n"),
        chunked(30_000_000),
    )  # fmt: skip
    assert status == 413 and problem["errors"][0]["code"] == "body_too_large", problem
    assert took < 10
    with intake.client() as c:
        declared = c.post("/v1/declarations", json=DECLARATION)
        assert declared.status_code == 202, declared.text
        before = intake.stored_files()
        # 25 MB of evidence (the limit is 20 MB), chunked: refused, and not one byte of it kept.
        evidence = f"/v1/declarations/{declared.json()['id']}/evidence/GR-1?filename=big.pdf"
        status, problem, _ = send_raw(
            intake.port, head("POST", evidence, "application/pdf", "Transfer-Encoding: chunked\r\n"),
            chunked(25_000_000),
        )  # fmt: skip
        assert status == 413, problem
        assert intake.stored_files() == before
        report = c.get(f"/v1/declarations/{declared.json()['id']}/evidence").json()
        assert all(not item["files"] for item in report["items"])


@pytest.mark.parametrize("kind", ["json", "evidence"])
def test_a_body_that_stops_arriving_is_answered_not_held(intake: Intake, kind: str) -> None:
    path, content_type = "/v1/declarations", "application/json"
    if kind == "evidence":
        with intake.client() as c:
            declared = c.post("/v1/declarations", json={**DECLARATION, "declaration_id": "stalled-evidence"}).json()
        path, content_type = f"/v1/declarations/{declared['id']}/evidence/GR-1", "application/pdf"

    def ten_bytes_then_silence() -> Iterator[bytes]:
        yield b'{"scheme":'

    status, problem, took = send_raw(
        intake.port, head("POST", path, content_type, "Content-Length: 1000\r\n"), ten_bytes_then_silence()
    )
    assert status == 408 and problem["errors"][0]["code"] == "body_timeout", problem
    assert took < 10, f"held {took:.1f} s"


def test_a_workbook_bomb_is_refused_in_under_a_second_while_health_answers(intake: Intake) -> None:
    bomb = hostile.dimension_bomb()
    health: list[float] = []
    done = threading.Event()

    def probe() -> None:
        while not done.is_set():
            t = time.monotonic()
            with urllib.request.urlopen(f"{intake.url}/healthz", timeout=5) as r:
                assert r.status == 200
            health.append(time.monotonic() - t)
            time.sleep(0.05)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        with intake.client() as c:
            for content in (bomb, hostile.inflating_bomb(), hostile.shared_strings_bomb()):
                started = time.monotonic()
                r = c.post("/v1/forms/grading/xlsx", content=content, headers={"Content-Type": XLSX})
                took = time.monotonic() - started
                assert r.status_code == 422, r.text
                assert r.json()["errors"][0]["code"] in ("workbook_too_large", "package_too_large")
                assert took < 1.0, f"{took:.2f} s"
    finally:
        done.set()
        prober.join()
    assert health and max(health) < 1.0


def test_a_head_that_stops_arriving_or_never_starts_is_answered_and_the_connection_closed(intake: Intake) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from greenfab.http_server import HEAD_TIMEOUT_S

    def held(first: bytes) -> tuple[bytes, float]:
        """Send ``first`` (perhaps nothing) and then nothing more; what came back before the server closed."""
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", intake.port)) as sock:
            if first:
                sock.sendall(first)
            sock.settimeout(HEAD_TIMEOUT_S + 20)
            data = b""
            while part := sock.recv(65536):
                data += part
        return data, time.monotonic() - started

    # Slowloris: a request line and one header, then silence; and a connection that never says anything.
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(held, [b"GET /healthz HTTP/1.1\r\nHost: x\r\n", b""]))
    for data, took in answers:
        assert data.startswith(b"HTTP/1.1 408 "), data[:200]
        problem = json.loads(data.split(b"\r\n\r\n", 1)[1])
        assert problem["errors"][0]["code"] == "head_timeout" and problem["errors"][0]["message_zh"], problem
        assert HEAD_TIMEOUT_S - 1 < took < HEAD_TIMEOUT_S + 5, f"closed after {took:.1f} s"
    # A request whose head comes in time on a connection is answered as ever (several on one connection too).
    with intake.client() as c:
        assert [c.get("/healthz").status_code for _ in range(3)] == [200, 200, 200]
