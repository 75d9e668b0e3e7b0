# paperclip.kubernetes: the one interface for developers and CI.
# Every target installs what it needs (make setup is idempotent and quick when warm).
SHELL := /bin/bash
ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(ROOT)/.build/collections
export ANSIBLE_CONFIG := $(ROOT)/ansible.cfg
export ANSIBLE_LINT_SKIP_SCHEMA_UPDATE := 1
export KUBECONFIG_TEST := $(ROOT)/.cluster/kubeconfig
PYTEST := $(VENV)/bin/python -m pytest

.PHONY: setup lint unit cluster-up cluster-down print-kubeconfig print-kubectl \
        integration e2e molecule molecule-kind lifecycle test bench deploy build clean

setup:
	@bash hack/setup.sh

lint: setup
	bash hack/lint.sh

unit: setup
	$(PYTEST) -q tests/unit

build: setup
	ansible-galaxy collection build --force --output-path .build/dist .

cluster-up: setup
	bash tests/cluster/up.sh

cluster-down:
	bash tests/cluster/down.sh

print-kubeconfig:
	@bash tests/cluster/print.sh kubeconfig

print-kubectl:
	@bash tests/cluster/print.sh kubectl

# Needs the local control plane and the local Paperclip server; the test
# session starts and stops what it needs (see tests/integration/conftest.py).
integration: setup
	bash tests/cluster/with-cluster.sh $(PYTEST) -q tests/integration

e2e: setup
	bash tests/cluster/with-cluster.sh bash hack/e2e.sh

molecule: setup
	bash tests/cluster/with-cluster.sh bash hack/molecule.sh default

molecule-kind:
	@echo "molecule/kind needs Docker, kind and network access to container registries;" >&2
	@echo "none of these exist on this machine, so it cannot run here. Run: bash hack/molecule.sh kind" >&2
	@exit 2

# Start and stop their own clusters: make deploy with no kube context, and a
# cluster-up/cluster-down that must leave nothing behind.
lifecycle: setup
	$(PYTEST) -q tests/lifecycle

# The three cluster suites share one cluster start (each target alone starts and
# stops its own); then lifecycle (make deploy with no context, a clean stop).
test: lint unit
	bash tests/cluster/with-cluster.sh $(MAKE) --no-print-directory integration e2e molecule
	$(MAKE) --no-print-directory lifecycle

# KCP_AUDIT=1: a cluster started here writes the API audit log the bench counts requests from.
bench: setup
	KCP_AUDIT=1 bash tests/cluster/with-cluster.sh $(VENV)/bin/python benchmarks/run.py

# Deploy against the current kube context with the example inventory (or INVENTORY=...);
# with no kube context, on the local cluster with the stand-in images (hack/deploy.sh).
INVENTORY ?= inventory/example.yml
deploy: setup
	INVENTORY=$(INVENTORY) bash hack/deploy.sh

clean:
	rm -rf .build tests/output artifacts
