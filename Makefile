# Every target sets itself up on a fresh machine: a .venv with the project
# (editable) and its test extras. The test suite also runs on every Python of
# PYTHONS, each in its own .venv-X.Y.
PYTHON ?= python3
PYTHONS ?= 3.11 3.12 3.13
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit docs bench soak fuzz stubs dist clean FORCE

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# One venv per Python of PYTHONS; a missing interpreter fails with its name.
.PRECIOUS: .venv-%/.installed
.venv-%/.installed: pyproject.toml
	py=$$(.ci/find-python $*) && $$py -m venv .venv-$*
	.venv-$*/bin/python -m pip install -q --upgrade pip
	.venv-$*/bin/python -m pip install -q -e '.[test]'
	touch $@

demo: $(STAMP)
	$(VENV)/bin/qobjects demo

lint: $(STAMP)
	$(PY) -m ruff check qobjects tests bench

# Two runs. The package from its source; then the tests and benchmarks
# against the shipped stubs. mypy_path knows no `-stubs` packages and the
# checkout's own `qobjects/` would win over an installed one, so the stub
# package is mapped under the name `qobjects` for that run.
typecheck: $(STAMP)
	$(PY) -m mypy qobjects
	rm -rf build/typecheck && mkdir -p build/typecheck && cp -r stubs/qobjects-stubs build/typecheck/qobjects
	MYPYPATH=build/typecheck $(PY) -m mypy --cache-dir .mypy_cache/tests tests bench

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict -q -d build/site

stubs: $(STAMP)
	$(VENV)/bin/qobjects stubgen -o stubs

# unit-X.Y is not .PHONY: make skips pattern rules for phony targets; FORCE reruns it.
unit-%: .venv-%/.installed FORCE
	@echo "== tests on Python $*"
	.venv-$*/bin/python -m pytest -p no:cacheprovider

# The suite again with the generated functions as plain closures (qobjects/codegen.py).
unit-nocompile: .venv-$(lastword $(PYTHONS))/.installed FORCE
	@echo "== tests on Python $(lastword $(PYTHONS)), QOBJECTS_NO_COMPILE=1"
	QOBJECTS_NO_COMPILE=1 .venv-$(lastword $(PYTHONS))/bin/python -m pytest -p no:cacheprovider

unit: $(addprefix unit-,$(PYTHONS)) unit-nocompile

test: lint typecheck docs unit

dist: $(STAMP)
	rm -rf dist && $(PY) -m build -o dist

bench: $(STAMP)
	$(PY) -m pip install -q -e '.[test,bench]'
	$(PY) -m bench

# The property tests with new random examples, many more of them.
fuzz: $(STAMP)
	QOBJECTS_HYPOTHESIS=fuzz $(PY) -m pytest -p no:cacheprovider -q $$(grep -rl '@given' tests)

soak: $(STAMP)
	QOBJECTS_SCALE=full $(PY) -m bench.soak

clean:
	rm -rf $(VENV) .venv-* build dist .mypy_cache .pytest_cache .ruff_cache
FORCE:
