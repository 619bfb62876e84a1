"""Stand-in for `jupyter lab` in `make lab`: prints the arguments and environment it was given
as JSON, so tests start JupyterLab exactly as `make lab` does (`JUPYTER_LAB=python this-file`)."""
import json
import os
import sys

print(json.dumps({"argv": sys.argv[1:], "env": dict(os.environ)}))
