"""The audit hash chain: a whole chain verifies; each kind of tampering is found and named."""

from __future__ import annotations

import dataclasses

import pytest

from services.audit.domain.chain import GENESIS, SEALED_FIELDS, Row, payload_text, seal, verify
from services.audit.domain.entries import NotAuditable, entry_of


def message(n: int) -> dict[str, object]:
    return {
        "id": f"m{n}",
        "type": "unit.changed",
        "occurred_at": f"2026-01-{n:02d}T00:00:00+00:00",
        "actor": {"role": "bureau", "subject": "bureau-li", "scope": None},
        "uscc": "91110115MA04C2UX1E",
        "district": "大兴区",
        "workflow_id": "unit-91110115MA04C2UX1E-municipal-green-factory",
        "state": "listed",
        "state_zh": "已公告",
        "reason": f"step {n}",
        "clause": "第十二条",
    }


def chain(n: int) -> list[Row]:
    rows, prev = [], GENESIS
    for i in range(1, n + 1):
        e = entry_of(message(i))
        fields = {k: v for k, v in e.__dict__.items() if k != "payload"}
        fields.update(payload=payload_text(e.payload), recorded_at=f"2026-01-{i:02d}T00:00:01+00:00", prev_hash=prev)
        row = Row(seq=i, hash=seal(fields), fields=fields)
        rows.append(row)
        prev = row.hash
    return rows


def renumber(rows: list[Row]) -> list[Row]:
    return [dataclasses.replace(r, seq=i) for i, r in enumerate(rows, 1)]


def problems(rows: list[Row]) -> list[tuple[str, int]]:
    return [(f.problem, f.seq) for f in verify(rows)]


def test_a_whole_chain_verifies() -> None:
    assert verify(chain(6)) == []
    assert verify([]) == []


def test_an_edited_record_is_named() -> None:
    rows = chain(6)
    rows[2] = dataclasses.replace(rows[2], fields={**rows[2].fields, "reason": "改过的理由"})
    assert problems(rows) == [("edited", 3)]


def test_an_edited_and_rehashed_record_is_named_by_the_broken_link_after_it() -> None:
    rows = chain(6)
    fields = {**rows[2].fields, "actor_subject": "someone-else"}
    rows[2] = dataclasses.replace(rows[2], fields=fields, hash=seal(fields))
    assert problems(rows) == [("edited", 3)]


def test_a_deleted_record_is_named_by_its_missing_number() -> None:
    rows = chain(6)
    del rows[3]
    assert problems(rows) == [("deleted", 5)]
    assert "4" in verify(rows)[0].detail


def test_a_deletion_hidden_by_renumbering_still_breaks_the_chain() -> None:
    rows = renumber(chain(6)[:3] + chain(6)[4:])
    assert [p for p, _ in problems(rows)] == ["edited"]  # "record 3 changed and re-hashed, or records after it removed"
    assert "removed" in verify(rows)[0].detail


def test_deleting_the_first_record_is_found() -> None:
    rows = renumber(chain(4)[1:])
    assert problems(rows) == [("deleted", 1)]


def test_an_inserted_record_is_named() -> None:
    rows = chain(6)
    fields = {**rows[2].fields, "source_id": "forged", "reason": "伪造", "prev_hash": rows[2].hash}
    forged = Row(seq=0, hash=seal(fields), fields=fields)
    tampered = renumber([*rows[:3], forged, *rows[3:]])
    assert problems(tampered)[0] == ("inserted", 4)
    assert verify(tampered)[0].source_id == "forged"


def test_reordered_records_are_named() -> None:
    rows = chain(6)
    swapped = renumber([rows[0], rows[1], rows[3], rows[2], rows[4], rows[5]])
    found = problems(swapped)
    assert {p for p, _ in found} == {"reordered"}
    assert {3, 4} <= {seq for _, seq in found}


def test_a_message_without_an_actor_is_refused_by_name() -> None:
    with pytest.raises(NotAuditable, match="actor"):
        entry_of({"id": "x", "type": "unit.changed", "occurred_at": "2026-01-01T00:00:00+00:00"})


def test_the_hash_covers_every_sealed_field() -> None:
    rows = chain(2)
    for name in SEALED_FIELDS:
        changed = {**rows[1].fields, name: rows[1].fields[name] + "x"}
        assert seal(changed) != rows[1].hash, name
