# zhizhi — two commands: `make run` and `make test`. Needs only Python ≥ 3.11 and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test test-sqlite test-postgres lint bench clean

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "zhizhi needs Python >= 3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@rm -f $(VENV)/.installed-*; touch $(STAMP)

## make run: create the environment, migrate the embedded SQLite database, load Yongchuan, replay the
## real citizen messages (first run only), then serve web + API at http://127.0.0.1:8000
run: $(STAMP)
	$(BIN)/zhizhi setup
	$(BIN)/zhizhi serve --host $(HOST) --port $(PORT)

## make test: the suite on SQLite, then again on PostgreSQL (skipped, and said so, when unreachable)
test: $(STAMP)
	@$(MAKE) --no-print-directory test-sqlite
	@$(MAKE) --no-print-directory test-postgres

test-sqlite: $(STAMP)
	@echo "== checks: ruff, import contracts =="
	$(BIN)/ruff check -q src tests
	@$(BIN)/lint-imports --no-cache > .venv/lint-imports.log || (cat .venv/lint-imports.log; exit 1)
	@echo "== tests on SQLite =="
	ZHIZHI_DATABASE_URL= $(BIN)/python -m pytest

test-postgres: $(STAMP)
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('postgresql://postgres@127.0.0.1:5432/test', connect_timeout=3).close()" 2>/dev/null; then \
		echo "== tests on PostgreSQL ($(PG_URL)) =="; \
		ZHIZHI_TEST_DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest; \
	else \
		echo "== PostgreSQL not reachable at 127.0.0.1:5432: SKIPPED the PostgreSQL run (SQLite run above passed) =="; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

bench: $(STAMP)
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/kpis.py
	$(BIN)/python bench/api.py

clean:
	rm -rf $(VENV) var .pytest_cache
