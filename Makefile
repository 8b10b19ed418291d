# The project's commands. `make run` and `make test` are the two that matter; each installs
# what is missing first, and every target can be run again safely.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        := .venv
PY          := $(VENV)/bin/python
RASA        := $(VENV)/bin/rasa
SPACY_MODEL := build/spacy-en-blank
MODEL       := models/apt.tar.gz
WIDGET_NPM  := web/node_modules/socket.io-client/dist/socket.io.min.js
WIDGET      := web/vendor/webchat.js
CHARTS      := review/node_modules/chart.js/dist/chart.umd.js
CHROMIUM    := /usr/bin/chromium
NGINX       := /usr/sbin/nginx
PY_CODE     := apt_settings.py rasa_versions.py actions benchmark content language privacy review scripts server storage supervision tests training web/__init__.py
# Type-checked with mypy (make lint): the code that runs in the servers.
TYPED_CODE  := apt_settings.py rasa_versions.py actions content language privacy storage review server supervision training web/__init__.py

# No network for telemetry here, and TensorFlow's start-up chatter hides the real output.
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL   := 2
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install train run run-scale status shell test unit lint validate retrain migrate enquiries enquiries-csv staff-user purge forget api-token benchmark blind freeze clean

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

install: $(VENV)/.installed $(SPACY_MODEL)/meta.json $(WIDGET) $(CHARTS)  ## create .venv (Python 3.10, pinned dependencies), the widget and the charts

# The project itself is installed editable over the pinned set, its root on the path (compat
# mode: a package added later is found without reinstalling).
$(VENV)/.installed: requirements.txt constraints.txt pyproject.toml scripts/find-python.sh
	@python=$$(scripts/find-python.sh) || exit 1; \
	  if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then \
	    echo "Creating $(VENV) with $$python"; rm -rf $(VENV); "$$python" -m venv $(VENV) || exit 1; \
	  fi
	$(PY) -m pip install --upgrade --progress-bar on "pip==24.0"
	$(PY) -m pip install --progress-bar on -r requirements.txt -c constraints.txt
	$(PY) -m pip install --no-deps --no-build-isolation --config-settings editable_mode=compat -e .
	@touch $@

# spaCy cannot download a model here: a blank English pipeline gives Rasa its tokenizer.
$(SPACY_MODEL)/meta.json: $(VENV)/.installed
	mkdir -p build
	$(PY) -c "import spacy; spacy.blank('en').to_disk('$(SPACY_MODEL)')"

# The chat widget's npm packages (socket.io-client; axe-core for the browser tests), at the
# versions pinned in web/package-lock.json.
$(WIDGET_NPM): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	@touch $@

# The widget as served: our own code (web/src/) on socket.io-client, with the APT's postal
# address from the knowledge base (see scripts/build_widget.py and docs/widget.md).
$(WIDGET): $(WIDGET_NPM) web/src/chat.js web/src/chat.css content/knowledge/apt.yml scripts/build_widget.py $(VENV)/.installed
	$(PY) scripts/build_widget.py
	@touch $@

# Chart.js for the staff workspace's insights page, pinned in review/package-lock.json.
$(CHARTS): review/package.json review/package-lock.json
	cd review && npm ci --no-audit --no-fund
	@touch $@

# Browser tests drive Debian's chromium through Playwright; no browser is downloaded.
$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "error: install Chromium (Debian package 'chromium') for the browser tests" >&2; exit 1; }
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium

# The scale profile's front: Debian's nginx (the light build has what it needs).
$(NGINX):
	@command -v apt-get >/dev/null || { echo "error: install nginx (Debian package 'nginx-light') for the scale profile" >&2; exit 1; }
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light

# A running stack then swaps its Rasa processes for ones loading the new model, one at a time,
# losing no message (supervision/swap.py); nothing happens when training was skipped.
train: install  ## train the model (kept as it is when nothing training reads changed: training/inputs.py); a running stack loads it
	$(PY) scripts/train.py --fixed-model-name apt --out models
	@$(PY) -m supervision swap --changed

run: train  ## start the assistant (REST on port 5005), the demo page (8080) and the staff workspace (8081)
	$(PY) scripts/serve.py

# The scale profile on this machine's PostgreSQL and Redis, unless APT_DATABASE_URL and
# APT_REDIS_URL say otherwise.
SCALE_DATABASE := $(or $(APT_DATABASE_URL),postgresql://postgres@127.0.0.1:5432/apt)

run-scale: train $(NGINX)  ## the scale profile: APT_RASA_WORKERS replicas behind nginx, on PostgreSQL and Redis
	APT_DATABASE_URL=$(SCALE_DATABASE) $(PY) -m storage.migrate create
	APT_PROFILE=scale APT_DATABASE_URL=$(SCALE_DATABASE) $(PY) scripts/serve.py

status:  ## the stack's processes and their states (while make run or make run-scale runs)
	@$(PY) -m supervision status

shell: train  ## talk to the assistant in the terminal
	$(PY) scripts/serve.py --shell

# In two parts: the tests that need no model, server or browser on both cores (pytest-xdist),
# then the others one at a time (they share the session's model and its running stack, and
# several measure timing). The run's one training starts first, in the background, beside
# lint and the first part (scripts/run_tests.py). Each part prints its 15 slowest tests.
UNIT_TESTS := -m "not slow and not postgres" -n 2

test: install $(CHROMIUM) $(NGINX)  ## run the whole test suite (lint, unit, data validation, stories, NLU, end-to-end)
	$(PY) scripts/run_tests.py $(UNIT_TESTS)

unit: install  ## the fast loop: tests that need no trained model, no servers and no browser
	$(PY) -m pytest $(UNIT_TESTS) -q

lint: install  ## ruff and mypy on the Python code
	$(VENV)/bin/ruff check $(PY_CODE)
	$(VENV)/bin/ruff format --check $(PY_CODE)
	$(VENV)/bin/mypy $(TYPED_CODE)

validate: install  ## check domain, data and stories for inconsistencies
	$(RASA) data validate --fail-on-warnings

retrain: install  ## learn the staff's corrections: fine-tune, test, put live if not worse (FULL=1: full training)
	$(PY) -m training.retrain $(if $(FULL),--full)

migrate: install  ## bring the database to the newest schema revision (make run does it)
	@$(PY) -m storage.migrate upgrade

enquiries: install  ## list the funding enquiries visitors agreed to pass on
	@$(PY) -m storage.enquiries list

enquiries-csv: install  ## export the funding enquiries as CSV: make -s enquiries-csv > enquiries.csv
	@$(PY) -m storage.enquiries export

staff-user: install  ## create a staff account for the review workspace: make staff-user NAME=alice
	@test -n "$(NAME)" || { echo "usage: make staff-user NAME=<username>" >&2; exit 2; }
	@$(PY) -m review.accounts create "$(NAME)"

purge: install  ## delete conversations with no message in the last DAYS days (default 90): make purge DAYS=30 [FULL=1]
	@$(PY) -m storage.retention purge $(if $(DAYS),--days $(DAYS)) $(if $(FULL),--full)

forget: install  ## delete one conversation on the visitor's request: make forget ID=<conversation id>
	@test -n "$(ID)" || { echo "usage: make forget ID=<conversation id>" >&2; exit 2; }
	@$(PY) -m storage.retention forget "$(ID)"

api-token: install  ## print an admin JWT for Rasa's HTTP API (needs APT_RASA_JWT_SECRET)
	@$(PY) scripts/api_token.py

benchmark: train  ## measure latency, memory, start-up, training and NLU quality; writes reports/
	$(PY) -m benchmark

# The blind set against a stack of its own (URL=http://127.0.0.1:<port> for a running one);
# every turn's result in build/blind/results.json.
blind: train  ## play the blind evaluation set (tests/blind/): turns right per language and kind
	$(PY) -m benchmark.blind --json build/blind/results.json $(if $(URL),--url $(URL))

freeze:  ## rewrite constraints.txt from the current environment (after a deliberate upgrade)
	@{ echo "# Full, exact dependency set for a Python 3.10 virtual environment (pip freeze)."; \
	   $(PY) -m pip freeze --exclude-editable; } > constraints.txt

clean:  ## remove trained models and test output (keeps .venv)
	rm -rf models results build/test-output .pytest_cache
