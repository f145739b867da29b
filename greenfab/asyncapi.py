"""Making faststream's AsyncAPI 3 documents something a code generator and another system can build on.

faststream 0.7 names channels, operations and messages after subscribers' titles (`intake.declare:
SubscribeMessage`, with colons, dots and spaces), knows no reply, and gives a subscriber that reads raw
bytes a payload of "any object". ``complete`` renames every key to an identifier (camelCase, from the
same words) and, for each core request/reply subject in contracts.requests, documents the request body and
the reply (AsyncAPI 3 operation `reply`, on a reply channel whose address is the requester's inbox).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote

from pydantic.json_schema import models_json_schema

from contracts.requests import RequestReply
from greenfab.identifiers import identifier

SCHEMAS_REF = "#/components/schemas/{model}"
COMPONENT_KEY = re.compile(r"^[A-Za-z0-9.\-_]+$")  # AsyncAPI 3.0.0, Components Object: every key


def complete(doc: dict[str, Any], request_reply: Mapping[str, RequestReply]) -> dict[str, Any]:
    """``doc`` with every key an identifier and each request/reply subject's request and reply documented."""
    components = doc.setdefault("components", {})
    renames = {
        "channels": {key: identifier(key) for key in doc.get("channels", {})},
        "operations": {key: identifier(key) for key in doc.get("operations", {})},
        "messages": {key: identifier(key) for key in components.get("messages", {})},
        "schemas": {key: key if COMPONENT_KEY.match(key) else identifier(key) for key in components.get("schemas", {})},
    }
    for kind, names in renames.items():
        if len(set(names.values())) != len(names):
            raise ValueError(f"two {kind} would share an identifier: {sorted(names)}")
    doc = _renamed(doc, renames)
    for channel_id, channel in list(doc.get("channels", {}).items()):
        pair = request_reply.get(channel.get("address", ""))
        if pair is not None:
            _document_reply(doc, channel_id, pair)
    _drop_unreferenced_schemas(doc)
    return doc


def _renamed(doc: dict[str, Any], renames: dict[str, dict[str, str]]) -> dict[str, Any]:
    def ref(value: str) -> str:
        parts = [unquote(p).replace("~1", "/").replace("~0", "~") for p in value.removeprefix("#/").split("/")]
        # #/channels/<key>/…, #/operations/<key>/…, #/components/messages/<key>, #/components/schemas/<key>
        at = 0 if parts[0] in ("channels", "operations") else 1 if parts[0] == "components" else None
        if at is not None and len(parts) > at + 1 and parts[at] in renames:
            parts[at + 1] = renames[parts[at]].get(parts[at + 1], parts[at + 1])
        return "#/" + "/".join(quote(p.replace("~", "~0").replace("/", "~1"), safe="") for p in parts)

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: ref(v) if k == "$ref" and isinstance(v, str) else walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    out: dict[str, Any] = walk(doc)
    for kind in ("channels", "operations"):
        if kind in out:
            out[kind] = {renames[kind][k]: v for k, v in out[kind].items()}
    for kind in ("messages", "schemas"):
        if kind in out["components"]:
            out["components"][kind] = {renames[kind][k]: v for k, v in out["components"][kind].items()}
    return out


def _document_reply(doc: dict[str, Any], channel_id: str, pair: RequestReply) -> None:
    """Set the request's payload on ``channel_id``'s messages and add its reply channel, message and `reply`."""
    components = doc["components"]
    _, top = models_json_schema([(pair.request, "validation"), (pair.reply, "validation")], ref_template=SCHEMAS_REF)
    for name, schema in top.get("$defs", {}).items():
        components.setdefault("schemas", {}).setdefault(name, schema)
    request_ref = {"$ref": SCHEMAS_REF.format(model=pair.request.__name__)}
    reply_ref = {"$ref": SCHEMAS_REF.format(model=pair.reply.__name__)}
    channel = doc["channels"][channel_id]
    (local_key, local), *others = channel["messages"].items()  # faststream: one message per subscriber
    assert not others, f"{channel_id}: a request/reply channel with more than one message"
    message = components["messages"].pop(unquote(local["$ref"].rsplit("/", 1)[1]))
    message.update(payload=request_ref, name=f"{channel_id}Request", title=pair.request.__name__)
    message["summary"] = (pair.request.__doc__ or "").strip().splitlines()[0]
    message.pop("correlationId", None)  # core NATS request/reply: the reply goes to the request's inbox
    components["messages"][f"{channel_id}Request"] = message
    channel["messages"] = {"Request": {"$ref": f"#/components/messages/{channel_id}Request"}}
    old_local = f"#/channels/{channel_id}/messages/{local_key}"
    reply_channel = f"{channel_id}Reply"
    reply_message = f"{channel_id}Reply"
    components["messages"][reply_message] = {
        "name": reply_message,
        "title": pair.reply.__name__,
        "summary": (pair.reply.__doc__ or "").strip().splitlines()[0],
        "payload": reply_ref,
    }
    doc["channels"][reply_channel] = {
        "address": None,
        "description": f"The reply to a request on `{channel['address']}`: NATS sends it to the requester's inbox "
        "(the request's reply subject), so its address is known only at run time.",
        "messages": {"Reply": {"$ref": f"#/components/messages/{reply_message}"}},
    }
    for operation in doc.get("operations", {}).values():
        if operation["channel"]["$ref"] == f"#/channels/{channel_id}":
            operation["messages"] = [
                {"$ref": f"#/channels/{channel_id}/messages/Request"} if m["$ref"] == old_local else m
                for m in operation["messages"]
            ]
            operation["reply"] = {
                "channel": {"$ref": f"#/channels/{reply_channel}"},
                "messages": [{"$ref": f"#/channels/{reply_channel}/messages/Reply"}],
            }


def _drop_unreferenced_schemas(doc: dict[str, Any]) -> None:
    """Remove the component schemas nothing reaches any more (faststream's `…MessagePayload` of a request)."""
    schemas: dict[str, Any] = doc["components"].get("schemas", {})
    roots = {k: v for k, v in doc.items() if k != "components"}
    roots["components"] = {k: v for k, v in doc["components"].items() if k != "schemas"}
    reached: set[str] = set()
    todo = list(_schema_refs(roots))
    while todo:
        name = todo.pop()
        if name not in reached and name in schemas:
            reached.add(name)
            todo += _schema_refs(schemas[name])
    for name in set(schemas) - reached:
        del schemas[name]


def _schema_refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [unquote(v.rsplit("/", 1)[1]) for k, v in node.items() if k == "$ref" and "/schemas/" in str(v)]
        return found + [name for v in node.values() for name in _schema_refs(v)]
    if isinstance(node, list):
        return [name for v in node for name in _schema_refs(v)]
    return []
