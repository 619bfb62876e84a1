"""Runs INSIDE the AppArmor VM: one line per call on the kind node's containers (from
``crictl ps -a -o json`` on stdin): name:state#restarts, so a slow control plane shows which
component is starting, running or being restarted."""
import json
import sys

text = sys.stdin.read()
try:
    found = json.loads(text)["containers"]
except (ValueError, KeyError):
    print("crictl:", " ".join(text.split())[:160] or "no answer")
    sys.exit(0)
print(" ".join(f"{c['metadata']['name']}:{c['state'].removeprefix('CONTAINER_').lower()}"
               f"#{c['metadata'].get('attempt', 0)}" for c in found) or "no containers yet")
