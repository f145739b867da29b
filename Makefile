# Two commands do everything on a fresh machine with Python 3.11:
#   make run   installs and starts the whole system (greenfab up)
#   make test  installs and runs every check (lint, types, contracts, tests)
SHELL := /bin/bash
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)

.PHONY: install run test specs

$(CURDIR)/.tools/bin/uv:
	python3 -m venv .tools && .tools/bin/pip install --quiet uv==$(UV_VERSION)

install: $(UV)
	scripts/ensure-compiler "$$($(UV) python find 3.11 2>/dev/null || command -v python3)"
	$(UV) sync --frozen

run: install
	$(UV) run greenfab up

test: install
	scripts/ensure-postgres
	scripts/ensure-chromium
	scripts/ensure-contract-tools
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy
	$(UV) run greenfab specs --check
	$(UV) run pytest

specs: install
	$(UV) run greenfab specs
