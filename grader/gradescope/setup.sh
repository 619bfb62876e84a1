#!/usr/bin/env bash
# Gradescope runs this once while building the autograder image (Ubuntu base, as root).
# Assumptions (see README.md): the bundle was made by `python -m grader gradescope-bundle`, so
# grader/, labs/ and EXERCISE sit in /autograder/source; network to Ubuntu and PyPI mirrors.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
# python3.11 for the code; apparmor for apparmor_parser (syntax checks need no AppArmor kernel)
apt-get install -y --no-install-recommends python3.11 python3.11-venv apparmor
cd /autograder/source
python3.11 -m venv .venv
.venv/bin/pip install --quiet -r requirements-grader.txt
