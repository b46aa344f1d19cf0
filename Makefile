# The two commands of the README: `make demo` (a real local run) and `make test` (CI's command).
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/.tools/bin:$(PATH)

.PHONY: demo run-s3gan test lint tools bench

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

# The README's pipeline run: S³GAN, 10% labels, on the first 1,500 training and 1,000 test images
# of Fashion-MNIST (IDX files cut with a rewritten header: magic, count, 28, 28), on a local Ray.
FASHION := /usr/share/datasets/fashion-mnist
SLICE := data/fashion-mnist-1500-idx
run-s3gan: $(VENV)/.installed
	bash scripts/system-deps.sh data
	mkdir -p $(SLICE)
	{ printf '\0\0\10\3\0\0\5\334\0\0\0\34\0\0\0\34'; zcat $(FASHION)/train-images-idx3-ubyte.gz | tail -c +17 | head -c 1176000; } | gzip > $(SLICE)/train-images-idx3-ubyte.gz
	{ printf '\0\0\10\1\0\0\5\334'; zcat $(FASHION)/train-labels-idx1-ubyte.gz | tail -c +9 | head -c 1500; } | gzip > $(SLICE)/train-labels-idx1-ubyte.gz
	{ printf '\0\0\10\3\0\0\3\350\0\0\0\34\0\0\0\34'; zcat $(FASHION)/t10k-images-idx3-ubyte.gz | tail -c +17 | head -c 784000; } | gzip > $(SLICE)/t10k-images-idx3-ubyte.gz
	{ printf '\0\0\10\1\0\0\3\350'; zcat $(FASHION)/t10k-labels-idx1-ubyte.gz | tail -c +9 | head -c 1000; } | gzip > $(SLICE)/t10k-labels-idx1-ubyte.gz
	$(VENV)/bin/s3gan data convert $(SLICE) data/fashion-mnist-1500 --resolution 32 --channels 1
	$(VENV)/bin/s3gan data labels data/fashion-mnist-1500 --fraction 0.1
	$(VENV)/bin/s3gan run examples/fashion-mnist-s3gan.yaml

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

# pytest exits 5 when it collects no test; that is not a failure of the code under test.
test: $(VENV)/.installed tools lint
	$(PY) -m pytest -q $(PYTEST_ARGS); rc=$$?; [ $$rc -eq 5 ] && rc=0; exit $$rc
	if [ -x .venv-xla/bin/python ]; then .venv-xla/bin/python -m pytest -q tests/xla; fi

bench: $(VENV)/.installed
	$(PY) -m benchmarks
