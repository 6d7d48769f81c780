# Two entry points on a fresh machine: `make demo` and `make test` (each sets itself up).
PY ?= python3
PIP = $(PY) -m pip
export QT_QPA_PLATFORM ?= offscreen

.PHONY: setup setup-system demo test test-fast gui evaluate train bench package deb clean

setup-system:  ## DICOM validators and an X server for screenshots (Debian)
	@if command -v apt-get >/dev/null 2>&1 && ! command -v dciodvfy >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dcmtk dicom3tools \
	    libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 >/dev/null; fi

setup: setup-system
	bash packaging/install_torch.sh
	$(PIP) install -q -e '.[dev,cluster]'

demo: setup  ## de-identify the bundled demo study into out/demo, then audit it
	$(PY) -m medeid_gui demo out/demo

test: setup  ## lint (ruff, configured in pyproject.toml), then the whole suite
	$(PY) -m ruff check .
	$(PY) -m pytest -q -p no:cacheprovider

test-fast:
	$(PY) -m pytest -q -x -p no:cacheprovider

gui: setup
	$(PY) -m medeid_gui.app --demo

evaluate: setup  ## privacy-utility evaluation of every registered method -> models/EVALUATION.md (resumable)
	$(PY) -m medeid_gui ml evaluate --threads 1

train: setup  ## retrain the shipped method weights from a generated cohort (see models/*.md for the exact run)
	$(PY) -m medeid_gui ml cohort out/cohort --patients 200 --studies-per-patient 4 --seed 0
	$(PY) -m medeid_gui ml train out/cohort --seed 1 --threads 1

bench: setup  ## throughput and latency benchmarks (scripts, not tests)
	$(PY) benchmarks/header_throughput.py --files 2000
	$(PY) benchmarks/deidentify_cpu.py --runs 30
	$(PY) benchmarks/pixel_bench.py --threads 1

package: setup  ## PyInstaller one-folder bundle in dist/medeid, smoke-tested (packaging/README.md)
	$(PIP) install -q -e '.[package]'
	bash packaging/build.sh

deb:  ## .deb of the bundle that `make package` made -> dist/medeid_<version>_<arch>.deb; test: sudo bash packaging/test_deb.sh
	@if ! command -v desktop-file-validate >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq desktop-file-utils >/dev/null; fi
	bash packaging/build_deb.sh

clean:
	rm -rf out build dist .pytest_cache
