# The two commands of the README: `make demo` and `make test`.
# Both create (or refresh) the virtual environment in .venv first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
# learn2learn 0.2.0 ships C files that do not compile on Python 3.11;
# this build option makes its setup.py regenerate them with Cython.
L2L    := learn2learn==0.2.0 --config-settings=--build-option=build_ext

.PHONY: venv demo demo-shortcut test test-fast clean

venv: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade "pip>=24" "setuptools<82" wheel
	$(PIP) install -q torch==2.14.1 torchvision==0.29.1
	$(PIP) install -q -e ".[all,dev]" "setuptools<82"
	$(PY) -c "import learn2learn" 2>/dev/null || $(PIP) install -q --no-deps $(L2L)
	touch $(STAMP)

demo: venv
	$(PY) tools/demo.py --out-dir outputs/demo --check-readme

# A planted shortcut: which explanations reveal a class-coded marker?
demo-shortcut: venv
	$(PY) tools/demo.py --out-dir outputs/demo_shortcut \
	    --data-root data/synthetic_parts_shortcut --dataset shortcut=marker \
	    --methods attention brnpa-class norm gradcam rise --no-randomisation

test: venv
	OMP_NUM_THREADS=1 $(PY) -m pytest -n 2 --timeout 900 tests

test-fast: venv
	OMP_NUM_THREADS=1 $(PY) -m pytest -n 2 -m "not slow" tests

clean:
	rm -rf outputs work_dirs .pytest_cache
