"""A private Postfix instance as the far side of petreld's relaying (issue 5):
its own config_directory, queue_directory and data_directory in a scratch
directory, smtpd on one loopback ADDR:PORT, and virtual(8) delivering every
recipient of the given domain into one Maildir, so that a test can read back
what arrived.

    peer = PostfixPeer("pf.test", "127.0.0.2").start()     # skips without postfix or root
    (chunking=False: Postfix does not offer CHUNKING, so petreld sends DATA)
    ... petreld --transport pf.test=smtp:[127.0.0.2]:{peer.port} ...
    peer.wait_for_messages(20, timeout=30)
    peer.stop()

The instance's own settings and Debian's master.cf with smtpd moved to our
port and no chroot come from private_postfix.py, which bench/bench.py uses
too. Postfix needs root: its daemons run as
the postfix user and virtual(8) writes as nobody, so the scratch directory is
made outside pytest's tmp_path (which is mode 0700) with mode 0755.

virtual(8) writes the message with LF line ends (Postfix keeps lines without
their terminator), after the Return-Path:, Delivered-To: and Received:
headers it and smtpd(8) add; everything else is byte for byte what its smtpd
received.
"""
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from private_postfix import instance_main_cf, instance_master_cf

POSTFIX = "/usr/sbin/postfix"


def postfix_available():
    """None when a private Postfix can run here, else why not."""
    if not os.access(POSTFIX, os.X_OK):
        return "postfix is not installed (apt-get install postfix; scripts/install-deps.sh)"
    if os.geteuid() != 0:
        return "a private Postfix instance needs root (its daemons switch to the postfix user)"
    if not os.path.exists("/etc/postfix/master.cf"):
        return "no /etc/postfix/master.cf to start from"
    return None


class PostfixPeer:
    def __init__(self, domain, host, port=None, chunking=True):
        self.domain = domain
        self.chunking = chunking          # False: no CHUNKING in the EHLO reply, so DATA it is
        self.host = host
        self.port = port
        self.dir = None
        self.started = False

    # -- files -------------------------------------------------------------
    @property
    def conf(self):
        return os.path.join(self.dir, "conf")

    @property
    def queue(self):
        return os.path.join(self.dir, "queue")

    @property
    def maildir(self):
        """The one Maildir every recipient of the domain goes to."""
        return os.path.join(self.dir, "mail", self.domain, "all")

    @property
    def maillog(self):
        return os.path.join(self.dir, "maillog")

    def prepare(self):
        from harness import free_port
        reason = postfix_available()
        if reason:
            pytest.skip(reason)
        if self.port is None:
            self.port = free_port(self.host)
        self.dir = tempfile.mkdtemp(prefix="petrel-postfix-")
        os.chmod(self.dir, 0o755)               # postfix and nobody traverse it
        data = os.path.join(self.dir, "data")
        mail = os.path.join(self.dir, "mail")
        for d in (self.conf, self.queue, data, mail):
            os.makedirs(d, exist_ok=True)
        shutil.chown(data, "postfix")
        shutil.chown(mail, "nobody", "nogroup")  # virtual(8) delivers as nobody
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(instance_main_cf(self.queue, data, "postfix.peer.test", "peer.test", "all", self.maillog,
                                     self.dir))
            f.write(f"""\
# no header rewriting or added headers for any client: what smtpd receives is stored
local_header_rewrite_clients =
smtpd_client_restrictions =
smtpd_helo_restrictions =
smtpd_sender_restrictions =
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions =
disable_dns_lookups = yes
smtp_dns_support_level = disabled
# {self.domain}: every recipient into one Maildir (a trailing / means Maildir)
virtual_mailbox_domains = {self.domain}
virtual_mailbox_base = {mail}
virtual_mailbox_maps = static:{self.domain}/all/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_mailbox_limit = 0
message_size_limit = 20971520
smtpd_discard_ehlo_keywords = {"" if self.chunking else "chunking"}
""")
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(instance_master_cf(f"{self.host}:{self.port}"))

    def _postfix(self, *args, timeout=60):
        return subprocess.run([POSTFIX, "-c", self.conf, *args], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)

    # -- process -----------------------------------------------------------
    def start(self, timeout=30.0):
        from harness import wait_until
        import socket
        self.prepare()
        r = self._postfix("start", timeout=timeout)
        self.started = True
        if r.returncode != 0:
            log = self.log_text()
            self.stop()
            pytest.fail(f"postfix -c {self.conf} start: exit {r.returncode}\n"
                        f"{r.stdout.decode(errors='replace')}\n{log}")

        def listening():
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as s:
                    s.settimeout(2)
                    return s.recv(512).startswith(b"220")
            except OSError:
                return False
        if not wait_until(listening, timeout, interval=0.2):
            log = self.log_text()
            self.stop()
            pytest.fail(f"Postfix did not answer on {self.host}:{self.port} within {timeout}s\n{log}")
        return self

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self, timeout=20.0):
        """postfix stop (bounded); then the master by its pid if it is still
        there; then the scratch directory goes."""
        if not self.started:
            return
        self.started = False
        pid = self.master_pid()
        try:
            self._postfix("stop", timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        if pid:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.1)
            if _alive(pid):
                os.kill(pid, 9)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- what arrived --------------------------------------------------------
    def log_text(self):
        try:
            with open(self.maillog, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return "(no maillog)"

    def message_files(self):
        new = os.path.join(self.maildir, "new")
        try:
            return sorted(os.path.join(new, n) for n in os.listdir(new))
        except FileNotFoundError:
            return []

    def messages(self):
        out = []
        for p in self.message_files():
            with open(p, "rb") as f:
                out.append(f.read())
        return out

    def queue_ids(self):
        """Messages still in Postfix's queue (postqueue -j would need postdrop;
        the queue files are enough: their names are the queue IDs)."""
        ids = []
        for sub in ("incoming", "active", "deferred", "hold", "maildrop"):
            for root, _dirs, files in os.walk(os.path.join(self.queue, sub)):
                ids.extend(files)
        return ids


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is not alive: read its state
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
