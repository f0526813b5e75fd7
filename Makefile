# Two entry points for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The core installs without PyTorch: enough for the zoo and `make run`.
$(VENV)/.core: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test: $(VENV)/.core requirements-test.txt
	$(BIN)/pip install -q -r requirements-test.txt -e '.[all]'
	touch $@

run: $(VENV)/.core
	$(BIN)/netcost report resnet50

test: $(VENV)/.test
	$(BIN)/python -m pytest -q -n 2

lint: $(VENV)/.test
	$(BIN)/ruff check src tests benchmarks

bench: $(VENV)/.test
	$(BIN)/python benchmarks/zoo_speed.py

clean:
	rm -rf $(VENV) build *.egg-info
