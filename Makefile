# Two commands do everything on a fresh machine with Python 3.11 and pip:
#   make reports   render the NENC report pack on the bundled sample data
#   make test      run every test (unit, bad-input corpus, engine parity, notebooks, renders)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
JOBS ?= 2

.PHONY: install reports test test-fast lint benchmark clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

reports: $(STAMP)
	$(BIN)/medlib report parameters/nenc.yaml

test: $(STAMP)
	$(BIN)/ruff check medlib tests benchmarks tools
	$(BIN)/lint-imports
	$(BIN)/pytest tests -n $(JOBS) --dist loadfile
	$(BIN)/pytest --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
		-n $(JOBS) --dist loadfile notebooks

test-fast: $(STAMP)
	$(BIN)/pytest tests -n $(JOBS) --dist loadfile -m "not spark and not browser and not notebook"

lint: $(STAMP)
	$(BIN)/ruff check medlib tests benchmarks tools
	$(BIN)/lint-imports
	$(BIN)/ruff format --check medlib tests benchmarks tools

benchmark: $(STAMP)
	$(BIN)/python benchmarks/read_usage.py
	$(BIN)/python benchmarks/explorer.py
	$(BIN)/python benchmarks/render.py --params nenc --serial-trusts 2 --naive-trusts 2
	$(BIN)/python benchmarks/national_spend.py --months 12

clean:
	rm -rf $(VENV) reports/*/ .pytest_cache
