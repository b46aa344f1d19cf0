# The two commands of the README: `make demo` (a real local run) and `make test` (CI's command).
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/.tools/bin:$(PATH)

.PHONY: demo paper-table train-biggan test lint tools bench

$(VENV)/.installed: pyproject.toml constraints/cpu.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints/cpu.txt -e '.[train,operator,dev]'
	touch $@

tools:
	bash scripts/system-deps.sh all

# The README's main job: S³GAN with 10% labels through the whole pipeline (pretrain F, Ray Data
# labels, Ray Train GAN, FID and CAS) on a local Ray, on all of Fashion-MNIST (sized for 20
# minutes on 2 cores: examples/fashion-mnist-s3gan.yaml says how).
DEMO_DATA := data/fashion-mnist
$(DEMO_DATA)/manifest.json:
	bash scripts/system-deps.sh data
	$(VENV)/bin/s3gan data convert /usr/share/datasets/fashion-mnist $(DEMO_DATA) \
		--resolution 32 --channels 1

demo: $(VENV)/.installed $(DEMO_DATA)/manifest.json
	$(VENV)/bin/s3gan data labels $(DEMO_DATA) --fraction 0.1
	$(VENV)/bin/s3gan run examples/fashion-mnist-s3gan.yaml

# The paper's Table 2 at laptop scale (docs/results.md): every method at 10% labels and S³GAN at
# 2.5, 5 and 20%, equal G steps, PAPER_SEEDS GAN seeds each, on the demo's data; then each
# sweep's report and the table beside the paper's numbers with the label-fraction curve. On 2
# idle cores the methods sweep took 91 minutes per seed, the fractions 2.5 and 5% 29 minutes
# (one F, its labels and one 9-minute trial each; 20% adds about 15). A failed trial is recorded and the rest go on.
PAPER_SEEDS ?= 1
PAPER_EXPERIMENT ?= examples/paper-table.yaml
PAPER_RUNS ?= runs/paper-table
PAPER_OUT ?= docs/results
METHODS := biggan,biggan-k,single-label,random-label,clustering,s2gan,s2gan-co,s3gan,s3gan-co
paper-table: $(VENV)/.installed $(DEMO_DATA)/manifest.json
	$(VENV)/bin/s3gan data labels $(DEMO_DATA) --fraction 0.025 0.05 0.1 0.2
	-$(VENV)/bin/s3gan sweep $(PAPER_EXPERIMENT) --run-dir $(PAPER_RUNS)-methods \
		--grid method=$(METHODS) --grid fraction=0.1 --seeds $(PAPER_SEEDS)
	-$(VENV)/bin/s3gan sweep $(PAPER_EXPERIMENT) --run-dir $(PAPER_RUNS)-fractions \
		--grid method=s3gan --grid fraction=0.025,0.05,0.2 --seeds $(PAPER_SEEDS)
	$(VENV)/bin/s3gan report $(PAPER_RUNS)-methods --out $(PAPER_OUT)/methods
	$(VENV)/bin/s3gan report $(PAPER_RUNS)-fractions --out $(PAPER_OUT)/fractions
	$(PY) -m s3gan.report.paper_table $(PAPER_OUT) $(PAPER_RUNS)-methods $(PAPER_RUNS)-fractions

# Fully supervised BigGAN with the single-process trainer on all of Fashion-MNIST.
train-biggan: $(VENV)/.installed $(DEMO_DATA)/manifest.json
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
