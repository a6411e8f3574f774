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

# Four workers on the two-core CI machine: the lab tests spend most of their time waiting on the
# lab's timers with the cores idle, so the CPU-bound tests run meanwhile. They run yielding the CPU
# (nice 10), a lab test at the normal priority (tests/testsupport/priority.py), so the lab's
# processes are not starved by them.
PYTEST_WORKERS ?= 4

unit: venv
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadgroup

test: setup lint typecheck unit

bench: setup
	$(BIN)/python benchmarks/run_all.py
