"""Which local stacks are running, so that `greenfab token`, `status`, `history` and `db` find their data folder.

`greenfab up` records itself (its pid, the pid's start time and its data folder) in the user's
state folder (``$XDG_STATE_HOME/greenfab/stacks``, default ``~/.local/state``) and removes the
record when it stops; a record whose process is gone is ignored and removed. A command given no
``--data-dir`` (nor ``GREENFAB_DATA_DIR``) uses the one running stack's folder, else ``.data``.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import psutil

DEFAULT_DATA_DIR = Path(".data")


class AmbiguousStack(RuntimeError):
    """More than one stack runs: the caller must say which (``--data-dir``)."""


def registry() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "greenfab" / "stacks"


def _started(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def register(data_dir: Path) -> Path:
    """Record this process as the stack running on ``data_dir``; the record's path."""
    folder = registry()
    folder.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    record = folder / f"{pid}.json"
    record.write_text(json.dumps({"pid": pid, "started": _started(pid), "data_dir": str(data_dir.resolve())}))
    return record


def unregister(record: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        record.unlink()


def running() -> list[Path]:
    """The data folders of the stacks running now."""
    found = []
    for record in sorted(registry().glob("*.json")):
        try:
            entry = json.loads(record.read_text())
            alive = _started(int(entry["pid"])) == entry["started"]
        except (OSError, ValueError, KeyError, TypeError):
            alive = False
        if alive:
            found.append(Path(entry["data_dir"]))
        else:
            unregister(record)
    return found


def data_dir(explicit: Path | None) -> Path:
    """``explicit`` (or ``$GREENFAB_DATA_DIR``), else the running stack's folder, else ``.data``."""
    if explicit is not None:
        return explicit
    if os.environ.get("GREENFAB_DATA_DIR"):
        return Path(os.environ["GREENFAB_DATA_DIR"])
    stacks = list(dict.fromkeys(running()))
    if len(stacks) == 1:
        return stacks[0]
    if len(stacks) > 1:
        if DEFAULT_DATA_DIR.resolve() in stacks:
            return DEFAULT_DATA_DIR
        raise AmbiguousStack(
            f"{len(stacks)} stacks are running ({', '.join(map(str, stacks))}): say which with --data-dir"
        )
    return DEFAULT_DATA_DIR
