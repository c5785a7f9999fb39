# Quick start: `make demo` and `make test` each set up the environment first
# (into the active virtualenv/conda env, else ./.venv) when needed.
SHELL := /bin/bash
ifneq ($(VIRTUAL_ENV),)
PYTHON := $(VIRTUAL_ENV)/bin/python
else ifneq ($(CONDA_PREFIX),)
PYTHON := $(CONDA_PREFIX)/bin/python
else
PYTHON := $(CURDIR)/.venv/bin/python
endif

.PHONY: setup demo test test-fast test-bench lint bench bench-real-hand check-env gpu-check

setup:
	bash tools/setup_env.sh

check-env:
	$(PYTHON) tools/check_env.py

demo: setup
	$(PYTHON) tools/demo.py

# Everything but the end-to-end runs of the benchmark scripts (make test-bench).
test: setup
	$(PYTHON) -m pytest tests -q -p no:cacheprovider -m "not benchmark"

# The benchmark scripts run end to end on their quick settings (~10 min here).
test-bench: setup
	$(PYTHON) -m pytest tests -q -p no:cacheprovider -m benchmark

# Everything but the tests marked slow (tool subprocesses, training runs).
test-fast: setup
	$(PYTHON) -m pytest tests -q -p no:cacheprovider -m "not slow and not benchmark"

# flake8 + isort with setup.cfg's settings (also a pre-commit hook and a test).
lint:
	$(PYTHON) -m flake8 mmpose_medsapiens configs tools tests setup.py
	$(PYTHON) -m isort --check-only --diff mmpose_medsapiens configs tools tests setup.py

bench: setup
	$(PYTHON) tools/benchmarks/run_all.py

# Real hand radiographs end to end (not part of `make bench`): DATA is a local copy of
# DonggeJia/SpatialConfiguration-Net's dataset/ plus Payer's setup/all.csv.
bench-real-hand: setup
	$(PYTHON) tools/benchmarks/real_hand.py $(DATA)

# GPU acceptance check (one CUDA GPU, no download, < 5 min): training in fp32/bf16/fp16,
# tools/test.py with uncertainty, ONNX parity, adapter-only checkpoint, 1-rank NCCL DDP.
gpu-check: setup
	$(PYTHON) tools/benchmarks/gpu_check.py
