"""Harness for the end-to-end tests of petreld: a real server process on a loopback port,
real clients (smtplib, swaks, smtp-source, raw sockets), and the Maildir it
delivers into.

    PETRELD=/work/main/build/petreld /usr/bin/python3 -m pytest -q tests/integration

Every test gets its own petreld with a fresh spool and Maildir (the
`petrel` fixture, or `start_petrel(*flags)` for non-default flags).  Every
wait is bounded.  The server's stderr is printed when a test fails (pytest
shows what the fixture prints at teardown for failed tests only).
"""
import os
import re
import signal
import smtplib
import socket
import subprocess
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PETRELD = os.environ.get("PETRELD", os.path.join(ROOT, "build", "petreld"))

HOST = "127.0.0.1"
HOSTNAME = "petrel.test"
LOCAL_DOMAIN = "local.test"
CRLF = b"\r\n"


def free_port(host=HOST):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, interval=0.05):
    """Poll predicate() until it is truthy or timeout seconds pass; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


# --------------------------------------------------------------------------
# replies and a raw SMTP session

class Reply:
    """One (possibly multi-line) SMTP reply."""

    ENHANCED = re.compile(r"^([245]\.\d{1,3}\.\d{1,3})\b")

    def __init__(self, code, lines):
        self.code = code
        self.lines = lines                  # text after "NNN-" / "NNN "
        m = self.ENHANCED.match(lines[0]) if lines else None
        self.enhanced = m.group(1) if m else None

    @property
    def text(self):
        return "\n".join(self.lines)

    def __repr__(self):
        return f"Reply({self.code} {self.text!r})"


class Closed(Exception):
    """The server closed the connection while a reply was expected."""


class RawSession:
    """An SMTP client that sends exactly the bytes it is given, for dialogues
    no well-behaved client library would produce."""

    def __init__(self, host, port, source=None, timeout=10.0):
        self.sock = socket.create_connection(
            (host, port), timeout=timeout,
            source_address=(source, 0) if source else None)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def readline(self):
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise Closed(f"connection closed; unread bytes: {self.buf!r}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r")

    def reply(self):
        lines = []
        while True:
            line = self.readline().decode("utf-8", "replace")
            assert re.match(r"^\d{3}[ -]", line + " "), f"not an SMTP reply line: {line!r}"
            lines.append(line[4:])
            if len(line) < 4 or line[3] == " ":
                return Reply(int(line[:3]), lines)

    def command(self, line):
        """Send one command line (CRLF appended) and read its reply."""
        self.send((line.encode() if isinstance(line, str) else line) + CRLF)
        return self.reply()

    def is_closed(self, timeout=5.0):
        """True when the server closes the connection within timeout
        (anything it still sends first is discarded)."""
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        return False


# --------------------------------------------------------------------------
# delivered messages

class Delivered:
    """A file from a Maildir: the trace headers petreld prepends, then the
    message as the client sent it."""

    def __init__(self, path, data):
        self.path = path
        self.data = data
        self.trace = []          # [(name, raw header bytes incl. folded lines)]
        rest = data
        for name in (b"Return-Path", b"Delivered-To", b"Received"):
            if not rest.lower().startswith(name.lower() + b":"):
                break
            end = rest.index(CRLF)
            while rest[end + 2:end + 3] in (b" ", b"\t"):     # folded header
                end = rest.index(CRLF, end + 2)
            self.trace.append((name.decode(), rest[:end]))
            rest = rest[end + 2:]
        self.message = rest

    def header(self, name):
        for n, raw in self.trace:
            if n.lower() == name.lower():
                return raw.split(b":", 1)[1].strip().decode("utf-8", "replace")
        return None

    def __repr__(self):
        return f"Delivered({os.path.basename(self.path)}, {self.data[:200]!r}...)"


# --------------------------------------------------------------------------
# the server under test

class Petrel:
    def __init__(self, workdir, flags=(), port=None, spool=None, maildir=None):
        self.workdir = str(workdir)
        self.spool = str(spool) if spool else os.path.join(self.workdir, "spool")
        self.maildir = str(maildir) if maildir else os.path.join(self.workdir, "maildir")
        self.host = HOST
        self.port = port
        self.flags = list(flags)
        self.proc = None
        self.logs = []           # stderr files of every start, for the failure report
        self.starts = 0

    # -- process ---------------------------------------------------------
    def argv(self):
        return [PETRELD, "--listen", f"{self.host}:{self.port}", "--spool", self.spool,
                "--maildir", self.maildir, "--local-domain", LOCAL_DOMAIN,
                "--hostname", HOSTNAME, "--log-level", "info"] + self.flags

    def start(self, timeout=10.0):
        if not os.access(PETRELD, os.X_OK):
            pytest.fail(f"no petreld at {PETRELD} (set PETRELD)")
        if self.port is None:
            self.port = free_port()
        self.starts += 1
        log = os.path.join(self.workdir, f"petreld.{self.starts}.stderr")
        self.logs.append(log)
        with open(log, "wb") as err:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=err, start_new_session=True)
        if not wait_until(self._port_open, timeout):
            rc = self.proc.poll()
            self.stop()
            pytest.fail(f"petreld did not listen on {self.host}:{self.port} within {timeout}s "
                        f"(exit status {rc}); stderr:\n{self.stderr()}")
        return self

    def _port_open(self):
        if self.proc.poll() is not None:
            return True          # exited: stop polling, start() reports it
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self, timeout=10.0):
        """SIGTERM, then SIGKILL after timeout; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                print(f"petreld ignored SIGTERM for {timeout}s: killed")
        return self.proc.returncode

    def kill(self):
        """kill -9: no chance to clean up."""
        self.proc.kill()
        self.proc.wait(5)

    def restart(self):
        """Start again on the same spool and Maildir (a new port: the old one
        may linger in TIME_WAIT)."""
        self.stop()
        self.port = free_port()
        return self.start()

    # -- what the process uses (Linux /proc) -------------------------------
    def rss_kib(self):
        """Resident set size of petreld in KiB (VmRSS)."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS in /proc/PID/status")

    def fd_count(self):
        """Open file descriptors of petreld."""
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def log_text(self):
        """Everything the server wrote to stderr, over all its starts."""
        out = []
        for path in self.logs:
            with open(path, "rb") as f:
                out.append(f.read().decode("utf-8", "replace"))
        return "".join(out)

    def sessions_logged(self):
        """Sessions that have ended (petreld logs one line per session at its end)."""
        return self.log_text().count(" session client=")

    def stderr(self):
        out = []
        for path in self.logs:
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            if len(data) > 20000:
                data = b"[... " + str(len(data) - 20000).encode() + b" bytes cut ...]\n" + data[-20000:]
            out.append(f"--- {os.path.basename(path)} ---\n" + data.decode("utf-8", "replace"))
        return "\n".join(out)

    # -- clients ---------------------------------------------------------
    def smtp(self, timeout=10.0):
        """A smtplib client that has said EHLO."""
        client = smtplib.SMTP(self.host, self.port, local_hostname="client.test", timeout=timeout)
        client.ehlo()
        return client

    def raw(self, source=None, timeout=10.0):
        """A raw session that has read the greeting."""
        s = RawSession(self.host, self.port, source=source, timeout=timeout)
        greeting = s.reply()
        assert greeting.code == 220, greeting
        return s

    def connect(self, source=None, timeout=10.0):
        """A raw session that has not read the greeting yet."""
        return RawSession(self.host, self.port, source=source, timeout=timeout)

    # -- Maildir ---------------------------------------------------------
    def mailbox(self, user, domain=LOCAL_DOMAIN):
        return os.path.join(self.maildir, domain, user)

    def message_files(self, user, domain=LOCAL_DOMAIN):
        new = os.path.join(self.mailbox(user, domain), "new")
        try:
            names = os.listdir(new)
        except FileNotFoundError:
            return []
        return sorted(os.path.join(new, n) for n in names)

    def messages(self, user, domain=LOCAL_DOMAIN):
        out = []
        for p in self.message_files(user, domain):
            with open(p, "rb") as f:
                out.append(Delivered(p, f.read()))
        return out

    def wait_for_messages(self, user, count, timeout=10.0, domain=LOCAL_DOMAIN):
        """The messages in user's Maildir once there are at least count
        (fails after timeout).  Then waits a moment and checks no more arrive."""
        got = wait_until(lambda: len(self.message_files(user, domain)) >= count, timeout)
        n = len(self.message_files(user, domain))
        assert got, f"{n} of {count} messages delivered to {user}@{domain} within {timeout}s"
        return self.messages(user, domain)

    def all_message_files(self):
        out = []
        for root, dirs, files in os.walk(self.maildir):
            if os.path.basename(root) == "new":
                out.extend(os.path.join(root, f) for f in files)
                dirs[:] = []
        return out

    def send_ok(self, user="check", text="still serving"):
        """A well-behaved client still gets a message delivered."""
        before = len(self.message_files(user))
        with self.smtp() as c:
            c.sendmail("probe@client.test", [f"{user}@{LOCAL_DOMAIN}"],
                       f"Subject: {text}\r\n\r\n{text}\r\n".encode())
        msgs = self.wait_for_messages(user, before + 1)
        assert any(text.encode() in m.message for m in msgs)


def message(subject="test", body="hello\r\n", headers=""):
    """A small RFC 5322 message, CRLF line ends, as bytes."""
    text = f"From: <sender@client.test>\r\nTo: <user@{LOCAL_DOMAIN}>\r\nSubject: {subject}\r\n{headers}\r\n{body}"
    return text.encode("utf-8")


QUEUED_AS = re.compile(r"queued as <?([A-Za-z0-9]{16})>?")


def queue_id(reply):
    m = QUEUED_AS.search(reply.text if isinstance(reply, Reply) else reply)
    return m.group(1) if m else None
