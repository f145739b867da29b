"""Where greenfab's rule data is: the repository's `rules/` in a checkout, the wheel's copy once installed.

The wheel carries `rules/` as `greenfab/rules` (pyproject.toml: force-include), so an installed
`greenfab rules list` or `greenfab score` finds its rulebooks; a checkout (and uv's editable install of it)
has no such folder and reads the repository's `rules/`, where they are edited. `GREENFAB_RULES_DIR` and
the commands' `--rules` choose another folder.
"""

from __future__ import annotations

from pathlib import Path

PACKAGED_RULES = Path(__file__).resolve().parent / "rules"
CHECKOUT_RULES = Path(__file__).resolve().parents[1] / "rules"
RULES = PACKAGED_RULES if PACKAGED_RULES.is_dir() else CHECKOUT_RULES
