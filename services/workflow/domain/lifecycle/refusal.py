"""An action the lifecycle refuses, with the HTTP status it maps to and its reason in Chinese and English."""

from __future__ import annotations


class ActionRefused(Exception):
    """An action that may not happen: nothing changed. ``status`` is the HTTP status it maps to."""

    def __init__(self, status: int, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(f"{code}: {message_en}")
        self.status, self.code, self.message_zh, self.message_en = status, code, message_zh, message_en


def describe(exc: Exception) -> str:
    """An exception as a fault records it: its type and message, cut to 500 characters."""
    return f"{type(exc).__name__}: {exc}"[:500]
