"""Lifecycle policy editions by content address, so a workflow input carries a ref, not the whole policy.

A unit's workflow input names its edition (``Policy.ref``, a hash of the policy's content) instead of carrying
the policy itself (issue 14.5: ~6.5 kB per start and per continue-as-new). The worker resolves it here, in
memory: the workflow service stores its edition in its database at start-up and loads every stored edition
before its worker runs. A ref is a hash, so one ref can only ever name one policy, and replaying a history
resolves it to the same numbers. A ref this process does not know fails the workflow task (a plain
exception, not an ApplicationError): Temporal retries it, on a worker that knows it; no other policy is
ever used in its place.
"""

from __future__ import annotations

from sqlmodel import select

from greenfab.db import Database
from services.workflow.domain.policy import Policy
from services.workflow.tables import PolicyEdition


class UnknownEdition(LookupError):
    """A workflow names a policy edition this worker has not loaded."""


class Editions:
    """The editions this process knows, by ref (read by workflow code, which imports this module passed through)."""

    def __init__(self) -> None:
        self._by_ref: dict[str, Policy] = {}
        # The ref of each policy object added, kept with the object (so its id is never reused): hashing the
        # policy again for every start would cost a quarter of a millisecond. Policies are never changed in place.
        self._by_object: dict[int, tuple[Policy, str]] = {}

    def add(self, policy: Policy) -> str:
        known = self._by_object.get(id(policy))
        if known is not None and known[0] is policy:
            return known[1]
        ref = policy.ref
        self._by_object[id(policy)] = (policy, ref)
        self._by_ref.setdefault(ref, policy)
        return ref

    def get(self, ref: str) -> Policy:
        try:
            return self._by_ref[ref]
        except KeyError:
            raise UnknownEdition(
                f"policy edition {ref} is not loaded in this worker: it is in the database of the workflow service "
                "that started the unit; this workflow task fails and is retried"
            ) from None

    def __contains__(self, ref: str) -> bool:
        return ref in self._by_ref


EDITIONS = Editions()


async def store_and_load(db: Database, current: Policy, editions: Editions = EDITIONS) -> str:
    """Store ``current`` if it is new, load every stored edition into ``editions``; the current edition's ref."""
    ref = editions.add(current)
    async with db.session() as s:
        if await s.get(PolicyEdition, ref) is None:
            s.add(PolicyEdition(ref=ref, policy=current.model_dump(mode="json")))
            await s.commit()
        for row in (await s.exec(select(PolicyEdition))).all():
            if row.ref not in editions:
                policy = Policy.model_validate(row.policy)
                if policy.ref != row.ref:
                    raise ValueError(f"policy edition {row.ref} does not match its content ({policy.ref})")
                editions.add(policy)
    return ref
