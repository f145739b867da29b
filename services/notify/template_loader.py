"""Reading notify's templates (services/notify/templates.yaml, or a file named in the settings)."""

from __future__ import annotations

from pathlib import Path

import yaml

from services.notify.domain import Template

DEFAULT = Path(__file__).with_name("templates.yaml")


def load_templates(path: Path | None = None) -> dict[str, Template]:
    source = path or DEFAULT
    data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    try:
        return {name: Template(title=str(t["title"]), body=str(t["body"])) for name, t in data.items()}
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{source}: every template needs a title and a body ({exc})") from exc
