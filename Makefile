# The two commands of the README: `make demo` (a real local run) and `make test` (CI's command).
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/.tools/bin:$(PATH)

.PHONY: demo test lint tools bench

$(VENV)/.installed: pyproject.toml constraints/cpu.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints/cpu.txt -e '.[train,operator,dev]'
	touch $@

tools:
	bash scripts/system-deps.sh all

demo: $(VENV)/.installed
	bash scripts/system-deps.sh data
	$(VENV)/bin/s3gan train examples/fashion-mnist-biggan.yaml --run-dir runs/demo

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

# pytest exits 5 when it collects no test; that is not a failure of the code under test.
test: $(VENV)/.installed tools lint
	$(PY) -m pytest -q $(PYTEST_ARGS); rc=$$?; [ $$rc -eq 5 ] && rc=0; exit $$rc

bench: $(VENV)/.installed
	$(PY) -m benchmarks
