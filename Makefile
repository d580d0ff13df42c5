# Two commands on a fresh machine with only python3:
#   make demo   - create .venv, install snnemu, run the demo model (layered vs async on loihi)
#   make test   - create .venv, install CPU torch, then snnemu with its test, datasets, interop, train and
#                 fast, distributed and peer (SANA-FE) extras (and Norse, without its dependencies), and run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench lint model study paper clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet torch==2.13.0  # the CPU build, on local disk: before anything needs torch
	$(BIN)/python -m pip install --quiet -e ".[test,datasets,interop,train,fast,distributed,peer]"
	$(BIN)/python -m pip install --quiet --no-deps norse==1.1.0  # its torchvision requirement would replace CPU torch
	touch $(VENV)/.installed $(VENV)/.installed-train $@

demo: $(VENV)/.installed
	$(BIN)/snnemu demo --out demo_out

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-test
	$(BIN)/ruff check emulator hw_models traces scripts tests

bench: $(VENV)/.installed
	$(BIN)/python scripts/bench.py

$(VENV)/.installed-train: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet torch==2.13.0  # the CPU build, on local disk
	$(BIN)/python -m pip install --quiet -e ".[train]"
	touch $(VENV)/.installed $@

# The bundled demo models, trained on digits (train split) with snnemu train: layer-synchronized (BPTT), and
# unlayered (the scheduler in the training graph, random, F = 16). Checkpoints and curves stay in build/model.
TRAIN_DEMO := $(BIN)/snnemu train --data digits --arch 64-64-10 --epochs 60 --seed 0
model: $(VENV)/.installed-train
	$(TRAIN_DEMO) --mode layered --out build/model/demo_digits.nir
	$(TRAIN_DEMO) --mode async --out build/model/demo_digits_unlayered.nir
	cp build/model/demo_digits.nir build/model/demo_digits_unlayered.nir emulator/data/

study: $(VENV)/.installed
	$(BIN)/python scripts/mismatch_study.py

# The study of docs/study.md: trains its models and runs every condition (build/study), then writes the document.
paper: $(VENV)/.installed-train
	$(BIN)/python scripts/paper_study.py

clean:
	rm -rf $(VENV) demo_out bench_out build .pytest_cache
