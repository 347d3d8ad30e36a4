"""A webhook endpoint for the events benchmark: answers 200 to every POST,
counts the events it got, and prints the count when stopped (SIGTERM).

    /usr/bin/python3 bench/webhook_sink.py PORT
"""
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

count = 0
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, as petreld's client expects

    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:   # counted without parsing: the sink must cost the machine little
            count += body.count(b'"event_id"')
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)


def stop(*_):
    threading.Thread(target=server.shutdown).start()


signal.signal(signal.SIGTERM, stop)
server.serve_forever()
print(f"webhook sink: {count} events", flush=True)
