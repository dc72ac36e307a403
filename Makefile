# The first `make` run creates .venv and installs the pinned dependencies (constraints.txt).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
READY := $(VENV)/.ready

.PHONY: demo test compile check validate smoke bench contracts golden clean

$(READY): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	@touch $(READY)

demo: $(READY)  ## compile, start the local target service, run generated/app_local_mx.py and shop_local_mx.py against it
	$(PY) tools/demo.py

test: $(READY)
	$(PY) -m pytest

compile: $(READY)
	$(PY) -m compiler compile

validate: $(READY)
	$(PY) -m compiler validate

check: $(READY)
	$(PY) -m compiler validate
	$(PY) -m compiler compile --check

golden: $(READY)  ## the suite's golden record: tests/sample/generated/ from tests/sample/data/ (review the diff)
	cd tests/sample && ../../$(PY) -m compiler compile

smoke: $(READY)  ## a deploy gate: one user runs every endpoint and flow of TARGET (names or globs) once: make smoke TARGET=shop_local_mx [ARGS='-H URL']
	@test -n "$(TARGET)" || { echo "usage: make smoke TARGET=<target or glob> [ARGS='-H https://... (more Locust options)']"; exit 2; }
	$(PY) -m compiler run $(TARGET) -- --smoke $(ARGS)

bench: $(READY)
	$(PY) tools/bench.py

contracts: $(READY)  ## the MCP server's tool schemas, contracts/tools.json (a test compares them)
	$(PY) -m compiler.mcp.contracts contracts/tools.json

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache data/results/*/ data/results/index.html
