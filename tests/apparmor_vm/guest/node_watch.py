"""Runs INSIDE the AppArmor VM: one line per call on the kind node's containers (from
``crictl ps -a -o json`` on stdin): name:state#restarts, so a slow control plane shows which
component is starting, running or being restarted."""
import json
import sys

try:
    found = json.load(sys.stdin)["containers"]
except (ValueError, KeyError):
    found = []
print(" ".join(f"{c['metadata']['name']}:{c['state'].removeprefix('CONTAINER_').lower()}"
               f"#{c['metadata'].get('attempt', 0)}" for c in found) or "no containers yet")
