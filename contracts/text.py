"""Free text people type into a request (names, titles, reasons, notes, comments), checked the same way
everywhere: ``Line`` for one line, ``Paragraph`` for text that may have several.

Such text is stored, published (a grade list shows the enterprise's name) and put into e-mails, CSV
exports and the audit record, so what cannot be seen must not be in it:

- C0 and C1 control characters (U+0000–U+001F, U+007F–U+009F): NUL is refused by PostgreSQL's text
  columns, and the others (BEL, ESC, …) act on terminals and logs instead of showing. A ``Paragraph``
  keeps tab, line feed and carriage return (a browser sends a textarea's line breaks as CR LF).
- Bidirectional overrides, embeddings and isolates (U+202A–U+202E, U+2066–U+2069) and the direction
  marks (U+200E, U+200F, U+061C): they reorder what a reader sees, so "司公限有" can show as "有限公司"
  and a name can pass for another (the "Trojan Source" spoof).
- Zero-width and invisible format characters (U+200B–U+200D, U+2060–U+2064, U+FEFF, U+00AD, U+180E):
  "北京", U+200B, "公司" looks exactly like "北京公司" on a published list but is another name.

A refusal names the field (pydantic's location, so the problem document says e.g. ``$.enterprise_name``)
with the code ``text_invisible_character``, the character's code point and its position, in Chinese and
English (``message_zh`` travels in the error's context, as greenfab/http.py reads it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# Zero-width and invisible format characters: "北京\u200b公司" shows as "北京公司" and is another name.
_ZERO_WIDTH = "\u00ad\u180e\u200b-\u200d\u2060-\u2064\ufeff"
_LINE_BAD = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}{_ZERO_WIDTH}]")
_PARAGRAPH_BAD = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}{_ZERO_WIDTH}]")  # keeps \t \n \r
_IS_BIDI = re.compile(f"[{_BIDI}]")
_IS_ZERO_WIDTH = re.compile(f"[{_ZERO_WIDTH}]")


def _why(char: str, at: int, code: str) -> tuple[str, str]:
    """Why the character at ``at`` is refused, in Chinese and English."""
    if char in "\t\n\r":
        return (
            f"第 {at} 个字符是换行或制表符（{code}）：此栏只能填写一行",
            f"character {at} is a line break or tab ({code}): this field takes one line",
        )
    if _IS_BIDI.fullmatch(char):
        zh, en = "文字方向控制字符", "a bidirectional control character"
    elif _IS_ZERO_WIDTH.fullmatch(char):
        zh, en = "零宽或不可见的格式字符", "a zero-width or invisible format character"
    else:
        zh, en = "控制字符", "a control character"
    return (
        f"第 {at} 个字符是{zh}（{code}），这类字符不可见或会改变文字的显示顺序，不予接受",
        f"character {at} is {en} ({code}): such characters are invisible or reorder the text shown, and are "
        "not accepted",
    )


@dataclass(frozen=True)
class Invisible:
    """The first character of a text that is refused: its 1-based position, code point and why."""

    position: int
    code: str
    message_zh: str
    message_en: str


def find_invisible(value: str, *, lines: bool) -> Invisible | None:
    """The first refused character of ``value`` (``lines``: tab, LF and CR allowed), or None."""
    found = (_PARAGRAPH_BAD if lines else _LINE_BAD).search(value)
    if found is None:
        return None
    char, at = found.group(), found.start() + 1
    code = f"U+{ord(char):04X}"
    zh, en = _why(char, at, code)
    return Invisible(at, code, zh, en)


def _refuse(lines: bool) -> AfterValidator:
    def check(value: str) -> str:
        found = find_invisible(value, lines=lines)
        if found is None:
            return value
        raise PydanticCustomError(
            "text_invisible_character",
            "{message_en}",
            {"message_en": found.message_en, "message_zh": found.message_zh, "code_point": found.code},
        )

    return AfterValidator(check)


Line = Annotated[str, _refuse(lines=False)]
"""One line of free text (a name, a title): no control character at all, no bidirectional control."""

Paragraph = Annotated[str, _refuse(lines=True)]
"""Free text that may run over several lines (a reason, a note): tab, LF and CR allowed, no other control
character, no bidirectional control."""
