"""Names a code generator accepts, made from the words of a title or a route: `intake/declare` → `intakeDeclare`."""

from __future__ import annotations

import re

IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


def identifier(name: str) -> str:
    """``name``'s words in camelCase: `intake/evaluation.completed` → `intakeEvaluationCompleted`.

    A word repeated at once is kept once (`audit/audit-submissions` → `auditSubmissions`).
    """
    words: list[str] = []
    for word in re.split(r"[^A-Za-z0-9]+", name):
        if word and (not words or word.lower() != words[-1].lower()):
            words.append(word)
    if not words:
        raise ValueError(f"no identifier in {name!r}")
    return words[0][0].lower() + words[0][1:] + "".join(w[0].upper() + w[1:] for w in words[1:])
