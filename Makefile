# The course's entry points. `make lab` and `make test` are the two set-up commands;
# every other target is a step they call, usable on its own. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
# the venv's tools (kind, kubectl) first; Go's standard install folder last, for shells that
# never read the profile that puts it on PATH (CI)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH):/usr/local/go/bin
export COURSE_ROOT := $(CURDIR)
# notebooks run with notebooks/ as their working directory: make `import labs, grader` work there
export PYTHONPATH := $(CURDIR)
# learners' exercise copies live inside JupyterLab's root so the file browser shows them
export COURSE_WORKSPACE ?= $(CURDIR)/notebooks/workspace
# pytest-notebook warns about its own config fields while it is imported, before pytest.ini applies
export PYTHONWARNINGS := ignore::UserWarning:pytest_notebook.utils
# Jupyter refuses to run as root (CI, containers) unless told
JUPYTER_ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: help lab test venv engine images node-image cluster cluster-multi cluster-seccompdefault \
        cluster-apparmor doctor test-unit test-docker test-podman test-cluster test-notebooks test-learner test-browser \
        test-apparmor-vm bench student offline-bundle load-bundle clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 26

# JupyterLab's terminals and kernels inherit KUBECONFIG (the course cluster's .state/kubeconfig)
# and PATH (.venv/bin, with kind and kubectl, first) from labs.cluster.labenv, the one
# definition the notebooks' setup cell uses too. `make -n lab` shows it. Terminals run a
# non-login bash: Jupyter starts a login shell when its output is not a terminal, and a login
# shell reads /etc/profile, which resets PATH on Debian/Ubuntu (kubectl would be gone).
# The browser test starts JupyterLab with exactly this command and environment.
LAB_ENV := eval "$$($(PY) -m labs.cluster.labenv default)"
JUPYTER_LAB := $(VENV)/bin/jupyter lab
LAB_FLAGS := $(JUPYTER_ROOT_FLAG) --ServerApp.terminado_settings='shell_command=["bash"]' \
             --notebook-dir=notebooks notebooks/00-welcome.ipynb

lab: cluster  ## set up everything and open JupyterLab on the first notebook
	$(LAB_ENV) && echo "KUBECONFIG=$$KUBECONFIG (try: kubectl get nodes in a JupyterLab terminal)" && \
	  exec $(JUPYTER_LAB) $(LAB_FLAGS)

# cheapest tiers first, so a broken basic fails fast
TEST_TIERS := tests/unit tests/docker tests/podman tests/cluster tests/notebooks tests/learner tests/browser tests/apparmor_vm

test: cluster  ## set up everything the tests need, then run every test tier
	$(VENV)/bin/ruff check .
	$(PY) -m labs.host ensure-podman
	$(PY) tests/cluster/local_registry.py
	$(PY) -m pytest -m "not learner_host" --durations=20 $(TEST_TIERS)

venv: $(VENV)/.installed  ## the Python virtualenv with pinned requirements

$(VENV)/.installed: requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required: install python3.11 and re-run (or PYTHON=/path/to/python3.11 make ...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

engine: venv  ## make sure a Docker engine answers (installs it where that is safe)
	$(PY) -m labs.host ensure-engine

images: engine  ## build the lab images (on debian:bookworm where a registry answers, else debootstrap; cached by recipe hash)
	$(PY) -m labs.images build

node-image: engine  ## kind's release image where a registry answers, else the offline build (cached)
	$(PY) -m labs.cluster node-image

cluster: images node-image  ## create or reuse the default kind cluster
	$(PY) -m labs.cluster ensure default

cluster-multi: images node-image  ## control plane + 2 workers (lesson 08)
	$(PY) -m labs.cluster ensure multi-node

cluster-seccompdefault: images node-image  ## kubelet seccompDefault: true
	$(PY) -m labs.cluster ensure seccomp-default

cluster-apparmor: images node-image  ## AppArmor-capable node (needs a host with the AppArmor LSM)
	$(PY) -m labs.cluster ensure apparmor

doctor: venv  ## check every prerequisite and print the fix for each
	$(PY) -m labs.doctor

test-unit: venv  ## pure-logic tests only (no Docker needed)
	$(PY) -m pytest tests/unit

test-docker: images  ## Docker-tier integration tests
	$(PY) -m pytest tests/docker

test-podman: images node-image  ## the course on rootful Podman (COURSE_ENGINE=podman; skipped without podman)
	$(PY) -m labs.host ensure-podman
	$(PY) -m pytest tests/podman

test-cluster: cluster  ## tests against the real kind cluster
	$(PY) tests/cluster/local_registry.py
	$(PY) -m pytest tests/cluster

test-notebooks: cluster  ## execute every notebook with solutions applied
	$(PY) -m pytest tests/notebooks

test-learner: cluster  ## a scripted learner follows each lesson and must earn full marks
	$(PY) -m pytest tests/learner

test-browser: cluster  ## JupyterLab in headless Chromium
	$(PY) -m pytest tests/browser

test-apparmor-vm: images node-image  ## AppArmor in a QEMU VM: the shipped profiles, the node's kubelet, the course with the node as a worker and on a learner host
	$(PY) -m pytest tests/apparmor_vm

bench: images  ## benchmarks: print numbers, assert nothing
	$(PY) bench/run_all.py

student: venv  ## the learner edition (solutions stripped) into dist/student
	$(PY) -m labs.student dist/student

offline-bundle: images  ## save the offline node image + lab images to dist/offline-bundle.tar
	$(PY) -m labs.cluster node-image --source offline
	$(PY) -m labs.bundle save dist/offline-bundle.tar

load-bundle: engine  ## load dist/offline-bundle.tar on a machine with no network
	$(PY) -m labs.bundle load dist/offline-bundle.tar

clean:  ## delete the course's clusters, containers and the venv (keeps cached images)
	-$(PY) -m labs.cluster delete --all
	rm -rf $(VENV) .state dist
