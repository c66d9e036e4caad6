# The two commands of the README: `make lab` and `make test`.
# Both create .venv on first use and install cnnlab into it; later runs reuse it
# and reinstall only when pyproject.toml changed.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.cnnlab-installed
PYTEST_ARGS ?=
# `make test-fast`: unit tests only (no notebooks, nbgrader, browser, hub or kit; nothing marked slow)
FAST_MARKERS := not (slow or course or browser or hub or kit or notebook)
FAST_IGNORE  := --ignore=notebooks --ignore=tests/course --ignore=tests/browser --ignore=tests/hub
# extra options for `jupyter lab`, e.g. LAB_ARGS="--no-browser --port 8899"
LAB_ARGS ?=
# Torch's CPU threads spin-wait for one another at every operation when another process holds a
# core (measured on 2 cores: lecture 05b's feature-visualisation cell takes 2.4 s alone and 80 s
# beside one busy core; with one thread, 2.2 s either way). The course's networks are small, so
# Lab's kernels (as on the hub) and the two test workers get one thread each unless told otherwise
# (`OMP_NUM_THREADS=4 make lab`).
THREADS := OMP_NUM_THREADS=$(or $(OMP_NUM_THREADS),1)
# Jupyter refuses to run as root (containers, cloud VMs, CI images) unless told it may
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test test-fast bench figures clean-notebooks venv hub student-kit

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

# Lab serves the repository root (the lectures link their figures as ../img/...) and opens on notebooks/
lab: $(STAMP)
	$(THREADS) $(BIN)/jupyter lab $(ALLOW_ROOT) --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/notebooks $(LAB_ARGS)

test: $(STAMP)
	$(THREADS) $(BIN)/python -m pytest -n 2 --dist loadfile --durations=20 $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(THREADS) $(BIN)/python -m pytest -n 2 --dist loadfile -m "$(FAST_MARKERS)" $(FAST_IGNORE) $(PYTEST_ARGS) tests

hub: $(STAMP)
	bash deploy/hub.sh

bench: $(STAMP)
	@for b in benchmarks/*_bench.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

figures: $(STAMP)
	$(BIN)/python -m cnnlab.figures

# What students receive (wheel without cnnlab.course, student lectures, released assignments),
# checked to hold no answer: `make student-kit KIT=dist/student-kit`
KIT ?= dist/student-kit
student-kit: $(STAMP)
	$(BIN)/python -m cnnlab.course student-kit --out $(KIT)

clean-notebooks: $(STAMP)
	$(BIN)/jupyter nbconvert --clear-output --inplace notebooks/*.ipynb notebooks/assignments/*/*.ipynb
