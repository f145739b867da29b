"""Request bodies, as every API reads them: byte limits enforced as the bytes stream, a time limit on a
body that stops arriving, and strict JSON (NaN, Infinity, numbers beyond a float, integers too long to
read and keys given twice in one object refused by field).

``BodyGuard`` is a plain ASGI middleware, so it sees chunked bodies as they arrive and refuses before
any route runs. JSON bodies are read whole (at most the limit), checked, then handed on; other bodies
(files) stream through a counting ``receive``. ``parse_json`` is the same check for any other
boundary that takes JSON (NATS request/reply, the command line).
"""

from __future__ import annotations

import asyncio
import email.message
import json
import math
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.http import FieldError, Problem

PROBLEM_JSON = "application/problem+json"


class BodyError(Exception):
    """A body refused before any route saw it: the problem to answer with."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.detail or problem.title)
        self.problem = problem


class _NonFinite:
    """Stands for a NaN, an Infinity or a number too large for a float, until its path is known."""

    def __init__(self, text: str) -> None:
        self.text = text


def _float(text: str) -> float | _NonFinite:
    value = float(text)
    return value if math.isfinite(value) else _NonFinite(text)


def _constant(text: str) -> _NonFinite:
    return _NonFinite(text)


class _TooLong:
    """Stands for an integer of more digits than Python reads (``sys.get_int_max_str_digits``), until its path
    is known. Only the slow path (after ``json.loads`` refused the body) makes these."""

    def __init__(self, text: str) -> None:
        self.digits = len(text.lstrip("-"))


def _int_or_too_long(text: str) -> int | _TooLong:
    try:
        return int(text)
    except ValueError:
        return _TooLong(text)


class _Duplicated(dict[str, Any]):
    """An object in which some key appears more than once: JSON leaves the meaning open (Python keeps the
    last, other readers the first), so the body is refused, naming the key."""

    twice: list[str]


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # One dict() and a length comparison per object: a duplicate is the only way the two differ.
    value = dict(pairs)
    if len(value) == len(pairs):
        return value
    marked = _Duplicated(value)
    # Counted in one pass: a list searched per key cost 1.7 s for a 418 kB body of 20,000 keys each given twice.
    marked.twice = [key for key, n in Counter(key for key, _ in pairs).items() if n > 1]
    return marked


def _non_finite(value: Any, path: str) -> list[FieldError]:
    """Every field of the parsed body that holds what JSON lets through and the services do not read: NaN,
    Infinity or a number beyond a float, an integer too long to read, a key given twice."""
    if isinstance(value, _NonFinite):
        return [
            FieldError(
                path=path,
                code="number_not_finite",
                message_zh=f"数值 {value.text[:40]} 无效：不能是 NaN、Infinity 或超出范围的数",
                message_en=f"{value.text[:40]} is not a finite number (NaN, Infinity, overflow)",
            )
        ]
    if isinstance(value, _TooLong):
        return [
            FieldError(
                path=path,
                code="number_too_long",
                message_zh=f"数字位数过多（{value.digits} 位），无法读取",
                message_en=f"the number is too long to read ({value.digits} digits)",
            )
        ]
    if isinstance(value, dict):
        twice = [
            FieldError(
                path=f"{path}.{key}",
                code="duplicate_key",
                message_zh=f"字段“{key}”出现了不止一次，无法确定取哪个值",
                message_en=f"the key {key!r} appears more than once in the same object: which value counts is unclear",
            )
            for key in (value.twice if isinstance(value, _Duplicated) else ())
        ]
        return twice + [e for key, item in value.items() for e in _non_finite(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [e for i, item in enumerate(value) for e in _non_finite(item, f"{path}[{i}]")]
    return []


def _unparsable(en: str, zh: str, code: str = "json_invalid") -> BodyError:
    error = FieldError(path="$", code=code, message_zh=zh, message_en=en)
    return BodyError(Problem(status=400, title="请求体无法解析 / Unparsable body", detail=en, errors=[error]))


def parse_json(raw: bytes | str) -> Any:
    """The JSON value of ``raw``, or BodyError: 400 naming the body if it is not JSON, 422 naming each
    field that holds NaN, Infinity or a number beyond a float (Python's json would accept all three), an
    integer too long to read, or a key its object already has (Python's json keeps the last silently)."""
    try:
        value = json.loads(raw, parse_float=_float, parse_constant=_constant, object_pairs_hook=_object)
    except json.JSONDecodeError as exc:
        raise _unparsable(
            f"the body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            f"请求体不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列（{exc.msg}）",
        ) from None
    except UnicodeDecodeError:
        raise _unparsable("the body is not UTF-8 text", "请求体不是 UTF-8 编码的文本") from None
    except RecursionError:
        raise _unparsable("the body is nested too deeply", "请求体嵌套层数过多", "json_too_deep") from None
    except ValueError:
        # An integer of more digits than int() reads (4,300): read the body again with every integer checked,
        # which only this rare body pays for, so that the refusal names where the number is. Python's own
        # message (which names sys.set_int_max_str_digits) is nobody's business outside.
        value = json.loads(
            raw,
            parse_float=_float,
            parse_constant=_constant,
            parse_int=_int_or_too_long,
            object_pairs_hook=_object,
        )
    errors = _non_finite(value, "$")
    if errors:
        raise BodyError(
            Problem(
                status=422,
                title="请求内容有误 / Invalid request",
                detail=f"{len(errors)} field(s) invalid",
                errors=errors,
            )
        )
    return value


def is_json(content_type: str | None) -> bool:
    """Whether FastAPI would parse a body of this type as JSON (no type at all counts, as it does there)."""
    if not content_type:
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


@dataclass(frozen=True)
class BodyLimits:
    """How many bytes a body may have (``default``, or the first ``by_path`` pattern that matches), and how long
    its bytes may take: ``idle_s`` without a byte arriving, ``total_s`` in all."""

    default: int = 1_000_000
    by_path: Sequence[tuple[str, int]] = ()
    idle_s: float = 5.0
    total_s: float = 120.0

    def limit_for(self, path: str) -> int:
        for pattern, limit in self.by_path:
            if re.fullmatch(pattern, path):
                return limit
        return self.default


def _too_large(limit: int) -> BodyError:
    return BodyError(
        Problem(
            status=413,
            title="请求体过大 / Request body too large",
            detail=f"limit is {limit} bytes",
            errors=[
                FieldError(
                    path="$",
                    code="body_too_large",
                    message_zh=f"请求体超过 {limit} 字节的上限",
                    message_en=f"the body is larger than the limit of {limit} bytes",
                )
            ],
        )
    )


def _too_slow(seconds: float) -> BodyError:
    return BodyError(
        Problem(
            status=408,
            title="请求体传输超时 / Request body timed out",
            detail=f"no complete body within the time allowed ({seconds:g} s without data, or in all)",
            errors=[
                FieldError(
                    path="$",
                    code="body_timeout",
                    message_zh="请求体未在规定时间内传完",
                    message_en="the body stopped arriving before it was complete",
                )
            ],
        )
    )


def problem_answer(problem: Problem) -> JSONResponse:
    """The problem as a response that also closes the connection: the rest of a refused body is never read."""
    return JSONResponse(
        problem.model_dump(mode="json"),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers={"Connection": "close"},
    )


class _Stream:
    """The request's ``receive``, counting bytes and timing each wait."""

    def __init__(self, receive: Receive, limit: int, limits: BodyLimits) -> None:
        self._receive = receive
        self._limit = limit
        self._limits = limits
        self._deadline = time.monotonic() + limits.total_s
        self.size = 0
        self.complete = False

    async def __call__(self) -> Message:
        if self.complete:
            # After the body, receive() only waits for the client to go away (a streamed answer listens for
            # that for as long as it streams): no time limit applies to it.
            return await self._receive()
        wait = min(self._limits.idle_s, self._deadline - time.monotonic())
        try:
            message = await asyncio.wait_for(self._receive(), max(wait, 0.0))
        except TimeoutError:
            raise _too_slow(self._limits.idle_s) from None
        if message["type"] == "http.request":
            self.size += len(message.get("body", b""))
            if self.size > self._limit:
                raise _too_large(self._limit)
            self.complete = not message.get("more_body", False)
        return message


class BodyGuard:
    """ASGI middleware: every body within its byte and time limits, every JSON body strict JSON, and
    ``X-Content-Type-Options: nosniff`` on every answer."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _nosniff(send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        limit = self.limits.limit_for(scope["path"])
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await problem_answer(_too_large(limit).problem)(scope, receive, send)
            return
        stream = _Stream(receive, limit, self.limits)
        if not is_json(headers.get("content-type")) or (length == "0" and "transfer-encoding" not in headers):
            started = False

            async def watched(message: Message) -> None:
                nonlocal started
                started = started or message["type"] == "http.response.start"
                await send(message)

            try:
                await self.app(scope, stream, watched)
            except BodyError as exc:
                # Raised by the counting receive where no exception handler answered it.
                if started:
                    raise
                await problem_answer(exc.problem)(scope, receive, send)
            return
        try:
            body = await _read_all(stream)
            if body:
                parse_json(body)
        except BodyError as exc:
            await problem_answer(exc.problem)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


async def _read_all(stream: _Stream) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await stream()
        if message["type"] != "http.request":
            break  # the client went away: the route sees what came, and its own disconnect
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _nosniff(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            if not any(k.lower() == b"x-content-type-options" for k, _ in headers):
                headers.append((b"x-content-type-options", b"nosniff"))
            message = {**message, "headers": headers}
        await send(message)

    return wrapped
