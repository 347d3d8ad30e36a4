"""Harness for the end-to-end tests of petreld: a real server process on a loopback port,
real clients (smtplib, swaks, smtp-source, raw sockets), and the Maildir it
delivers into.

    PETRELD=/work/main/build/petreld /usr/bin/python3 -m pytest -q tests/integration

Every test gets its own petreld with a fresh spool and Maildir (the
`petrel` fixture, or `start_petrel(*flags)` for non-default flags).  Every
wait is bounded.  The server's stderr is printed when a test fails (pytest
shows what the fixture prints at teardown for failed tests only).
"""
import base64
import hashlib
import hmac
import os
import re
import shutil
import signal
import smtplib
import socket
import ssl
import threading
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

    # -- TLS and AUTH (RFC 3207, RFC 4954) --------------------------------
    def start_tls(self, context=None, server_hostname=None):
        """The TLS handshake on this connection (after a 220 to STARTTLS, or
        at once on an implicit-TLS port). Whatever the server sent after the
        220 and before the handshake would be in self.buf: none is allowed."""
        assert self.buf == b"", f"server sent plaintext after its 220, before the handshake: {self.buf!r}"
        ctx = context or client_context()
        self.sock = ctx.wrap_socket(self.sock, server_hostname=server_hostname or TLS_NAME)
        return self

    def starttls(self, context=None):
        """STARTTLS (the 220 is checked), the handshake, and a new EHLO;
        returns the EHLO reply."""
        r = self.command("STARTTLS")
        assert (r.code, r.enhanced) == (220, "2.0.0"), r
        self.start_tls(context)
        return self.command("EHLO client.test")

    def tls(self):
        """(protocol, cipher name, secret bits) of the TLS connection."""
        name, _proto, bits = self.sock.cipher()
        return self.sock.version(), name, bits

    def auth_plain(self, user, password):
        """AUTH PLAIN with an initial response; returns the final reply."""
        return self.command("AUTH PLAIN " + b64(f"\0{user}\0{password}"))

    def auth_login(self, user, password):
        """AUTH LOGIN, answering the two 334 prompts; returns the final reply."""
        r = self.command("AUTH LOGIN")
        for answer in (user, password):
            if r.code != 334:
                return r
            r = self.command(b64(answer))
        return r

    def auth_scram_sha256(self, user, password):
        """AUTH SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel binding.
        Returns (final reply, whether the server proved it knows the
        password: its v= signature matched)."""
        cnonce = base64.b64encode(os.urandom(18)).decode()
        first_bare = f"n={scram_name(user)},r={cnonce}"
        r = self.command("AUTH SCRAM-SHA-256 " + b64("n,," + first_bare))
        if r.code != 334:
            return r, False
        server_first = base64.b64decode(r.lines[0]).decode()
        attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
        assert attrs["r"].startswith(cnonce), f"server nonce does not extend ours: {server_first!r}"
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = f"c=biws,r={attrs['r']}"
        auth_message = f"{first_bare},{server_first},{without_proof}".encode()
        signature = hmac.new(stored_key, auth_message, "sha256").digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        r = self.command(b64(f"{without_proof},p={base64.b64encode(proof).decode()}"))
        if r.code != 334:
            return r, False
        server_key = hmac.new(salted, b"Server Key", "sha256").digest()
        expected = "v=" + base64.b64encode(hmac.new(server_key, auth_message, "sha256").digest()).decode()
        verified = base64.b64decode(r.lines[0]).decode() == expected
        return self.command(""), verified

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
    def __init__(self, workdir, flags=(), port=None, spool=None, maildir=None, listeners=()):
        self.workdir = str(workdir)
        # extra listeners: {"submission": port, "smtps": port} -> --listen-submission ADDR:PORT ...
        self.ports = {name: None for name in listeners}
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
                "--hostname", HOSTNAME, "--log-level", "info"] + [
                    arg for name, port in self.ports.items()
                    for arg in (f"--listen-{name}", f"{self.host}:{port}")] + self.auth_checks_flag() + self.flags

    def auth_checks_flag(self):
        """The inbound SPF/DKIM/DMARC checks (on by default in petreld) are
        off unless a test asks for them with --auth-checks: they would look
        up the test senders' domains in a DNS the tests do not control."""
        return [] if "--auth-checks" in self.flags else ["--no-auth-checks"]

    def start(self, timeout=10.0):
        if not os.access(PETRELD, os.X_OK):
            pytest.fail(f"no petreld at {PETRELD} (set PETRELD)")
        if self.port is None:
            self.port = free_port()
        for name in self.ports:
            if self.ports[name] is None:
                self.ports[name] = free_port()
        self.starts += 1
        log = os.path.join(self.workdir, f"petreld.{self.starts}.stderr")
        self.logs.append(log)
        with open(log, "wb") as err:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=err, start_new_session=True)
        for port in [self.port, *self.ports.values()]:
            if not wait_until(lambda: self._port_open(port), timeout):
                rc = self.proc.poll()
                self.stop()
                pytest.fail(f"petreld did not listen on {self.host}:{port} within {timeout}s "
                            f"(exit status {rc}); stderr:\n{self.stderr()}")
        if self.proc.poll() is not None:
            rc = self.proc.poll()
            pytest.fail(f"petreld exited with status {rc} at start; stderr:\n{self.stderr()}")
        return self

    def _port_open(self, port=None):
        if self.proc.poll() is not None:
            return True          # exited: stop polling, start() reports it
        try:
            with socket.create_connection((self.host, port or self.port), timeout=0.5):
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
        self.ports = {name: None for name in self.ports}
        return self.start()

    # -- what the process uses (Linux /proc) -------------------------------
    def rss_kib(self):
        """Resident set size of petreld in KiB (VmRSS)."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS in /proc/PID/status")

    def rss_peak_kib(self):
        """The largest resident set size petreld's current process has had, in KiB (VmHWM)."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise AssertionError("no VmHWM in /proc/PID/status")

    def reset_rss_peak(self):
        """Starts VmHWM afresh from the present resident size (Linux >= 4.0)."""
        with open(f"/proc/{self.proc.pid}/clear_refs", "w") as f:
            f.write("5")

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

    def raw(self, source=None, timeout=10.0, listener=None):
        """A raw session that has read the greeting (listener: "submission"
        for that port; "smtps" for a session that has done the TLS handshake)."""
        s = self.connect(source=source, timeout=timeout, listener=listener)
        if listener == "smtps":
            s.start_tls()
        greeting = s.reply()
        assert greeting.code == 220, greeting
        return s

    def connect(self, source=None, timeout=10.0, listener=None):
        """A raw session that has not read the greeting yet (nor, on the
        smtps port, done the handshake)."""
        port = self.ports[listener] if listener else self.port
        return RawSession(self.host, port, source=source, timeout=timeout)

    def raw_tls(self, source=None, timeout=10.0, listener=None, context=None):
        """A raw session over TLS that has said EHLO: STARTTLS on the port-25
        listener (default) or "submission", the handshake first on "smtps".
        The EHLO reply is kept in session.ehlo."""
        s = self.raw(source=source, timeout=timeout, listener=listener)
        if listener == "smtps":
            s.ehlo = s.command("EHLO client.test")
        else:
            r = s.command("EHLO client.test")
            assert r.code == 250, r
            s.ehlo = s.starttls(context)
        assert s.ehlo.code == 250, s.ehlo
        return s

    def raw_auth(self, user, password=None, source=None, listener="submission"):
        """A raw session over TLS that has authenticated with AUTH PLAIN."""
        s = self.raw_tls(source=source, listener=listener)
        r = s.auth_plain(user, PASSWORDS[user] if password is None else password)
        assert (r.code, r.enhanced) == (235, "2.7.0"), r
        return s

    def smtp_tls(self, source=None, timeout=10.0, listener=None, context=None):
        """A smtplib client over TLS that has said EHLO (STARTTLS, or
        SMTP_SSL on the "smtps" listener)."""
        port = self.ports[listener] if listener else self.port
        src = (source, 0) if source else None
        if listener == "smtps":
            client = smtplib.SMTP_SSL(self.host, port, local_hostname="client.test", timeout=timeout,
                                      source_address=src, context=context or client_context())
        else:
            client = smtplib.SMTP(self.host, port, local_hostname="client.test", timeout=timeout,
                                  source_address=src)
            client.ehlo()
            client.starttls(context=context or client_context())
        client.ehlo()
        return client

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


# --------------------------------------------------------------------------
# TLS, AUTH and the passwd-file

TLS_NAME = "mail.petrel.test"      # the server certificate's name

# login name -> password, for the passwd-file written by the passwd_file fixture
PASSWORDS = {
    f"alice@{LOCAL_DOMAIN}": "alice-Pa55word",
    f"bob@{LOCAL_DOMAIN}": "bob-Pa55word",
    f"carol@{LOCAL_DOMAIN}": "carol-Pa55word",
}


def b64(text):
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def scram_name(user):
    return user.replace("=", "=3D").replace(",", "=2C")


def scram_sha256_entry(password, iterations=4096, salt=b"petrel-test-salt"):
    """Dovecot's stored form: {SCRAM-SHA-256}iter,salt_b64,storedkey_b64,serverkey_b64."""
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    stored = hashlib.sha256(hmac.new(salted, b"Client Key", "sha256").digest()).digest()
    server = hmac.new(salted, b"Server Key", "sha256").digest()
    return "{SCRAM-SHA-256}" + ",".join([str(iterations), b64(salt), b64(stored), b64(server)])


def crypt3(password, setting):
    """crypt(3) of libxcrypt, as Dovecot's {CRYPT} schemes use it: setting
    "$6$salt$" (SHA512-CRYPT), "$y$j9T$salt" (yescrypt), "$2y$05$salt22chars"
    (BLF-CRYPT). An independent generator, so a passwd-file written by
    Dovecot's tools is what is tested, not petreld's own --hash-password."""
    import ctypes
    import ctypes.util
    lib = ctypes.CDLL(ctypes.util.find_library("crypt") or "libcrypt.so.1")
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    out = lib.crypt(password.encode(), setting.encode())
    assert out and not out.startswith(b"*"), f"crypt(3) refused the setting {setting!r}"
    return out.decode()


def argon2id(password, salt="petrel-test-salt"):
    """$argon2id$v=19$m=4096,t=2,p=1$... from the argon2 CLI (Debian package argon2)."""
    r = run_tool([tool("argon2"), salt, "-id", "-t", "2", "-m", "12", "-p", "1", "-e"],
                 stdin=password.encode(), timeout=30)
    assert r.returncode == 0, r.out
    return r.stdout.decode().strip()


def write_passwd_file(path, entries):
    """entries: {login: "{SCHEME}hash"}; writes Dovecot's passwd-file format."""
    with open(path, "w") as f:
        f.write("# petrel test users\n")
        for user, hashed in entries.items():
            f.write(f"{user}:{hashed}\n")
    return str(path)


class TlsFiles:
    """A test CA and a server certificate it signed, for TLS_NAME and 127.0.0.1."""

    def __init__(self, directory):
        d = str(directory)
        self.ca = os.path.join(d, "ca.pem")
        self.ca_key = os.path.join(d, "ca.key")
        self.cert = os.path.join(d, "cert.pem")
        self.key = os.path.join(d, "key.pem")
        csr = os.path.join(d, "server.csr")
        ext = os.path.join(d, "server.ext")
        with open(ext, "w") as f:
            f.write(f"subjectAltName=DNS:{TLS_NAME},IP:127.0.0.1\n"
                    "basicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth\n"
                    # testssl.sh counts a certificate without a CRL or OCSP URI as HIGH
                    "crlDistributionPoints=URI:http://ca.petrel.test/crl.pem\n")
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        # 90 days: testssl.sh rates a certificate expiring within 60 days MEDIUM/HIGH
        for argv in (
            ["openssl", "req", "-x509", *ec, "-days", "90", "-subj", "/CN=Petrel Test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-keyout", self.ca_key, "-out", self.ca],
            ["openssl", "req", *ec, "-subj", f"/CN={TLS_NAME}", "-keyout", self.key, "-out", csr],
            ["openssl", "x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
             "-CAcreateserial", "-days", "90", "-extfile", ext, "-out", self.cert],
        ):
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=30)
            assert r.returncode == 0, f"{' '.join(argv)}:\n{r.stdout.decode(errors='replace')}"


def client_context(ca=None, minimum=None, maximum=None):
    """A client TLS context: verifying the server against ca (and TLS_NAME)
    when given, otherwise accepting any certificate, as MTAs do for STARTTLS."""
    if ca:
        ctx = ssl.create_default_context(cafile=ca)
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if minimum:
        ctx.minimum_version = minimum
    if maximum:
        ctx.maximum_version = maximum
    return ctx


def received_tls_clause(version, cipher, bits):
    """What the Received header says of a TLS session, Postfix's form."""
    return f"(using {version} with cipher {cipher} ({bits}/{bits} bits))"


def unfold(header_value):
    """A header value with its folding undone (CRLF + WSP -> one space)."""
    return re.sub(r"\r?\n[ \t]+", " ", header_value)


def tool(name):
    """Path of a third-party tool, or skip the test naming the Debian package."""
    path = shutil.which(name)
    if path is None:
        pkg = {"testssl": "testssl.sh"}.get(name, name)
        pytest.skip(f"{name} is not installed (apt-get install {pkg}; scripts/install-deps.sh)")
    return path


def run_tool(argv, timeout=60, stdin=None):
    """Run a client tool with a bounded wait; returns CompletedProcess with
    .out = stdout + stderr as text."""
    r = subprocess.run(argv, input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    r.out = r.stdout.decode("utf-8", "replace")
    return r


def swaks(petrel, *args, listener=None, timeout=60):
    """swaks against petrel; a non-interactive run (stdin closed, bounded)."""
    port = petrel.ports[listener] if listener else petrel.port
    return run_tool([tool("swaks"), "--server", petrel.host, "--port", str(port),
                     "--helo", "client.test", "--timeout", "15", *args], timeout=timeout)


def gsasl_scram(petrel, user, password, listener=None, timeout=60):
    """GNU SASL's CLI: STARTTLS, then AUTH SCRAM-SHA-256 (then QUIT).
    --starttls: sends STARTTLS right after the greeting; without it gsasl
    2.2 looks for a "250-STARTTLS" line only, misses a last "250 STARTTLS"
    and goes on without TLS (and exits 0 with "Cannot find mechanism...").
    --no-cb: otherwise gsasl 2.2 fails SCRAM-SHA-256 (the non-PLUS
    mechanism) over TLS before sending anything. --x509-ca-file= (empty)
    accepts the test certificate. It exits 0 only after a 235, but also
    when no mechanism was tried: check its transcript for the 235."""
    port = petrel.ports[listener] if listener else petrel.port
    return run_tool([tool("gsasl"), "--client", f"--connect={petrel.host}:{port}", "--smtp",
                     "--starttls", "--x509-ca-file=", "--no-cb", "--mechanism=SCRAM-SHA-256",
                     "-a", user, "-p", password], timeout=timeout)


def message(subject="test", body="hello\r\n", headers=""):
    """A small RFC 5322 message, CRLF line ends, as bytes."""
    text = f"From: <sender@client.test>\r\nTo: <user@{LOCAL_DOMAIN}>\r\nSubject: {subject}\r\n{headers}\r\n{body}"
    return text.encode("utf-8")


QUEUED_AS = re.compile(r"queued as <?([A-Za-z0-9]{16})>?")


def queue_id(reply):
    m = QUEUED_AS.search(reply.text if isinstance(reply, Reply) else reply)
    return m.group(1) if m else None


class RssWatch(threading.Thread):
    """The largest resident size of petreld's current process from start()
    to stop(): the kernel's peak (VmHWM, reset at start), and VmRSS sampled
    every 0.1 s should the reset not be allowed."""

    def __init__(self, petrel):
        super().__init__(daemon=True)
        self.petrel = petrel
        self.peak_kib = 0
        self.done = threading.Event()
        self.hwm_reset = False

    def start(self):
        try:
            self.petrel.reset_rss_peak()
            self.hwm_reset = True
        except OSError:
            pass
        super().start()

    def run(self):
        while not self.done.is_set():
            try:
                self.peak_kib = max(self.peak_kib, self.petrel.rss_kib())
            except (OSError, AssertionError):
                pass
            self.done.wait(0.1)

    def stop(self):
        self.done.set()
        self.join(5)
        if self.hwm_reset:
            self.peak_kib = max(self.peak_kib, self.petrel.rss_peak_kib())
        return self.peak_kib / 1024
