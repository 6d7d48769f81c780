# Two entry points on a fresh machine: `make demo` and `make test` (each sets itself up).
PY ?= python3
PIP = $(PY) -m pip
export QT_QPA_PLATFORM ?= offscreen

.PHONY: setup setup-system demo test test-fast gui evaluate bench clean

setup-system:  ## DICOM validators and an X server for screenshots (Debian)
	@if command -v apt-get >/dev/null 2>&1 && ! command -v dciodvfy >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dcmtk dicom3tools \
	    libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 >/dev/null; fi

setup: setup-system
	bash packaging/install_torch.sh
	$(PIP) install -q -e '.[dev]'

demo: setup  ## de-identify the bundled demo study into out/demo, then audit it
	$(PY) -m medeid_gui demo out/demo

test: setup
	$(PY) -m pytest -q -p no:cacheprovider

test-fast:
	$(PY) -m pytest -q -x -p no:cacheprovider

gui: setup
	$(PY) -m medeid_gui.app --demo

clean:
	rm -rf out build dist .pytest_cache
