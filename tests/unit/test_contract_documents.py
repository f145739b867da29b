"""The documents in contracts/ are ones another system can build on: ids a code generator accepts, every
request/reply subject with its request and reply, every HTTP operation with a tag and a readable id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contracts.nats_roles import ROLES
from contracts.requests import REQUEST_REPLY
from greenfab.asyncapi import COMPONENT_KEY
from greenfab.identifiers import IDENTIFIER, identifier

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
SERVICES = ("intake", "scoring", "workflow", "notify", "audit")


def load(kind: str, service: str) -> dict[str, Any]:
    return dict(json.loads((CONTRACTS / kind / f"{service}.json").read_text(encoding="utf-8")))


def test_identifiers_are_camel_case_words() -> None:
    assert identifier("intake/declare (request/reply)") == "intakeDeclareRequestReply"
    assert identifier("intake/evaluation.completed") == "intakeEvaluationCompleted"
    assert identifier("audit/audit-submissions") == "auditSubmissions"
    assert identifier("public lists list_units") == "publicListsListUnits"
    with pytest.raises(ValueError, match="no identifier"):
        identifier("/ ()")


@pytest.mark.parametrize("service", SERVICES)
def test_every_asyncapi_key_is_one_a_generator_accepts(service: str) -> None:
    doc = load("asyncapi", service)
    names = [*doc["operations"], *doc["channels"], *doc["components"]["messages"]]
    assert [n for n in names if not IDENTIFIER.match(n)] == []
    assert [k for k in doc["components"]["schemas"] if not COMPONENT_KEY.match(k)] == []
    refs = [r for r in json.dumps(doc).split('"$ref": "')[1:]]
    assert [r for r in refs if "%" in r.split('"')[0]] == [], "a $ref still escapes a space or a colon"


@pytest.mark.parametrize("service", SERVICES)
def test_each_subject_a_service_answers_has_its_request_and_reply_documented(service: str) -> None:
    doc = load("asyncapi", service)
    served = set(ROLES[service].serves)
    assert served <= set(REQUEST_REPLY), "a request/reply subject without its line in contracts/requests.py"
    by_address = {c.get("address"): name for name, c in doc["channels"].items()}
    for subject in served:
        channel = by_address[subject]
        pair = REQUEST_REPLY[subject]
        (operation,) = [o for o in doc["operations"].values() if o["channel"]["$ref"] == f"#/channels/{channel}"]
        assert operation["action"] == "receive"
        (message_ref,) = doc["channels"][channel]["messages"].values()
        message = doc["components"]["messages"][message_ref["$ref"].rsplit("/", 1)[1]]
        assert message["payload"] == {"$ref": f"#/components/schemas/{pair.request.__name__}"}
        reply_channel = doc["channels"][operation["reply"]["channel"]["$ref"].rsplit("/", 1)[1]]
        assert reply_channel["address"] is None  # the requester's inbox
        (reply_ref,) = reply_channel["messages"].values()
        reply = doc["components"]["messages"][reply_ref["$ref"].rsplit("/", 1)[1]]
        assert reply["payload"] == {"$ref": f"#/components/schemas/{pair.reply.__name__}"}
        request_schema = doc["components"]["schemas"][pair.request.__name__]
        assert request_schema["type"] == "object" and request_schema["properties"], "a payload of 'any object'"


def test_a_front_end_can_declare_and_read_the_result_over_nats() -> None:
    from contracts import subjects

    assert {subjects.INTAKE_DECLARE, subjects.INTAKE_STATUS} <= set(ROLES["frontend"].requests)
    assert {subjects.INTAKE_DECLARE, subjects.INTAKE_STATUS} <= set(ROLES["intake"].serves)


@pytest.mark.parametrize("service", SERVICES)
def test_every_http_operation_has_a_tag_and_an_id_a_generator_can_name_a_method(service: str) -> None:
    doc = load("openapi", service)
    operations = [op for ops in doc["paths"].values() for op in ops.values()]
    ids = [op["operationId"] for op in operations]
    assert [i for i in ids if not IDENTIFIER.match(i)] == []
    assert len(set(ids)) == len(ids)
    assert [op["operationId"] for op in operations if len(op.get("tags", [])) != 1] == []
