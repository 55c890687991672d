# Two commands on a fresh machine: `make run` (dashboard) and `make test` (whole suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501
# Loopback by default; a classroom serves the LAN on purpose: `make run ADDRESS=0.0.0.0`
# (or the machine's LAN address). See README.md (Serving a classroom).
ADDRESS ?= 127.0.0.1
# Extra streamlit flags, e.g. STREAMLIT_ARGS="--server.allowedHosts 192.168.1.20"
STREAMLIT_ARGS ?=
# Load benchmark size (bench/load_sessions.py).
SESSIONS ?= 30
DURATION ?= 60
# `make classroom`: Streamlit replicas behind HAProxy (default one per two cores), proxy on PORT.
REPLICAS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); r=$$((n / 2)); [ $$r -ge 1 ] && echo $$r || echo 1)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-fast test-browser venv chromium haproxy classroom lint bench bench-load bench-class clean i18n i18n-compile

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__)"
	touch $@

venv: $(VENV)/.installed

# Browser tests drive Debian's Chromium; never `playwright install`. The CJK and emoji
# fonts make screenshots show the Chinese names and the page icons.
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
		$(SUDO) apt-get update && \
		$(SUDO) apt-get install -y chromium fonts-noto-cjk fonts-noto-color-emoji; \
	elif ! dpkg -s fonts-noto-cjk fonts-noto-color-emoji >/dev/null 2>&1; then \
		$(SUDO) apt-get update && $(SUDO) apt-get install -y fonts-noto-cjk fonts-noto-color-emoji; \
	fi

# The classroom's reverse proxy (sticky cookie, websockets, health checks): Debian's HAProxy.
# `make test` installs it as it installs Chromium (tests/browser/test_replicas_browser.py runs it).
haproxy:
	@command -v haproxy >/dev/null 2>&1 || { $(SUDO) apt-get update && $(SUDO) apt-get install -y haproxy; }

# Message catalogs: the .po files are the source (what a translator edits); the .mo files are built.
I18N_KEYWORDS := -k N_ -k msg -k Message -k gettext
i18n-compile: venv
	$(VENV)/bin/pybabel compile -d lossviz/locale -D lossviz

# After adding or changing user-visible text: extract the ids, merge them into every .po, compile.
# Lines wrap at 100 columns, the width the committed .po files use (Babel's default 76 would rewrap them all).
i18n: venv
	$(VENV)/bin/pybabel extract -F babel.cfg $(I18N_KEYWORDS) --no-location --sort-output --width 100 \
		--project lossviz --version 0.1.0 -o lossviz/locale/lossviz.pot .
	$(VENV)/bin/pybabel update -i lossviz/locale/lossviz.pot -d lossviz/locale -D lossviz --no-fuzzy-matching --ignore-obsolete \
		--width 100
	$(VENV)/bin/pybabel compile -d lossviz/locale -D lossviz

run: venv i18n-compile
	$(PY) -m streamlit run app.py --server.port $(PORT) --server.address $(ADDRESS) $(STREAMLIT_ARGS)

# A whole class: REPLICAS Streamlit processes on loopback and HAProxy in front on ADDRESS:PORT
# (README.md: Serving a whole class). Ctrl-C stops them all.
classroom: venv haproxy i18n-compile
	$(PY) deploy/classroom.py --replicas $(REPLICAS) --port $(PORT) --address $(ADDRESS)

test: venv chromium haproxy i18n-compile
	$(PY) -m pytest

# Everything but the real-browser tests (no Chromium needed).
test-fast: venv i18n-compile
	$(PY) -m pytest -m "not browser"

test-browser: venv chromium haproxy
	$(PY) -m pytest tests/browser

lint: venv
	$(VENV)/bin/ruff check lossviz pages tests bench deploy app.py

bench: venv
	$(PY) bench/bench_rerun.py
	$(PY) bench/bench_surface.py
	$(PY) bench/bench_landscape_rerun.py
	$(PY) bench/bench_train.py
	$(PY) bench/bench_ddp.py
	$(PY) bench/bench_first_point.py
	$(PY) bench/bench_weight_landscape.py

# Thirty real browser sessions against one server while a run trains (needs Chromium).
bench-load: venv chromium
	$(PY) bench/load_sessions.py --sessions $(SESSIONS) --duration $(DURATION)

# A whole class (issue 21): sixty sessions in a class's mix on one server, then through HAProxy and two
# replicas. Run on a quiet machine; each prints one JSON line (also saved in bench/out/).
bench-class: venv haproxy
	$(PY) bench/load_sessions.py --sessions 60 --duration 90
	$(PY) bench/load_sessions.py --sessions 60 --duration 90 --proxy

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
