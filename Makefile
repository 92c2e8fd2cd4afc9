# sarhad: developer and CI entry points. `make` (or `make help`) lists the targets.
#
# Variables you may set:  PYTHON=python3.12   DATA_DIR=var/node   PARTY=PK  NAME=Pakistan
#                         PYTEST_ARGS="-k exchange -x"   SARHAD_SKIP_SYSTEM_DEPS=1 (no apt check)
#                         EXAMPLES=50 SEED=  (make schemathesis: cases per operation; empty seed: a random one)
#                         FUZZ_EXAMPLES=20000 (inputs per property for `make fuzz`)
#                         SOAK_SECONDS=600 (how long `make soak` runs; BENCH_ARGS=... passes more options)
#                         SARHAD_TEST_POSTGRES_URL=... (use that server instead of starting a throw-away one)

.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.sarhad-installed
ASSETS := src/sarhad/web/static/vendor/.fetched
BASEMAP := src/sarhad/border/basemap/region.json
DATA_DIR ?= var/node
PARTY ?= PK
NAME ?= Pakistan
PYTEST_ARGS ?=
BENCH_ARGS ?=
EXAMPLES ?= 50
SEED ?=
SCHEMATHESIS_PHASES := examples,coverage,fuzzing,stateful
FUZZ_EXAMPLES ?= 5000
SOAK_SECONDS ?= 600

export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PIP_NO_INPUT := 1

# Run a command with SARHAD_TEST_POSTGRES_URL set: a given URL is used as is; otherwise a throw-away server
# is started for the duration of the command and stopped afterwards, also when the command fails.
define with_postgres
if [[ -n "$${SARHAD_TEST_POSTGRES_URL:-}" ]]; then $(1); else scripts/test-postgres.sh run $(1); fi
endef

.PHONY: help
help: ## show this list of targets
	@echo "sarhad make targets:"
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) \
		| awk 'BEGIN {FS = ":.*## "}; {printf "  %-18s %s\n", $$1, $$2}'

# ---------------------------------------------------------------------------------------------------------
# environment

.PHONY: venv install
venv: $(STAMP) $(ASSETS) $(BASEMAP) ## create .venv, install sarhad with its test tools and fetch its front-end assets (only what changed)
install: $(STAMP) $(ASSETS) $(BASEMAP) ## same as venv

$(STAMP): pyproject.toml
	@if ! [[ -x $(BIN)/python ]] || ! $(BIN)/python -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then \
		$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "sarhad needs Python >= 3.11; set PYTHON=")' ; \
		echo "creating $(VENV) with $$(command -v $(PYTHON)) ($$($(PYTHON) --version))"; \
		rm -rf $(VENV); \
		$(PYTHON) -m venv $(VENV); \
	fi
	$(BIN)/python -m pip install --quiet --no-input -e '.[test]'
	@touch $@

# Front-end assets from the npm registry (vendor/assets.txt), checked against their recorded integrity.
$(ASSETS): vendor/assets.txt scripts/vendor-assets.py
	$(BIN)/python scripts/vendor-assets.py
	@touch $@

# The offline basemap: public datasets from the npm registry (vendor/basemap.txt, integrity-checked), derived
# into the region's layers (countries, boundaries, towns) that the node serves (docs/border.md, "Basemap").
$(BASEMAP): vendor/basemap.txt scripts/build-basemap.py src/sarhad/border/basemap.py | $(STAMP)
	$(BIN)/python scripts/build-basemap.py

.PHONY: system-deps
system-deps: ## install missing Debian packages (postgresql, chromium, fonts); no-op when all are present
	@scripts/install-system-deps.sh

# ---------------------------------------------------------------------------------------------------------
# checks

.PHONY: test
test: system-deps install ## what CI runs: ruff, mypy and all of pytest against SQLite and a throw-away PostgreSQL
	@started=$$(date +%s); failed=(); \
	echo "== ruff check"; $(BIN)/ruff check . || failed+=(ruff); \
	echo "== mypy"; $(BIN)/mypy || failed+=(mypy); \
	echo "== pytest"; $(call with_postgres,$(BIN)/python -m pytest $(PYTEST_ARGS)) || failed+=(pytest); \
	echo "== make test took $$(( $$(date +%s) - started )) s"; \
	if (( $${#failed[@]} )); then echo "== FAILED: $${failed[*]}" >&2; exit 1; fi; \
	echo "== all checks passed"

.PHONY: lint
lint: install ## ruff check (style, imports, bugbear, bandit rules)
	$(BIN)/ruff check .

.PHONY: typecheck
typecheck: install ## mypy --strict on src/sarhad
	$(BIN)/mypy

.PHONY: test-unit
test-unit: install ## fast tests without servers or browsers (tests/unit)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

.PHONY: test-integration
test-integration: install ## integration tests on SQLite and a throw-away PostgreSQL (tests/integration)
	@$(call with_postgres,$(BIN)/python -m pytest tests/integration $(PYTEST_ARGS))

.PHONY: test-e2e
test-e2e: system-deps install ## browser tests with headless Chromium (tests/e2e)
	@$(call with_postgres,$(BIN)/python -m pytest tests/e2e $(PYTEST_ARGS))

.PHONY: schemathesis
schemathesis: system-deps install ## the long schemathesis run: the whole API against its OpenAPI document, both databases (EXAMPLES=50)
	@$(call with_postgres,env SARHAD_SCHEMATHESIS_EXAMPLES="$(EXAMPLES)" SARHAD_SCHEMATHESIS_SEED="$(SEED)" \
		SARHAD_SCHEMATHESIS_PHASES=$(SCHEMATHESIS_PHASES) \
		$(BIN)/python -m pytest tests/integration/test_openapi_conformance.py -p no:cacheprovider -o timeout=3600 $(PYTEST_ARGS))
.PHONY: fuzz
fuzz: install ## fuzz the exchange's push, pull and receipt endpoints and the ledger verifier at length (FUZZ_EXAMPLES=5000)
	@$(call with_postgres,env FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/fuzz $(PYTEST_ARGS))

.PHONY: bench
bench: system-deps install ## run the benchmarks in bench/ on SQLite and a throw-away PostgreSQL, the soak only with BENCH=soak (BENCH=name BENCH_ARGS=...)
	@$(call with_postgres,env BENCH="$(BENCH)" scripts/run-benchmarks.sh $(BENCH_ARGS))

# ---------------------------------------------------------------------------------------------------------
# running

.PHONY: demo
demo: install ## run the two-node PK-IR demo on 127.0.0.1:8701 and :8702
	$(BIN)/sarhad demo

.PHONY: cluster
cluster: system-deps install ## one node (PK) as two processes on a throw-away PostgreSQL behind HAProxy, and IR (docs/operations.md)
	$(BIN)/python scripts/cluster.py

.PHONY: soak
soak: system-deps install ## the soak: PK as two processes on PostgreSQL, kill -9s, an IR outage; lost/duplicated/missed (SOAK_SECONDS=600)
	@$(call with_postgres,$(BIN)/python -m bench.soak --seconds $(SOAK_SECONDS) $(BENCH_ARGS))

.PHONY: init
init: install ## create a demo node in DATA_DIR (default var/node) for `make serve`
	$(BIN)/sarhad init --party $(PARTY) --name '$(NAME)' --data-dir $(DATA_DIR) --demo

.PHONY: serve
serve: install ## run the node in DATA_DIR (default var/node; create it with `make init`)
	$(BIN)/sarhad serve --data-dir $(DATA_DIR)

.PHONY: migrate
migrate: install ## upgrade the database of the node in DATA_DIR to the newest schema
	$(BIN)/sarhad migrate --data-dir $(DATA_DIR)

.PHONY: screenshot
screenshot: system-deps install ## screenshots of the main pages (desktop and phone; en, fa, ur) into docs/images, from the demo's two nodes (started if not running)
	$(BIN)/python scripts/screenshot.py

.PHONY: i18n
i18n: install ## extract translatable text and merge it into the Urdu and Persian catalogues
	$(BIN)/python scripts/i18n.py update

.PHONY: clean
clean: ## remove caches, build output and leftover test servers (keeps .venv and node data in var/)
	@for dir in var/test-pg/run.*; do [[ -d "$$dir" ]] && scripts/test-postgres.sh stop "$$dir" || true; done
	rm -rf var/test-pg .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist src/*.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

.PHONY: distclean
distclean: clean ## clean, and remove .venv too
	rm -rf $(VENV)
