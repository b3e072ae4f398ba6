# Two commands on a fresh machine: `make demo` and `make test`. Both install what they need.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev,torch,ray]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash examples/fraud/demo.sh

test: $(STAMP)
	bash .ci/system-packages
	$(BIN)/ruff check src tests benchmarks examples scripts
	$(BIN)/ruff format --check -q src tests benchmarks examples scripts
	$(BIN)/mypy
	# tests marked `services` start PostgreSQL, an S3 emulator and an MLflow server from scripts/services
	# two xdist workers on two cores: one OpenMP thread each, or tree models oversubscribe (5x slower)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples scripts

bench: $(STAMP)
	$(BIN)/python benchmarks/cli_startup.py --quick
	$(BIN)/python benchmarks/smoke.py --quick
	$(BIN)/python benchmarks/cache.py --quick
	$(BIN)/python benchmarks/serve.py --quick
	$(BIN)/python benchmarks/drift.py --quick
	$(BIN)/python benchmarks/gates.py --quick
	$(BIN)/python benchmarks/cost_ratio.py --quick
	$(BIN)/python benchmarks/canary.py --quick
	$(BIN)/python benchmarks/drift_calibration.py --quick
	$(BIN)/python benchmarks/drift_concept.py --quick
	$(BIN)/python benchmarks/init_policy.py --quick
	$(BIN)/python benchmarks/team.py --quick
	$(BIN)/python benchmarks/batch_validation.py --quick
	$(BIN)/python benchmarks/scale.py --quick

clean:
	rm -rf $(VENV) .pytest_cache examples/fraud/.shipyard
