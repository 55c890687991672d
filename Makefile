# Two commands on a fresh machine: `make run` (dashboard) and `make test` (whole suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test venv chromium lint bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__)"
	touch $@

venv: $(VENV)/.installed

# Browser tests drive Debian's Chromium; never `playwright install`.
chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update && apt-get install -y chromium)

run: venv
	$(PY) -m streamlit run app.py --server.port $(PORT) --server.address 0.0.0.0

test: venv chromium
	$(PY) -m pytest

lint: venv
	$(VENV)/bin/ruff check lossviz pages tests bench app.py

bench: venv
	$(PY) bench/bench_rerun.py
	$(PY) bench/bench_surface.py
	$(PY) bench/bench_train.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
