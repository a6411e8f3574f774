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

# Two workers, one per core of the CI machine. Four finish in about 12 minutes where two take 17
# (the lab tests mostly wait on the lab's timers with the cores idle), but even with the CPU-bound
# tests yielding to the lab tests (nice 10, tests/testsupport/priority.py) one fresh-clone run of
# four failed two lab timing tests; `make test PYTEST_WORKERS=4` runs them so.
PYTEST_WORKERS ?= 2

unit: venv
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadgroup

test: setup lint typecheck unit

bench: setup
	$(BIN)/python benchmarks/run_all.py
