# The two commands of the README: `make demo` (a real local run) and `make test` (CI's command).
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/.tools/bin:$(PATH)

.PHONY: demo train-biggan test lint tools bench

$(VENV)/.installed: pyproject.toml constraints/cpu.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints/cpu.txt -e '.[train,operator,dev]'
	touch $@

tools:
	bash scripts/system-deps.sh all

# The README's main job: S³GAN with 10% labels through the whole pipeline (pretrain F, Ray Data
# labels, Ray Train GAN, FID and CAS) on a local Ray, on a fixed random 6,000 images of each
# Fashion-MNIST split (sized for 2 cores: examples/fashion-mnist-s3gan.yaml says why).
DEMO_DATA := data/fashion-mnist-6000
demo: $(VENV)/.installed
	bash scripts/system-deps.sh data
	test -f $(DEMO_DATA)/manifest.json || $(VENV)/bin/s3gan data convert \
		/usr/share/datasets/fashion-mnist $(DEMO_DATA) --resolution 32 --channels 1 --limit 6000
	$(VENV)/bin/s3gan data labels $(DEMO_DATA) --fraction 0.1
	$(VENV)/bin/s3gan run examples/fashion-mnist-s3gan.yaml

# Fully supervised BigGAN with the single-process trainer on all of Fashion-MNIST.
train-biggan: $(VENV)/.installed
	bash scripts/system-deps.sh data
	$(VENV)/bin/s3gan data convert /usr/share/datasets/fashion-mnist data/fashion-mnist --resolution 32
	$(VENV)/bin/s3gan train examples/fashion-mnist-biggan.yaml --run-dir runs/demo

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

# pytest exits 5 when it collects no test; that is not a failure of the code under test.
test: $(VENV)/.installed tools lint
	$(PY) -m pytest -q $(PYTEST_ARGS); rc=$$?; [ $$rc -eq 5 ] && rc=0; exit $$rc
	if [ -x .venv-xla/bin/python ]; then .venv-xla/bin/python -m pytest -q tests/xla; \
		rc=$$?; [ $$rc -eq 5 ] && rc=0; exit $$rc; fi

bench: $(VENV)/.installed
	$(PY) -m benchmarks
