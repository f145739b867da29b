"""greenfab.bodies on its own: strict JSON by path, and the guard's limits driven through plain ASGI calls."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from greenfab.bodies import BodyError, BodyGuard, BodyLimits, parse_json


@pytest.mark.parametrize(
    ("text", "paths"),
    [
        ('{"a": NaN}', ["$.a"]),
        ('{"a": {"b": [1, Infinity, -Infinity]}}', ["$.a.b[1]", "$.a.b[2]"]),
        ("[1e400, -1e999, 1e308]", ["$[0]", "$[1]"]),
    ],
)
def test_non_finite_numbers_are_named_by_path(text: str, paths: list[str]) -> None:
    with pytest.raises(BodyError) as caught:
        parse_json(text)
    assert caught.value.problem.status == 422
    assert [(e.path, e.code) for e in caught.value.problem.errors] == [(p, "number_not_finite") for p in paths]


@pytest.mark.parametrize(
    ("raw", "code"),
    [(b"{not json", "json_invalid"), (b"\xff\xfe\x00", "json_invalid"), (b"[" * 100_000, "json_too_deep")],
)  # fmt: skip
def test_unparsable_bodies_are_400_naming_the_body(raw: bytes, code: str) -> None:
    with pytest.raises(BodyError) as caught:
        parse_json(raw)
    assert caught.value.problem.status == 400
    assert [(e.path, e.code) for e in caught.value.problem.errors] == [("$", code)]


@pytest.mark.parametrize(
    ("raw", "path"),
    [(b"1" * 5000, "$"), (b'{"a": [1, -' + b"9" * 5000 + b"]}", "$.a[1]")],
)
def test_an_integer_too_long_to_read_is_422_by_path_in_plain_words(raw: bytes, path: str) -> None:
    # Python's own refusal names sys.set_int_max_str_digits(): nothing a caller can act on.
    with pytest.raises(BodyError) as caught:
        parse_json(raw)
    problem = caught.value.problem
    assert problem.status == 422
    assert [(e.path, e.code) for e in problem.errors] == [(path, "number_too_long")]
    assert "5000" in problem.errors[0].message_en and "数字位数过多" in problem.errors[0].message_zh
    assert "sys." not in problem.model_dump_json()


def test_a_key_given_twice_in_any_object_is_named_by_path() -> None:
    raw = '{"uscc": "A", "data": {"x": 1, "y": [{"k": 1, "k": 1, "k": 2}], "x": 2}, "uscc": "B"}'
    with pytest.raises(BodyError) as caught:
        parse_json(raw)
    assert caught.value.problem.status == 422
    assert [(e.path, e.code) for e in caught.value.problem.errors] == [
        ("$.uscc", "duplicate_key"),
        ("$.data.x", "duplicate_key"),
        ("$.data.y[0].k", "duplicate_key"),
    ]


def test_finite_json_is_returned_as_json() -> None:
    assert parse_json('{"a": [1, 2.5, -1e308, "NaN"]}') == {"a": [1, 2.5, -1e308, "NaN"]}


async def _call(app: Any, headers: dict[str, str], messages: list[dict[str, Any]], hang: bool = True) -> list[Any]:
    """Drive ``BodyGuard(app)`` with the given request messages; after them receive() hangs like a live client."""
    queue = list(messages)
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        if queue:
            return queue.pop(0)
        await asyncio.sleep(3600 if hang else 0)
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http", "method": "POST", "path": "/upload",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }  # fmt: skip
    await BodyGuard(app, BodyLimits(default=100, idle_s=0.2, total_s=5))(scope, receive, send)
    return sent


async def _echo(scope: Any, receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def _status(sent: list[Any]) -> tuple[int, dict[str, Any]]:
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], json.loads(body) if body.startswith(b"{") else {}


async def test_the_guard_counts_streamed_bytes_and_times_a_stalled_body() -> None:
    chunks = [{"type": "http.request", "body": b"x" * 60, "more_body": True}] * 2
    status, problem = _status(await _call(_echo, {"content-type": "application/pdf"}, chunks))
    assert (status, problem["errors"][0]["code"]) == (413, "body_too_large")
    stalled = [{"type": "http.request", "body": b"[1,", "more_body": True}]
    status, problem = _status(await _call(_echo, {"content-type": "application/json"}, stalled))
    assert (status, problem["errors"][0]["code"]) == (408, "body_timeout")
    ok = await _call(_echo, {"content-type": "application/json"}, [{"type": "http.request", "body": b"[1]"}])
    assert _status(ok)[0] == 200
    assert (b"x-content-type-options", b"nosniff") in ok[0]["headers"]


async def test_after_the_body_waiting_for_a_disconnect_is_not_timed() -> None:
    async def streams_then_listens(scope: Any, receive: Any, send: Any) -> None:
        await receive()  # the whole body
        await send({"type": "http.response.start", "status": 200, "headers": []})
        # A streamed answer listens for the client leaving while it streams: longer than idle_s here.
        await asyncio.wait_for(receive(), 0.5)

    with pytest.raises(TimeoutError):  # our own 0.5 s, not the guard's 0.2 s idle limit
        await _call(
            streams_then_listens, {"content-type": "application/pdf"}, [{"type": "http.request", "body": b"%PDF"}]
        )
