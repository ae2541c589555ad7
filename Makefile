# The two commands: `make run` serves Jimu with the customer-service app,
# `make test` runs the whole suite. Both set up .venv themselves.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JIMU := $(BIN)/jimu

.PHONY: run test bench venv clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel
	$(BIN)/pip install -q -e '.[postgres,server,test,bench]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(JIMU) init-db
	$(JIMU) import examples/customer_service.json --if-newer
	$(JIMU) demo-data --if-empty
	$(JIMU) create-user admin --admin --print-login --if-missing
	$(JIMU) serve --host 127.0.0.1 --port 5000
# the demo app's people and business calendar are in China: show its times there (override as you like)
run: export JIMU_TIMEZONE ?= Asia/Shanghai

# one test process per core (a file's tests stay in one process: they share module fixtures)
test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -n auto --dist loadfile tests

bench: $(STAMP)
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) instance/*.sqlite* tests/artifacts
