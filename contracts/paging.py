"""The shape of every list route's answer: one page of items and the cursor of the next page."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list, in the list's stable order. Ask again with ``cursor=next_cursor`` for the next
    page; ``next_cursor`` is null on the last page. The same link is in the ``Link: <…>; rel="next"`` header."""

    items: list[T] = Field(description="This page's items, at most `limit`.")
    next_cursor: str | None = Field(
        default=None, description="Opaque cursor of the next page; null when this page is the last."
    )
    limit: int = Field(description="The page size asked for (or the default).")
