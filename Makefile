# dudao — the two commands of the README, and a few more.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test test-fast lint features bench clean lock

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/dudao demo --out out

test: $(STAMP)
	$(BIN)/python -m pytest -q

# The unit tests alone (no database, network or process), in seconds.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

lint: $(STAMP)
	$(BIN)/ruff check domain rules projections adapters tests bench
	$(BIN)/mypy

# Re-lock after changing dependencies in pyproject.toml (needs uv in the venv).
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements.lock

# Run every feature scenario and write the living documentation out/features.html
# (from pytest-bdd's Cucumber JSON); the page is written even when a scenario fails.
features: $(STAMP)
	@mkdir -p out
	@$(BIN)/python -m pytest -q tests/bdd/test_features.py --cucumberjson=out/features.json; \
	status=$$?; $(BIN)/python -m adapters.rendering.livedoc out/features.json out/features.html && exit $$status

bench: $(STAMP)
	$(BIN)/python bench/sweep.py
	$(BIN)/python bench/notices.py
	$(BIN)/python -m bench.cli

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
