"""A small NATS client for the tests, over the text protocol (CONNECT, PUB,
SUB, MSG, HMSG, PING/PONG), and the JetStream API requests they need:
stream info, stream creation, and reading a stored message by sequence
number ($JS.API.STREAM.MSG.GET). Python has no NATS package here; this is
enough to check what petreld published. Also starts nats-server.
"""
import base64
import json
import os
import signal
import socket
import subprocess
import time

from harness import HOST, free_port, wait_until

NATS_SERVER = "/usr/sbin/nats-server"


class NatsServer:
    """nats-server -js on loopback, its store in `store`; stop() is kill -9
    (the store survives: the next start() finds its streams)."""

    def __init__(self, store, port=None):
        self.store = str(store)
        self.port = port or free_port()
        self.monitor_port = free_port()
        self.proc = None
        self.log = open(os.path.join(self.store + ".log"), "ab")

    @property
    def url(self):
        return f"nats://{HOST}:{self.port}"

    def start(self):
        os.makedirs(self.store, exist_ok=True)
        self.proc = subprocess.Popen([NATS_SERVER, "-js", "-sd", self.store, "-a", HOST, "-p", str(self.port),
                                      "-m", str(self.monitor_port)], stdout=self.log, stderr=self.log)
        assert wait_until(self.ready, 15), "nats-server did not start"
        return self

    def ready(self):
        try:
            with Nats(HOST, self.port, timeout=2) as n:
                return "error" not in n.request("$JS.API.INFO", {})
        except OSError:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def jsz(self):
        """The monitoring port's JetStream view: streams and their counts."""
        with socket.create_connection((HOST, self.monitor_port), timeout=5) as s:
            s.sendall(f"GET /jsz?streams=true&config=true HTTP/1.0\r\nHost: {HOST}\r\n\r\n".encode())
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        return json.loads(data.split(b"\r\n\r\n", 1)[1])

    def client(self):
        return Nats(HOST, self.port)


class Nats:
    def __init__(self, host, port, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.sid = 0
        line = self._line()
        assert line.startswith(b"INFO "), line
        self._send(b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,'
                   b'"protocol":1,"name":"petrel-test"}\r\nPING\r\n')
        while (line := self._line()) != b"PONG":
            assert not line.startswith(b"-ERR"), line

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def _send(self, data):
        self.sock.sendall(data)

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("NATS closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exactly(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("NATS closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def request(self, subject, payload, timeout=5.0):
        """The JSON answer to a JSON request (a JetStream API call)."""
        self.sid += 1
        inbox = f"_INBOX.petrel_test.{self.sid}"
        body = json.dumps(payload).encode()
        self._send(f"SUB {inbox} {self.sid}\r\nPUB {subject} {inbox} {len(body)}\r\n".encode() + body + b"\r\n")
        self.sock.settimeout(timeout)
        while True:
            line = self._line()
            if line == b"PING":
                self._send(b"PONG\r\n")
                continue
            if line.startswith(b"-ERR"):
                raise RuntimeError(line.decode())
            words = line.split()
            if words and words[0] == b"MSG":
                data = self._exactly(int(words[-1]))
                self._send(f"UNSUB {self.sid}\r\n".encode())
                return json.loads(data)
            if words and words[0] == b"HMSG":
                data = self._exactly(int(words[-1]))[int(words[-2]):]
                self._send(f"UNSUB {self.sid}\r\n".encode())
                if not data:  # a status-only reply: 503 no responders
                    return {"error": {"code": 503, "description": "no responders"}}
                return json.loads(data)

    def stream_info(self, stream):
        return self.request(f"$JS.API.STREAM.INFO.{stream}", {})

    def add_stream(self, name, subjects):
        return self.request(f"$JS.API.STREAM.CREATE.{name}", {"name": name, "subjects": subjects, "storage": "file"})

    def stream_message(self, stream, seq):
        """(subject, headers dict, data bytes) of message `seq`."""
        m = self.request(f"$JS.API.STREAM.MSG.GET.{stream}", {"seq": seq})["message"]
        headers = {}
        for line in base64.b64decode(m.get("hdrs", "")).decode().split("\r\n")[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip()] = v.strip()
        return m["subject"], headers, base64.b64decode(m.get("data", ""))

    def stream_messages(self, stream):
        info = self.stream_info(stream)["state"]
        return [self.stream_message(stream, seq) for seq in range(info["first_seq"], info["last_seq"] + 1)
                if info["messages"]]


def stream_count(server, stream):
    """Messages in the stream, or -1 while NATS or the stream is not there."""
    try:
        with server.client() as n:
            info = n.stream_info(stream)
        return info["state"]["messages"] if "state" in info else -1
    except (OSError, ConnectionError, RuntimeError):
        return -1


def wait_stream_count(server, stream, want, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stream_count(server, stream) >= want:
            return True
        time.sleep(0.1)
    return False
