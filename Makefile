# The two commands: `make demo` (the bot's engine against the local stand-ins) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install test lint demo soak bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Four workers even on two cores: the tests mostly wait on sockets and timers.
test: lint
	$(BIN)/pytest -q -n 4

soak: install
	$(BIN)/pytest -q -m soak -s --timeout 900

bench: install
	$(BIN)/python benchmarks/run.py $(if $(ONLY),--only $(ONLY))

demo: install
	$(BIN)/pikabot demo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
