"""The command-line parsers of `greenfab advise`, `whatif`, `registry` and `rules check|diff|publish|replay`.

Only argparse here: the work is imported when a command runs (services/scoring/tools_cli.py), so
`greenfab up` never loads the rules engine.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any


def _tools() -> Any:
    from services.scoring import tools_cli

    return tools_cli


def _stack_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--url",
        default=os.environ.get("GREENFAB_SCORING_URL"),
        help="the scoring API (default: from the running stack, else http://127.0.0.1:8004)",
    )
    p.add_argument(
        "--token",
        default=os.environ.get("GREENFAB_TOKEN"),
        help="a bearer token (default $GREENFAB_TOKEN, else a bureau token from the stack's secret)",
    )
    p.add_argument("--data-dir", type=Path, default=Path(os.environ.get("GREENFAB_DATA_DIR", ".data")))


def add_commands(sub: Any) -> None:
    advise = sub.add_parser(
        "advise", help="green diagnosis: points still available, the changes that earn them, a plan"
    )
    advise.add_argument("file", type=Path, nargs="?", help="a declaration file (as for `greenfab score`)")
    advise.add_argument("--unit", help="instead of a file: this unit's latest declaration, from the running stack")
    advise.add_argument("--scheme", help="grading | green-factory | beautiful-factory (default: the file's)")
    advise.add_argument("--on", help="as-of date (default: the file's declared_on)")
    advise.add_argument("--level", type=int, choices=[1, 2, 3, 4], help="grading: plan for this level (default next)")
    advise.add_argument("--target", help="plan for this total (the beautiful factory's target score)")
    advise.add_argument("--format", choices=["table", "json"], default="table")
    advise.add_argument("--rules", type=Path, help="rules folder (default: the repository's rules/)")
    _stack_options(advise)
    advise.set_defaults(func=lambda a: _tools().cmd_advise(a))

    w = sub.add_parser("whatif", help="rescore every unit's latest declaration under a draft edition (a report)")
    w.add_argument(
        "--rulebook",
        type=Path,
        action="append",
        required=True,
        help="a draft rulebook file (repeat for one per scheme); its latest edition is tried",
    )
    w.add_argument("--edition", help="the draft edition to try (default: the file's latest)")
    w.add_argument("--registry", type=Path, help="units as JSON lines (e.g. from `greenfab registry generate`)")
    w.add_argument(
        "--database-url",
        default=os.environ.get("GREENFAB_SCORING_DATABASE_URL"),
        help="the scoring store to read (default: scoring.db in the data folder)",
    )
    w.add_argument("--data-dir", type=Path, default=Path(os.environ.get("GREENFAB_DATA_DIR", ".data")))
    w.add_argument("--out", type=Path, default=Path("whatif-report"), help="folder for the report (HTML, CSV, SVG)")
    w.add_argument("--processes", type=int, default=os.cpu_count() or 1, help="worker processes (default: cores)")
    w.add_argument("--rules", type=Path, help="rules folder in force (default: the repository's rules/)")
    w.set_defaults(func=lambda a: _tools().cmd_whatif(a))

    reg = sub.add_parser("registry", help="a synthetic registry of units, for what-ifs and benchmarks")
    reg_sub = reg.add_subparsers(dest="registry_command", required=True)
    gen = reg_sub.add_parser("generate", help="write N synthetic units as JSON lines")
    gen.add_argument("--units", type=int, default=10_000)
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("-o", "--output", type=Path, required=True)
    gen.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    gen.add_argument("--rules", type=Path)
    gen.set_defaults(func=lambda a: _tools().cmd_registry_generate(a))


def add_rules_commands(rules_sub: Any) -> None:
    check = rules_sub.add_parser(
        "check", help="check draft rulebooks (or every rulebook): refused naming item and field"
    )
    check.add_argument("files", type=Path, nargs="*", help="draft rulebook files (default: the rules folder's own)")
    check.add_argument("--rules", type=Path)
    check.set_defaults(func=lambda a: _tools().cmd_rules_check(a))

    diff = rules_sub.add_parser("diff", help="what changed between two editions: SCHEME@EDITION or FILE[@EDITION]")
    diff.add_argument("before")
    diff.add_argument("after")
    diff.add_argument("--format", choices=["table", "json"], default="table")
    diff.add_argument("--rules", type=Path)
    diff.set_defaults(func=lambda a: _tools().cmd_rules_diff(a))

    pub = rules_sub.add_parser("publish", help="publish a draft edition through the running scoring service (bureau)")
    pub.add_argument("file", type=Path)
    pub.add_argument("--edition", help="the edition to publish (default: the file's latest)")
    pub.add_argument("--effective-from", required=True, help="YYYY-MM-DD, today or later")
    pub.add_argument("--reason", required=True, help="why (kept on the audit record)")
    _stack_options(pub)
    pub.set_defaults(func=lambda a: _tools().cmd_rules_publish(a))

    rep = rules_sub.add_parser("replay", help="score a stored evaluation again under the version that scored it")
    rep.add_argument("submission_id")
    rep.add_argument("--database-url", default=os.environ.get("GREENFAB_SCORING_DATABASE_URL"))
    rep.add_argument("--data-dir", type=Path, default=Path(os.environ.get("GREENFAB_DATA_DIR", ".data")))
    rep.set_defaults(func=lambda a: _tools().cmd_rules_replay(a))
