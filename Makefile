# The two fresh-machine entry points are `make demo` and `make test` (see README).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
APT_PACKAGES := frr frr-pythontools openssh-server iproute2 procps util-linux nftables dnsmasq-base tcpdump sudo \
  strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-extra-plugins \
  libstrongswan-standard-plugins

.PHONY: demo test setup system-deps venv lint typecheck unit bench

setup: system-deps venv

# Installs the Debian packages the lab needs; a no-op when they are already there.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else echo "storestack: these Debian packages are needed, run as root or install them:$$missing" >&2; exit 1; fi; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

demo: setup
	$(BIN)/storestack demo

lint: venv
	$(BIN)/ruff check .

typecheck: venv
	$(BIN)/mypy

# Two lanes side by side, each on PYTEST_WORKERS workers (`--lane`, tests/conftest.py): the tests
# that run a lab or the demo, at nice 0, and the others, at nice 10 (tests/testsupport/priority.py).
# The lab tests spend most of their time waiting on the lab's timers with the cores idle; the other
# lane's CPU-bound tests fill them meanwhile, and yield the CPU whenever a lab process wants it. At
# most two labs run at once, as on two workers of one run: more labs at once (four workers of one
# run) failed lab timing tests. The lab lane's report follows the other's; the target fails if
# either lane does. `tests` is named because pytest reads an option a conftest.py adds (`--lane`)
# only from the conftest files of the paths it is given.
PYTEST_WORKERS ?= 2
PYTEST_LANE = $(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadgroup tests --lane

unit: venv
	@lab_report=$$(mktemp); trap 'kill $$lab 2>/dev/null; rm -f "$$lab_report"' EXIT; \
	$(PYTEST_LANE) lab > "$$lab_report" 2>&1 & lab=$$!; \
	echo "pytest: the lab lane runs beside this one; its report follows"; \
	$(PYTEST_LANE) other; other=$$?; \
	wait $$lab; lab_status=$$?; lab=; \
	echo "--- the lab lane:"; cat "$$lab_report"; \
	[ $$other -eq 0 ] && [ $$lab_status -eq 0 ]

test: setup lint typecheck unit

bench: setup
	$(BIN)/python benchmarks/run_all.py
