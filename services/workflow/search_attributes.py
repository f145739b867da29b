"""The unit's search attributes: how operators find it in Temporal (Web UI, `temporal workflow list --query`).

Each lifecycle workflow keeps them current from its state (`updates`); the worker registers them in its
namespace before it starts (`register`), so the same code runs on the dev server, the time-skipping test
server and an external Temporal. Names carry the `Greenfab` prefix so they never meet another system's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributeUpdate,
    SearchAttributeValue,
    TypedSearchAttributes,
)
from temporalio.service import RPCError, RPCStatusCode

from greenfab.messaging import StartupError
from services.workflow.domain.state import UnitState

USCC = SearchAttributeKey.for_keyword("GreenfabUscc")
DISTRICT = SearchAttributeKey.for_keyword("GreenfabDistrict")
SCHEME = SearchAttributeKey.for_keyword("GreenfabScheme")  # the designation: municipal-green-factory, …
STATE = SearchAttributeKey.for_keyword("GreenfabState")  # the lifecycle state: under_review, publicity, …
LEVEL = SearchAttributeKey.for_int("GreenfabLevel")  # the published grade level; unset while it has none
WAITING_ON = SearchAttributeKey.for_keyword_list("GreenfabWaitingOn")  # roles that must act: bureau, district, …
KEYS: tuple[SearchAttributeKey[Any], ...] = (USCC, DISTRICT, SCHEME, STATE, LEVEL, WAITING_ON)
_CLI_TYPE = {k.name: {LEVEL.name: "Int", WAITING_ON.name: "KeywordList"}.get(k.name, "Keyword") for k in KEYS}


class SearchAttributesMissing(StartupError):
    """The namespace lacks the attributes and they cannot be added here; the message says how to add them."""


def waiting_on(state: UnitState) -> list[str]:
    """The roles a unit waits on: those of its open tasks and of deadlines no task carries (the enterprise's)."""
    roles = {t.role for t in state.tasks if t.active} | {o.owner for o in state.obligations if o.task_id is None}
    return sorted(roles)


def values(state: UnitState) -> dict[str, SearchAttributeValue | None]:
    """Each attribute's value for ``state`` (None: unset)."""
    waiting = waiting_on(state)
    return {
        USCC.name: state.uscc,
        DISTRICT.name: state.district,
        SCHEME.name: str(state.designation),
        STATE.name: state.state,
        LEVEL.name: state.level,
        WAITING_ON.name: waiting or None,
    }


def updates(state: UnitState, current: TypedSearchAttributes) -> list[SearchAttributeUpdate[Any]]:
    """The upserts that bring ``current`` (the workflow's attributes) to what ``state`` says; none when equal."""
    wanted = values(state)
    out: list[SearchAttributeUpdate[Any]] = []
    for key in KEYS:
        value, now = wanted[key.name], current.get(key)
        if value == now or (value is None and now in (None, [])):
            continue
        out.append(key.value_unset() if value is None else key.value_set(value))
    return out


def create_commands(namespace: str, keys: Sequence[SearchAttributeKey[Any]] = KEYS) -> list[str]:
    """The CLI commands that register ``keys`` by hand (for a namespace this worker may not administer)."""
    return [
        f"temporal operator search-attribute create --namespace {namespace} --name {k.name} --type {_CLI_TYPE[k.name]}"
        for k in keys
    ]


async def register(client: Client) -> list[str]:
    """Add the attributes the namespace lacks (idempotent; a concurrent worker's add is tolerated).

    Returns the names added. Raises SearchAttributesMissing when one exists with another type or the
    namespace refuses to add them (e.g. a hosted namespace): the message gives the commands to run.
    """
    ns = client.namespace
    try:
        listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=ns))
        have = {**listed.system_attributes, **listed.custom_attributes}
    except RPCError as exc:
        if exc.status != RPCStatusCode.UNIMPLEMENTED:
            raise _missing(ns, KEYS, exc) from exc
        have = {}  # the time-skipping test server cannot list them but adds them
    clash = [k for k in KEYS if k.name in have and have[k.name] != k.indexed_value_type.value]
    if clash:
        names = ", ".join(f"{k.name} ({IndexedValueType.Name(have[k.name])})" for k in clash)
        raise SearchAttributesMissing(f"Temporal namespace {ns} has search attributes of another type: {names}")
    missing = [k for k in KEYS if k.name not in have]
    if not missing:
        return []
    types = {k.name: IndexedValueType.ValueType(k.indexed_value_type.value) for k in missing}
    request = AddSearchAttributesRequest(namespace=ns, search_attributes=types)
    try:
        await client.operator_service.add_search_attributes(request)
    except RPCError as exc:
        if exc.status != RPCStatusCode.ALREADY_EXISTS:  # another worker added them first: what we wanted
            raise _missing(ns, missing, exc) from exc
    return [k.name for k in missing]


def _missing(namespace: str, keys: Sequence[SearchAttributeKey[Any]], exc: RPCError) -> SearchAttributesMissing:
    commands = "\n  ".join(create_commands(namespace, keys))
    return SearchAttributesMissing(
        f"cannot add search attributes to Temporal namespace {namespace} ({exc.message}); add them:\n  {commands}"
    )
