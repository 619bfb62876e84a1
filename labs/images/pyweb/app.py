"""The course's notes service (lesson 10): an interpreted web server whose profile is the
interpreter's syscalls plus the program's.

GET /         a greeting
GET /notes    the notes, as JSON
POST /notes   append the request body as one note; notes are also appended to a file, so the
              service touches the disk only when it handles a write
GET /health   "ok" (for probes)
"""
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NOTES_FILE = os.environ.get("NOTES_FILE", "/tmp/notes.jsonl")
PORT = int(os.environ.get("PORT", "8000"))
NOTES: list[str] = []


class Handler(BaseHTTPRequestHandler):
    server_version = "course-notes/1"

    def _send(self, status: int, body: str, kind: str = "text/plain") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/":
            self._send(200, "hello from the course notes service\n")
        elif self.path == "/health":
            self._send(200, "ok\n")
        elif self.path == "/notes":
            self._send(200, json.dumps(NOTES) + "\n", "application/json")
        else:
            self._send(404, "not found\n")

    def do_POST(self) -> None:
        if self.path != "/notes":
            self._send(405, "only POST /notes\n")
            return
        note = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode(errors="replace")
        NOTES.append(note)
        with open(NOTES_FILE, "a", encoding="utf-8") as out:
            out.write(json.dumps(note) + "\n")
        self._send(201, json.dumps({"notes": len(NOTES)}) + "\n", "application/json")


if __name__ == "__main__":
    # as pid 1 a signal without a handler is ignored: without this, `docker stop` and pod
    # deletion wait out their grace period and then kill the service
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"notes service on port {PORT}", flush=True)
    ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
