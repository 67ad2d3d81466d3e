# Every target sets itself up on a fresh machine: a .venv with the project
# and its test extras.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit docs bench soak stubs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/qobjects demo

lint: $(STAMP)
	$(PY) -m ruff check qobjects tests bench

# Two runs: the package from its source, then the tests against the
# generated stubs in stubs/ (mypy resolves `qobjects` differently in each).
typecheck: $(STAMP)
	$(PY) -m mypy qobjects
	$(PY) -m mypy --cache-dir .mypy_cache/tests tests bench

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict -q -d build/site

stubs: $(STAMP)
	$(VENV)/bin/qobjects stubgen -o stubs

unit: $(STAMP)
	$(PY) -m pytest

test: lint typecheck docs unit

bench: $(STAMP)
	$(PY) -m pip install -q -e '.[test,bench]'
	$(PY) -m bench

soak: $(STAMP)
	QOBJECTS_SCALE=full $(PY) -m bench.soak

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache .ruff_cache
