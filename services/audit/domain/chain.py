"""The hash chain: each record's hash covers its content and the previous record's hash.

`verify` walks a chain in sequence order and names every record that was edited, deleted,
inserted or moved. Pure: rows in, findings out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from services.audit.domain.entries import canonical, digest

GENESIS = "0" * 64

# The columns a record's hash covers, in this order. `seq` is left out so that the links, not
# the numbering, prove order; numbering gaps are reported on their own.
SEALED_FIELDS = (
    "source_id", "kind", "occurred_at", "recorded_at", "uscc", "district", "workflow_id",
    "actor_role", "actor_subject", "actor_scope", "summary_zh", "reason", "clause",
    "rulebook_version", "input_hash", "payload", "prev_hash",
)  # fmt: skip


def seal(fields: dict[str, str]) -> str:
    """The hash of a record whose SEALED_FIELDS are ``fields`` (payload already canonical JSON)."""
    return digest([fields[name] for name in SEALED_FIELDS])


def payload_text(payload: object) -> str:
    return canonical(payload)


@dataclass(frozen=True)
class Row:
    """A stored record as verify sees it."""

    seq: int
    hash: str
    fields: dict[str, str]

    @property
    def prev_hash(self) -> str:
        return self.fields["prev_hash"]

    def label(self) -> str:
        return f"record {self.seq} ({self.fields['kind']} {self.fields['source_id']})"


Problem = Literal["edited", "deleted", "inserted", "reordered"]


@dataclass(frozen=True)
class Finding:
    problem: Problem
    seq: int
    source_id: str
    detail: str


def verify(rows: Sequence[Row]) -> list[Finding]:
    """Every break in the chain, by record; empty when the chain is whole.

    A record whose content no longer matches its hash was edited. Otherwise its link (prev_hash)
    is followed: to its neighbour is whole; to nothing means its neighbour was re-hashed or records
    between were removed; to a record further on, or to an earlier one that another record also
    follows, means records were moved or one was inserted.
    """
    findings: list[Finding] = []
    index_of = {r.hash: i for i, r in enumerate(rows)}
    expected_seq = 1
    for i, row in enumerate(rows):
        src = row.fields["source_id"]
        gap = row.seq > expected_seq
        if gap:
            missing = f"{expected_seq}" if row.seq == expected_seq + 1 else f"{expected_seq}–{row.seq - 1}"
            findings.append(Finding("deleted", row.seq, src, f"record(s) {missing} missing before {row.label()}"))
        expected_seq = row.seq + 1
        if seal(row.fields) != row.hash:
            findings.append(Finding("edited", row.seq, src, f"{row.label()} no longer matches its hash"))
            continue
        previous = rows[i - 1].hash if i else GENESIS
        if row.prev_hash == previous:
            continue
        target = index_of.get(row.prev_hash)
        if target is None:
            if gap:
                continue  # the missing numbers already name the deletion
            if i == 0:
                findings.append(Finding("deleted", row.seq, src, f"{row.label()} does not start the chain"))
            else:
                before = rows[i - 1]
                findings.append(
                    Finding(
                        "edited",
                        before.seq,
                        before.fields["source_id"],
                        f"{before.label()} was changed and re-hashed, or records after it were removed",
                    )
                )
        elif target == i - 2 and rows[i - 1].prev_hash == rows[target].hash:
            odd = rows[i - 1]
            findings.append(Finding("inserted", odd.seq, odd.fields["source_id"], f"{odd.label()} is not in the chain"))
        else:
            findings.append(
                Finding("reordered", row.seq, src, f"{row.label()} was chained after {rows[target].label()}")
            )
    return findings
