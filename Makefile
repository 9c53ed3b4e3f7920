# The two commands: `make run` starts the whole product, `make test` runs the whole suite.
# Both work on a fresh machine with only Python 3.11: they create .venv and start embedded
# PostgreSQL and Redis (unless DATABASE_URL / REDIS_URL point at real servers).

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EMBEDDED := $(PY) platform/embedded.py

.PHONY: run test bench install lint format services-start services-stop clean-data system-run system-test messages

run: $(STAMP) system-run messages
	@$(EMBEDDED) exec -- $(PY) platform/run.py

# The lint first (CI runs `make test`). Cache keys of this run only (CACHE_KEY_PREFIX): a `make run`
# or another run on the same Redis does not share rate-limit counters or the routing token with it.
# The suite runs in two processes (pytest-xdist, one per core), each with its own test database,
# cache keys and media folders (tests/conftest.py); each module in one of them, so a module's own
# servers (test_health's PostgreSQL, test_clone_run's clone) are made once. On a fresh clone of
# this 2-core machine: 438 s, against 862 s in one process. `make test PYTEST_ARGS=` runs it in one.
PYTEST_ARGS ?= -n 2 --dist loadfile
test: $(STAMP) lint system-test messages
	@CACHE_KEY_PREFIX=$${CACHE_KEY_PREFIX:-loyalty-test-$$$$} $(EMBEDDED) exec -- $(PY) -m pytest $(PYTEST_ARGS)

# The translations: each .po compiled to the .mo next to it when the .po is newer, in Python
# (platform/messages.py: Babel), so no GNU gettext is needed. New strings are gathered into the
# .po files by the developer command of README.md (Languages), which needs xgettext.
LOCALE ?= locale
MO_FILES := $(patsubst %.po,%.mo,$(wildcard $(LOCALE)/*/LC_MESSAGES/*.po))

messages: $(MO_FILES)

%.mo: %.po | $(STAMP)
	@$(PY) platform/messages.py $<

# Debian's packages once if missing (platform/system.py): Pango for WeasyPrint's letters; for the
# tests also Chromium (Playwright drives it), poppler-utils (PDFs read back) and axe-core.
system-run:
	@$(PY) platform/system.py run

system-test:
	@$(PY) platform/system.py test

bench: $(STAMP)
	@$(EMBEDDED) exec -- $(PY) bench/run_all.py

install: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)


# mypy checks the files of pyproject.toml's [tool.mypy] (core/, every services and selectors module).
lint: $(STAMP)
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy

format: $(STAMP)
	@$(VENV)/bin/ruff format .
	@$(VENV)/bin/ruff check --fix .

services-start: $(STAMP)
	@$(EMBEDDED) start

services-stop: $(STAMP)
	@$(EMBEDDED) stop

# Also the folder of its own that PostgreSQL keeps its data in under root (platform/embedded.py).
clean-data: $(STAMP)
	@$(EMBEDDED) clean
	rm -rf var
