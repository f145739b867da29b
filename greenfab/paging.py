"""Keyset paging for every list route: an opaque cursor over a stable sort key, a bounded limit, a next link.

Why keyset and not OFFSET: a page costs the same at row 10 and row 10,000 (the index is entered at the
cursor, nothing is skipped), and a row inserted while someone pages neither repeats nor hides a row they
have not seen yet. The sort key always ends in a unique column, so the order is total and stable.

A cursor is the last row's sort-key values and a digest of the filters it was made under, as base64url
JSON with a checksum. It is opaque, not secret: every page re-applies the caller's scope and filters, so a
forged cursor can only move where a page starts within what the caller may read anyway. A cursor that is
not one of ours, was edited, holds values of the wrong type, or was made for other filters or another
list is refused by field (``$.cursor``, 422), never a 500.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request, Response
from sqlalchemy import ColumnElement, and_, false, or_
from sqlalchemy.sql import Select

from contracts.http import FieldError
from contracts.paging import Page
from greenfab.http import ProblemError

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
CURSOR_MAX_CHARS = 1024
# A checksum against corrupted or hand-edited cursors; not a secret (see the module docstring).
_CHECK_KEY = b"greenfab keyset cursor v1"

T = TypeVar("T")
Row = TypeVar("Row")
Q = TypeVar("Q", bound=Select[Any])
Scalar = str | int | float | bool | date | datetime | None


@dataclass(frozen=True)
class Key:
    """One column of a sort key. ``nullable`` keys sort their NULLs last in either direction."""

    column: Any
    kind: type
    descending: bool = False
    nullable: bool = False

    @property
    def name(self) -> str:
        return str(self.column.key)

    def ordering(self) -> Any:
        ordered = self.column.desc() if self.descending else self.column.asc()
        return ordered.nulls_last() if self.nullable else ordered

    def same(self, value: Scalar) -> ColumnElement[bool]:
        column = self.column
        return column.is_(None) if value is None else column == value  # type: ignore[no-any-return]

    def beyond(self, value: Scalar) -> ColumnElement[bool]:
        """Rows strictly after ``value`` in this key's order."""
        column = self.column
        if value is None:  # NULLs come last: nothing is after a NULL but other NULLs, which tie.
            return false()
        after = column < value if self.descending else column > value
        return or_(after, column.is_(None)) if self.nullable else after


@dataclass(frozen=True)
class PageAsk:
    """What the caller asked for: how many rows and from where (the raw cursor, checked by the keyset)."""

    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    # The request and answer the page belongs to, to write the next link; absent outside HTTP.
    request: Request | None = field(default=None, compare=False, repr=False)
    response: Response | None = field(default=None, compare=False, repr=False)

    def answer(self, page: Page[T]) -> Page[T]:
        """The page, with its next page's URL in a ``Link`` header."""
        if self.request is not None and self.response is not None and page.next_cursor:
            url = self.request.url.include_query_params(cursor=page.next_cursor, limit=self.limit)
            self.response.headers["Link"] = f'<{url}>; rel="next"'
        return page


def _refusal(code: str, zh: str, en: str) -> ProblemError:
    error = FieldError(path="$.cursor", code=code, message_zh=zh, message_en=en)
    return ProblemError(422, "请求内容有误 / Invalid request", en, [error])


def _encode_value(value: Scalar) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _decode_value(raw: Any, kind: type) -> Scalar:
    if raw is None:
        return None
    if kind is datetime and isinstance(raw, str):
        return datetime.fromisoformat(raw)
    if kind is date and isinstance(raw, str):
        return date.fromisoformat(raw)
    if kind is float and isinstance(raw, int) and not isinstance(raw, bool):
        return float(raw)
    if kind in (str, int, bool, float) and type(raw) is kind:
        return raw
    raise ValueError(f"expected {kind.__name__}")


def _digest(text: bytes) -> str:
    return hmac.new(_CHECK_KEY, text, hashlib.sha256).hexdigest()[:16]


def filters_digest(filters: Iterable[object]) -> str:
    """A short digest of the filters a list was asked with: a cursor is only good under the same ones."""
    return hashlib.sha256(json.dumps([str(f) for f in filters], ensure_ascii=False).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Keyset:
    """A list's stable order: its name (a cursor of one list is refused by another) and its sort key,
    whose last column is unique."""

    name: str
    keys: tuple[Key, ...]

    def cursor(self, row: object, filters: Sequence[object]) -> str:
        values = [_encode_value(getattr(row, k.name)) for k in self.keys]
        body = json.dumps({"l": self.name, "f": filters_digest(filters), "k": values}, separators=(",", ":"))
        raw = body.encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=") + "." + _digest(raw)

    def position(self, cursor: str, filters: Sequence[object]) -> tuple[Scalar, ...]:
        """The sort-key values a cursor carries, or a 422 naming why it is refused."""
        bad = _refusal(
            "cursor_invalid",
            "翻页游标无效（请从第一页重新开始）",
            "the cursor is not one this list gave out (start again from the first page)",
        )
        encoded, _, check = cursor.partition(".")
        try:
            raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except (binascii.Error, ValueError):
            raise bad from None
        if not hmac.compare_digest(_digest(raw), check):
            raise bad
        try:
            body = json.loads(raw)
            if not isinstance(body, dict) or body.get("l") != self.name:
                raise ValueError("another list's cursor")
            values = body.get("k")
            if not isinstance(values, list) or len(values) != len(self.keys):
                raise ValueError("wrong number of values")
            decoded = tuple(_decode_value(v, k.kind) for v, k in zip(values, self.keys, strict=True))
            if any(v is None and not k.nullable for v, k in zip(decoded, self.keys, strict=True)):
                raise ValueError("a null where the key has none")
        except ValueError:
            raise bad from None
        if body.get("f") != filters_digest(filters):
            raise _refusal(
                "cursor_filters_changed",
                "翻页游标属于另一组筛选条件（请从第一页重新开始）",
                "the cursor was made for other filters (start again from the first page)",
            )
        return decoded

    def after(self, values: tuple[Scalar, ...]) -> ColumnElement[bool]:
        """Rows strictly after the row whose sort key is ``values``: (k1 > v1) or (k1 = v1 and k2 > v2) …"""
        branches = []
        for i, key in enumerate(self.keys):
            prefix = [k.same(v) for k, v in zip(self.keys[:i], values[:i], strict=True)]
            branches.append(and_(*prefix, key.beyond(values[i])))
        return or_(*branches)

    def select(self, query: Q, ask: PageAsk, filters: Sequence[object] = ()) -> Q:
        """The query ordered by this key, from the cursor on, one row more than the page (to know if more follow)."""
        query = query.order_by(*(k.ordering() for k in self.keys))
        if ask.cursor:
            query = query.where(self.after(self.position(ask.cursor, filters)))
        return query.limit(ask.limit + 1)

    def page(
        self, rows: Sequence[Row], ask: PageAsk, convert: Callable[[Row], T], filters: Sequence[object] = ()
    ) -> Page[T]:
        """The page of ``rows`` (as fetched by :meth:`select`), with the next cursor if more follow."""
        more = len(rows) > ask.limit
        shown = rows[: ask.limit]
        following = self.cursor(shown[-1], filters) if more and shown else None
        return Page[T](items=[convert(r) for r in shown], next_cursor=following, limit=ask.limit)


_CURSOR_QUERY = Query(
    max_length=CURSOR_MAX_CHARS,
    pattern=r"^([A-Za-z0-9_-]+\.[0-9a-f]{16})?$",
    description="The `next_cursor` of the previous page; omit (or leave empty) for the first page.",
)


def page_params(default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> Callable[..., PageAsk]:
    """The ``limit`` and ``cursor`` query parameters of a list route, as a dependency
    (``Annotated[PageAsk, Depends(page_params(20, 100))]``); a list of heavy rows takes a smaller page."""

    def _page_ask(request: Request, response: Response, limit: int = default, cursor: str | None = None) -> PageAsk:
        return PageAsk(limit=limit, cursor=cursor, request=request, response=response)

    described = f"Rows per page, 1–{maximum} (default {default})."
    # Real objects, not the strings postponed annotations would leave: the bounds are this call's.
    _page_ask.__annotations__ = {
        "request": Request,
        "response": Response,
        "limit": Annotated[int, Query(ge=1, le=maximum, description=described)],
        "cursor": Annotated[str | None, _CURSOR_QUERY],
        "return": PageAsk,
    }
    return _page_ask


Paging = Annotated[PageAsk, Depends(page_params())]
"""A list route's ``limit`` (1–500, default 50) and ``cursor`` query parameters."""
