"""A private Dovecot LMTP server as a delivery target of petreld (issue 5):
`dovecot -F -c CONF` with protocols = lmtp only, its base_dir, state_dir and
log in a scratch directory, LMTP on a UNIX socket and on a loopback port,
a static userdb (every user exists, uid nobody) and Maildirs at
MAIL/DOMAIN/USER.

    peer = DovecotPeer().start()        # skips without dovecot-lmtpd or root
    ... petreld --transport a.test=lmtp:unix:{peer.socket} --transport b.test=lmtp:127.0.0.1:{peer.port}
    peer.message_files("alice", "a.test")
    peer.stop()

Dovecot saves with LF line ends (mail_save_crlf = no) after the
Return-Path:, Delivered-To: and Received: headers LMTP adds.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile

import pytest

DOVECOT = "/usr/sbin/dovecot"
LMTP = "/usr/lib/dovecot/lmtp"


def dovecot_available():
    if not os.access(DOVECOT, os.X_OK):
        return "dovecot is not installed (apt-get install dovecot-core dovecot-lmtpd)"
    if not os.access(LMTP, os.X_OK):
        return "dovecot's LMTP server is not installed (apt-get install dovecot-lmtpd)"
    if os.geteuid() != 0:
        return "a private Dovecot needs root (its services switch users)"
    return None


class DovecotPeer:
    def __init__(self, host="127.0.0.1", port=None):
        self.host = host
        self.port = port
        self.dir = None
        self.proc = None

    @property
    def socket(self):
        return os.path.join(self.dir, "run", "lmtp")

    @property
    def log(self):
        return os.path.join(self.dir, "dovecot.log")

    def prepare(self):
        from harness import free_port
        reason = dovecot_available()
        if reason:
            pytest.skip(reason)
        if self.port is None:
            self.port = free_port(self.host)
        self.dir = tempfile.mkdtemp(prefix="petrel-dovecot-")   # short: the socket path must fit in sun_path
        os.chmod(self.dir, 0o755)
        for d in ("run", "state", "mail"):
            os.makedirs(os.path.join(self.dir, d))
        shutil.chown(os.path.join(self.dir, "mail"), "nobody", "nogroup")
        self.conf = os.path.join(self.dir, "dovecot.conf")
        mail = os.path.join(self.dir, "mail")
        with open(self.conf, "w") as f:
            f.write(f"""\
protocols = lmtp
base_dir = {self.dir}/run
state_dir = {self.dir}/state
log_path = {self.log}
hostname = dovecot.peer.test
ssl = no
listen = {self.host}
mail_location = maildir:{mail}/%d/%n
passdb {{
  driver = static
  args = nopassword=y
}}
userdb {{
  driver = static
  args = uid=65534 gid=65534 home={mail}/%d/%n
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
  inet_listener lmtp {{
    address = {self.host}
    port = {self.port}
  }}
}}
""")

    def start(self, timeout=15.0):
        from harness import wait_until
        self.prepare()
        with open(os.path.join(self.dir, "dovecot.stderr"), "wb") as err:
            self.proc = subprocess.Popen([DOVECOT, "-F", "-c", self.conf], stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=err, start_new_session=True)

        def ready():
            if self.proc.poll() is not None:
                return True
            if not os.path.exists(self.socket):
                return False
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as s:
                    s.settimeout(2)
                    return s.recv(512).startswith(b"220")
            except OSError:
                return False
        ok = wait_until(ready, timeout, interval=0.1)
        if not ok or self.proc.poll() is not None:
            text = self.log_text()
            self.stop()
            pytest.fail(f"dovecot did not start (exit {self.proc.returncode}):\n{text}")
        return self

    def stop(self, timeout=10.0):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)     # its own session: the master and its children
                self.proc.wait(5)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def log_text(self):
        out = []
        for name in ("dovecot.stderr", "dovecot.log"):
            try:
                with open(os.path.join(self.dir, name), "rb") as f:
                    out.append(f"--- {name} ---\n" + f.read().decode("utf-8", "replace"))
            except (OSError, TypeError):
                pass
        return "\n".join(out)

    def message_files(self, user, domain):
        new = os.path.join(self.dir, "mail", domain, user, "new")
        try:
            return sorted(os.path.join(new, n) for n in os.listdir(new))
        except FileNotFoundError:
            return []

    def messages(self, user, domain):
        out = []
        for p in self.message_files(user, domain):
            with open(p, "rb") as f:
                out.append(f.read())
        return out
