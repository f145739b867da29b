"""Alembic's environment for every service: greenfab.migrations hands it the connection and the service."""

from greenfab.migrations import run_env

run_env()
