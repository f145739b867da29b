"""`greenfab db upgrade | current | history | revision`: each service's schema migrations from the command line."""

from __future__ import annotations

import importlib

from greenfab.migrations import Migrations

SERVICES = ("intake", "scoring", "workflow", "notify", "audit")


def migrations_of(service: str) -> Migrations:
    """The service's revisions (``services/<service>/migrations``)."""
    module = importlib.import_module(f"services.{service}.migrations")
    migrations: Migrations = module.MIGRATIONS
    return migrations
