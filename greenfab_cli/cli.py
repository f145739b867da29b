"""The `greenfab` command: run the local stack, check it, issue tokens."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from dataclasses import fields
from datetime import timedelta
from pathlib import Path
from typing import Any

from greenfab_cli import db_cli, stack_registry
from greenfab_cli.stack import (
    StackConfig,
    StackError,
    health_of,
    load_state,
    run_stack,
    stack_secret,
)

DATA_DIR_HELP = "the stack's data folder (default: $GREENFAB_DATA_DIR, the running stack's, else .data)"


def _add_stack_options(p: argparse.ArgumentParser) -> None:
    defaults = StackConfig()
    p.add_argument("--data-dir", type=Path, default=Path(os.environ.get("GREENFAB_DATA_DIR", ".data")),
                   help="folder for every part's data (default .data, or $GREENFAB_DATA_DIR)")  # fmt: skip
    for f in fields(StackConfig):
        if f.name.endswith("_port"):
            flag = "--" + f.name.replace("_", "-")
            p.add_argument(
                flag, type=int, default=getattr(defaults, f.name), help=f"default {getattr(defaults, f.name)}"
            )
    p.add_argument("--ready-timeout", dest="ready_timeout_s", type=float, default=defaults.ready_timeout_s,
                   help=f"seconds a part may take to start (default {defaults.ready_timeout_s:.0f})")  # fmt: skip
    p.add_argument("--temporal-address", default=os.environ.get("GREENFAB_TEMPORAL_ADDRESS"),
                   help="use the Temporal server at host:port instead of starting the dev server")  # fmt: skip
    p.add_argument("--database-url", default=os.environ.get("GREENFAB_DATABASE_URL"),
                   help="PostgreSQL URL (postgresql+asyncpg://…) for every service, each in its own schema; "
                        "SQLite files in the data folder when unset")  # fmt: skip
    p.add_argument("--nats-cluster", type=int, choices=[1, 3, 5], default=1,
                   help="NATS nodes: 3 runs a cluster (routes on --nats-cluster-port, 3 replicas)")  # fmt: skip
    p.add_argument("--sync-every-write", action="store_true",
                   help="NATS and the Temporal dev server flush every write to disk before acknowledging it: "
                        "nothing acknowledged is lost in a power cut either, at a cost in speed "
                        "(without it, nothing is lost when any process is killed)")  # fmt: skip
    p.add_argument("--no-migrate", dest="migrate", action="store_false",
                   help="do not upgrade databases at start-up: a service whose database is behind refuses to start "
                        "(then run `greenfab db upgrade`)")  # fmt: skip


def cmd_up(args: argparse.Namespace) -> int:
    values = {f.name: getattr(args, f.name) for f in fields(StackConfig) if hasattr(args, f.name)}
    config = StackConfig(**values)
    try:
        return asyncio.run(run_stack(config))
    except StackError as exc:
        print(f"greenfab up: {exc}", file=sys.stderr)
        return 2


def cmd_status(args: argparse.Namespace) -> int:
    try:
        config = load_state(stack_registry.data_dir(args.data_dir))
    except (StackError, stack_registry.AmbiguousStack) as exc:
        print(f"greenfab status: {exc}", file=sys.stderr)
        return 2
    health = asyncio.run(health_of(config))
    for name, ok in health.items():
        print(f"{name:<9} {'healthy' if ok else 'DOWN'}")
    return 0 if all(health.values()) else 1


def cmd_token(args: argparse.Namespace) -> int:
    from greenfab.auth import Principal, issue_token, scope_problem

    problem = scope_problem(args.role, args.scope)
    if problem:
        print(f"greenfab token: --scope {args.scope or '(none)'} does not fit --role {args.role}: {problem}",
              file=sys.stderr)  # fmt: skip
        return 2
    principal = Principal(role=args.role, subject=args.subject or args.scope or args.role, scope=args.scope)
    try:
        secret = stack_secret(stack_registry.data_dir(args.data_dir))
    except (StackError, stack_registry.AmbiguousStack) as exc:
        print(f"greenfab token: {exc}", file=sys.stderr)
        return 2
    print(issue_token(secret, principal, timedelta(days=args.days)))
    return 0


def cmd_template(args: argparse.Namespace) -> int:
    from contracts.schemes import Scheme
    from services.intake.forms import load_forms
    from services.intake.workbook import template

    try:
        scheme = Scheme(args.scheme)
    except ValueError:
        print(f"greenfab template: unknown scheme {args.scheme!r}; one of {[s.value for s in Scheme]}", file=sys.stderr)
        return 2
    content = template(load_forms()[scheme])
    if args.output:
        args.output.write_bytes(content)
    elif sys.stdout.isatty():
        print("greenfab template: redirect the workbook to a file, e.g. `greenfab template grading > form.xlsx`",
              file=sys.stderr)  # fmt: skip
        return 2
    else:
        sys.stdout.buffer.write(content)
    return 0


def cmd_specs(args: argparse.Namespace) -> int:
    from greenfab_cli.specs import main as specs_main

    return specs_main(check=args.check)


def _uscc(value: str) -> str:
    """An argument that must be a USCC: checked as every boundary checks one (GB 32100 check character)."""
    from contracts.identifiers import check_uscc

    code = check_uscc(value)
    if code is None:
        raise argparse.ArgumentTypeError(f"{value!r} is not a valid USCC (统一社会信用代码; GB 32100 check failed)")
    return code


def temporal_address(args: argparse.Namespace) -> str:
    """--temporal-address, else the Temporal of the stack on the data folder, else the default port."""
    if args.temporal_address:
        return str(args.temporal_address)
    data_dir = stack_registry.data_dir(args.data_dir)
    if (data_dir / "stack.json").exists():
        config = load_state(data_dir)
        return f"{config.host}:{config.temporal_port}"
    return "127.0.0.1:7233"


def _scoring() -> Any:
    # Imported on use: `greenfab up` should not load the rules engine.
    from services.scoring import cli

    return cli


def _calendar() -> Any:
    from services.workflow import calendar_cli

    return calendar_cli


def scoring_commands() -> Any:
    # Parsers only (argparse); each command imports its work when it runs.
    from services.scoring import commands

    return commands


def _audit() -> Any:
    from services.audit import cli

    return cli


def version_text() -> str:
    """`greenfab --version`: the installed distribution's version (its metadata) and where its rules are read."""
    from importlib.metadata import PackageNotFoundError, version

    from greenfab.paths import RULES

    try:
        installed = version("greenfab")
    except PackageNotFoundError:  # run from a checkout that was never installed
        installed = "unknown (not installed)"
    return f"greenfab {installed} (Python {sys.version.split()[0]}; rules: {RULES})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="greenfab",
        description="Beijing green manufacturing programme: local tools.",
        formatter_class=argparse.RawDescriptionHelpFormatter,  # --version's paths printed whole, not wrapped
    )
    parser.add_argument("--version", action="version", version=version_text())
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start NATS, Temporal, the services and the web console; Ctrl-C stops them")
    _add_stack_options(up)
    up.set_defaults(func=cmd_up)

    status = sub.add_parser("status", help="report each part's health")
    status.add_argument("--data-dir", type=Path, help=DATA_DIR_HELP)
    status.set_defaults(func=cmd_status)

    token = sub.add_parser("token", help="issue an access token signed with the stack's secret")
    token.add_argument(
        "--role", required=True, choices=["enterprise", "evaluator", "district", "bureau", "expert", "auditor"]
    )
    token.add_argument("--scope", help="enterprise: its USCC; district: one of the 16 (e.g. 海淀区); "
                       "evaluator: its USCC or none; bureau, expert, auditor: none")  # fmt: skip
    token.add_argument("--subject", help="who (defaults to the scope)")
    token.add_argument("--days", type=int, default=30, help="validity in days (default 30)")
    token.add_argument("--data-dir", type=Path, help=DATA_DIR_HELP)
    token.set_defaults(func=cmd_token)

    score = sub.add_parser("score", help="score a declaration file against the rulebooks")
    score.add_argument("--scheme", required=True, help="grading | green-factory | beautiful-factory")
    score.add_argument("--on", help="as-of date (YYYY-MM-DD); default: the file's declared_on, else today")
    score.add_argument("--format", choices=["json", "table"], default="json")
    score.add_argument("--engine", choices=["durable", "reference"], default="durable",
                       help="durable_rules (default) or the plain-Python reference interpreter")  # fmt: skip
    score.add_argument("--rules", type=Path, help="rules folder (default: the repository's rules/)")
    score.add_argument("file", type=Path)
    score.set_defaults(func=lambda a: _scoring().cmd_score(a.scheme, a.on, a.file, a.format, a.engine, a.rules))

    rules = sub.add_parser("rules", help="list, show and test the rulebooks")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    rules_list = rules_sub.add_parser("list", help="every scheme and edition with its version")
    rules_list.add_argument("--rules", type=Path)
    rules_list.set_defaults(func=lambda a: _scoring().cmd_rules_list(a.rules))
    rules_show = rules_sub.add_parser("show", help="one edition's items: SCHEME or SCHEME@EDITION")
    rules_show.add_argument("spec")
    rules_show.add_argument("--rules", type=Path)
    rules_show.set_defaults(func=lambda a: _scoring().cmd_rules_show(a.spec, a.rules))
    rules_test = rules_sub.add_parser("test", help="run the cases next to the rulebooks (engine and reference)")
    rules_test.add_argument("--rules", type=Path)
    rules_test.set_defaults(func=lambda a: _scoring().cmd_rules_test(a.rules))
    scoring_commands().add_rules_commands(rules_sub)  # check, diff, publish, replay
    scoring_commands().add_commands(sub)  # advise, whatif, registry

    cal = sub.add_parser("calendar", help="the holiday notices working days are counted by (D-CALENDAR)")
    cal_sub = cal.add_subparsers(dest="calendar_command", required=True)
    cal_add = cal_sub.add_parser("add-year", help="load a year's holiday notice from a YAML or JSON file")
    cal_add.add_argument("file", type=Path)
    cal_add.add_argument("--replace", action="store_true", help="load a year already loaded again")
    cal_add.add_argument("--rules", type=Path, help="rules folder (default: the repository's rules/)")
    cal_add.set_defaults(func=lambda a: _calendar().cmd_add_year(a.file, a.rules, a.replace))
    cal_show = cal_sub.add_parser("show", help="a year's days off and weekend days worked, and their source")
    cal_show.add_argument("year", type=int)
    cal_show.add_argument("--rules", type=Path)
    cal_show.set_defaults(func=lambda a: _calendar().cmd_show(a.year, a.rules))

    tmpl = sub.add_parser("template", help="write a fillable .xlsx workbook of a scheme's form")
    tmpl.add_argument("scheme", help="grading | green-factory | beautiful-factory")
    tmpl.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    tmpl.set_defaults(func=cmd_template)

    def audit_db(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data-dir", type=Path, help=DATA_DIR_HELP)
        p.add_argument("--database-url", default=os.environ.get("GREENFAB_AUDIT_DATABASE_URL"),
                       help="the audit store (default: audit.db in the data folder)")  # fmt: skip

    def url(a: argparse.Namespace) -> str:
        return str(_audit().database_url(stack_registry.data_dir(a.data_dir), a.database_url))

    history = sub.add_parser("history", help="a unit's whole audit timeline")
    history.add_argument("uscc", type=_uscc)
    history.add_argument("--format", choices=["table", "jsonl", "csv"], default="table")
    audit_db(history)
    history.set_defaults(func=lambda a: _audit().cmd_history(a.uscc, a.format, url(a)))

    audit = sub.add_parser("audit", help="verify, export and reconcile the audit store")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="check the hash chain; name each tampered record")
    audit_db(verify)
    verify.set_defaults(func=lambda a: _audit().cmd_verify(url(a)))
    exp = audit_sub.add_parser("export", help="the whole chain as JSON Lines or CSV")
    exp.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    audit_db(exp)
    exp.set_defaults(func=lambda a: _audit().cmd_export(a.format, url(a)))
    rec = audit_sub.add_parser("reconcile", help="compare a unit's audit timeline with its Temporal workflow history")
    rec.add_argument("uscc", type=_uscc)
    rec.add_argument("--temporal-address", default=os.environ.get("GREENFAB_TEMPORAL_ADDRESS"),
                     help="default: the running stack's Temporal, else 127.0.0.1:7233")  # fmt: skip
    rec.add_argument("--namespace", default="default")
    audit_db(rec)
    rec.set_defaults(func=lambda a: _audit().cmd_reconcile(a.uscc, url(a), temporal_address(a), a.namespace))

    db_cli.add_parser(sub)

    specs = sub.add_parser("specs", help="write the AsyncAPI and OpenAPI documents into contracts/")
    specs.add_argument("--check", action="store_true", help="fail if a checked-in document is out of date")
    specs.set_defaults(func=cmd_specs)

    args = parser.parse_args(argv)
    if hasattr(args, "token") and hasattr(args, "url"):
        args.stack_url, args.stack_token = _stack_url(args.data_dir), _stack_token(args.data_dir)
    sys.exit(args.func(args))


def _stack_url(data_dir: Path) -> Any:
    """The running stack's scoring API, found when a command needs it (the services' commands know no stack)."""

    def find() -> str:
        try:
            config = load_state(stack_registry.data_dir(data_dir))
        except (StackError, stack_registry.AmbiguousStack):
            return "http://127.0.0.1:8004"
        return f"http://{config.host}:{config.scoring_port}"

    return find


def _stack_token(data_dir: Path) -> Any:
    """A ten-minute bureau token signed with the running stack's secret (StackError, named, when there is none)."""

    def issue() -> str:
        from greenfab.auth import Principal, issue_token

        try:
            secret = stack_secret(stack_registry.data_dir(data_dir))
        except (StackError, stack_registry.AmbiguousStack) as exc:
            raise SystemExit(f"greenfab: {exc} (or pass --token)") from exc
        return issue_token(secret, Principal(role="bureau", subject="cli"), timedelta(minutes=10))

    return issue
