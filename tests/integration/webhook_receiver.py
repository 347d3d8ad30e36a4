"""A webhook endpoint for the tests: an HTTP server on loopback that keeps
every POST (its headers and JSON body) and answers what the test says:
a status for each request in turn (`script`), then `status`. It checks
nothing itself; the tests check the signatures (verify())."""
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verify(header, secret, body, tolerance=300):
    """X-Petrel-Signature: t=UNIX,v1=HEX(HMAC-SHA256(secret, t + "." + body)),
    checked as docs/events.md shows a receiver doing it."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = hmac.new(secret, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return abs(time.time() - t) <= tolerance and hmac.compare_digest(expected, parts.get("v1", ""))


class Receiver:
    def __init__(self, host="127.0.0.1", status=200, script=(), port=0):
        self.posts = []          # (headers dict, raw body, parsed JSON)
        self.status = status
        self.script = list(script)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                with receiver.lock:
                    code = receiver.script.pop(0) if receiver.script else receiver.status
                    receiver.posts.append((dict(self.headers), body, code))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer((host, port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://{host}:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def accepted_events(self):
        """The events of every POST answered 2xx, in order."""
        with self.lock:
            out = []
            for _, body, code in self.posts:
                if 200 <= code < 300:
                    out.extend(json.loads(body))
            return out

    def all_posts(self):
        with self.lock:
            return list(self.posts)
