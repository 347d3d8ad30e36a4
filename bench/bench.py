#!/usr/bin/python3
"""Petrel vs Postfix vs smtp-sink, driven by Postfix's smtp-source.

Normally started by bench/run.sh (which puts the run in a private,
loopback-only network namespace).  For every server and scenario:

  1. a fresh scratch dir (spool, Maildir, config) and a fresh server process,
  2. wait for the 220 banner, warm up with a few messages,
  3. smtp-source -s S -m N -l SIZE: accept time = its wall time,
  4. end-to-end time = until N more files are in the Maildir (not for smtp-sink),
  5. peak memory of the server's process tree, sampled during 3 and 4,
  6. stop the server (SIGTERM / `postfix stop`), then leftovers by pid.

The T scenarios use STARTTLS, which smtp-source cannot: bench/tls_load.cpp
(built here on demand with g++) is their client, and only Petrel and Postfix
run them, both with the same certificate (made once per run with the openssl
command) and equivalent TLS settings.  T1 counts full TLS handshakes per
second (connect, EHLO, STARTTLS, handshake, EHLO, QUIT); T2 sends 4 KiB
messages over STARTTLS sessions, 10 per connection, and is measured like A.

The R scenarios measure relaying: smtp-source sends mail for a remote
domain (relay.bench) to Petrel or Postfix, each allowed to relay for
127.0.0.0/8 and routing relay.bench to an smtp-sink on 127.0.0.2 without
DNS.  That smtp-sink runs with -c, whose running counters (sessions ended,
messages received) are read from its stdout: e2e = until it has all N
messages; the table also gives the connections it saw.

B1-backlog (only when named in --scenarios; once per server) measures
memory that should not grow with the queue: --backlog N messages (default
1,000,000) of 2 KiB for 1,000 domains whose MX hosts are 10 sites that never
take mail (tarpits on 127.0.0.10-14:25, `smtp-sink -r RCPT` on
127.0.0.15-19:25; Petrel finds them through a dnsmasq zone, Postfix through
an equivalent transport map).  Reported per phase (load, backlog standing,
restart on the same queue): peak memory, then the time from the restart
until a new message for an accepting destination (a counting smtp-sink on
127.0.0.30) is there, and how long listing the first 100 entries takes.

Prints a markdown table (also written to bench/results/) with Petrel's ratio
to each peer.  See docs/performance.md.
"""
import argparse
import datetime
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from private_postfix import instance_main_cf, instance_master_cf  # noqa: E402  (shared with the test peer)
HOST = "127.0.0.1"
RELAY_HOST = "127.0.0.2"     # the R scenarios' next hop: another loopback address
RELAY_DOMAIN = "relay.bench"
RELAY_RCPT = f"x@{RELAY_DOMAIN}"
DOMAIN = "bench.test"
RCPT = f"x@{DOMAIN}"
SMTP_SOURCE = "/usr/sbin/smtp-source"
SMTP_SINK = "/usr/sbin/smtp-sink"
TLS_LOAD_SRC = os.path.join(HERE, "tls_load.cpp")

# name: (sessions, message size, N, N with --quick)
SCENARIOS = {
    "A-p20-4k": (20, 4096, 20000, 2000),
    "B-s1-4k": (1, 4096, 2000, 200),
    "C-p20-100k": (20, 102400, 2000, 200),
    "T1-tls-handshake": (20, 0, 2000, 200),
    "T2-tls-p20-4k": (20, 4096, 10000, 1000),
    "R1-relay-p20-4k": (20, 4096, 10000, 1000),
    "R2-relay-p20-4k-r5": (20, 4096, 4000, 400),
    "R3-relay-drain-4k": (20, 4096, 10000, 1000),
    "B1-backlog": (20, 2048, 1000000, 100000),
    "I1-inject": (4, 20480, 100000, 10000),
    "S1-shaping": (20, 1024, 4000, 4000),
}
# B1 (a standing backlog, measure_backlog) takes long: it runs only when
# named in --scenarios, once per server whatever --repeat says.
BACKLOG_SCENARIOS = {"B1-backlog"}
# I1 (bulk injection, DKIM-signed: inject_bench.py) also runs only when
# named: Petrel through its HTTP API, Postfix with OpenDKIM.
INJECT_SCENARIOS = {"I1-inject"}
# S1 (shaping accuracy at the receiver: shaping_bench.py), also only when named.
SHAPING_SCENARIOS = {"S1-shaping"}
ON_DEMAND = BACKLOG_SCENARIOS | INJECT_SCENARIOS | SHAPING_SCENARIOS
DEFAULT_SCENARIOS = [sc for sc in SCENARIOS if sc not in ON_DEMAND]
# The STARTTLS scenarios, driven by tls_load: its mode, and messages per
# connection.  smtp-sink has no TLS, so they skip it.
TLS_SCENARIOS = {
    "T1-tls-handshake": ("handshake", 0),
    "T2-tls-p20-4k": ("messages", 10),
}
# The relay scenarios: recipients per message (smtp-source -r; all at
# relay.bench).  Petrel and Postfix relay them to a counting smtp-sink; the
# "sink" server takes the same load directly (the ceiling of client + sink).
RELAY_SCENARIOS = {
    "R1-relay-p20-4k": 1,
    "R2-relay-p20-4k-r5": 5,
    "R3-relay-drain-4k": 1,
}
# R3 times the relay leg alone: N messages are queued while the next hop is
# down, then the sink starts and the server is told to go (Petrel: `petrel
# queue flush`; Postfix: `postqueue -f`); e2e = from that moment until the
# sink has all N.
DRAIN_SCENARIOS = {"R3-relay-drain-4k"}
SERVERS = ["petrel", "postfix", "sink"]
PEERS = ["postfix", "sink"]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def free_port(host=HOST):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------
# processes and memory

def process_tree(root):
    """root and all its descendants (pids), from one scan of /proc."""
    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    parent[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    tree, todo = [], [root]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(c for c, pp in parent.items() if pp == p)
    return tree


def status_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


CLK_TCK = os.sysconf("SC_CLK_TCK")


def tree_cpu_s(root):
    """CPU seconds (user + system) used so far by root's process tree: each
    live process's own time plus what its reaped children used (cutime,
    cstime), so that Postfix's smtpd processes that came and went count too."""
    ticks = 0
    for p in process_tree(root):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += sum(int(x) for x in fields[11:15])
        except (OSError, ValueError, IndexError):
            pass
    return ticks / CLK_TCK


class MemorySampler(threading.Thread):
    """Peak memory of a process tree: the largest sum over its processes of
    VmHWM (each process's own peak RSS) seen at any sample.  For a single
    process (petreld, smtp-sink) that is exactly its VmHWM."""

    def __init__(self, root, interval=0.2):
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.peak_kib = 0
        self.pids = set()
        self.done = threading.Event()

    def sample(self):
        tree = process_tree(self.root)
        self.pids.update(tree)
        self.peak_kib = max(self.peak_kib, sum(status_kib(p, "VmHWM") for p in tree))

    def run(self):
        while not self.done.is_set():
            self.sample()
            self.done.wait(self.interval)

    def finish(self):
        self.sample()
        self.done.set()
        self.join(5)
        return self.peak_kib / 1024.0


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def banner(port, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with status {proc.returncode} before listening")
        try:
            with socket.create_connection((HOST, port), timeout=2) as s:
                s.settimeout(5)
                line = s.recv(1024).decode(errors="replace").strip()
                if line.startswith("220"):
                    s.sendall(b"QUIT\r\n")
                    return line
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"no 220 banner on port {port} within {timeout} s")


def count_maildir(path):
    n = 0
    for root, dirs, files in os.walk(path):
        if os.path.basename(root) in ("new", "cur"):
            n += len(files)
            dirs[:] = []
    return n


# --------------------------------------------------------------------------
# the servers: each writes its config under a scratch dir and says how to
# start, stop and count it

class Server:
    name = "?"
    counts_delivery = True
    stop_argv = None

    def __init__(self, scratch, args, tls=False, relay=None):
        self.dir = scratch
        self.args = args
        self.tls = tls        # STARTTLS on, with args.tls_cert / args.tls_key
        self.relay = relay    # (host, port): relay RELAY_DOMAIN there, trusting 127.0.0.0/8
        self.port = free_port()
        self.maildir = os.path.join(scratch, "maildir")
        self.proc = None
        self.prepare()

    def prepare(self):
        pass

    def start(self):
        self.logf = open(os.path.join(self.dir, "server.log"), "ab")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=self.logf, cwd=self.dir, start_new_session=True)
        return banner(self.port, self.proc, self.args.start_timeout)

    def delivered(self):
        return count_maildir(self.maildir)

    def stop(self):
        known = set(process_tree(self.proc.pid))
        if self.proc.poll() is None:
            if self.stop_argv:
                subprocess.run(self.stop_argv, stdout=self.logf, stderr=self.logf, timeout=30)
            else:
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        left = [p for p in known if alive(p)]
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for p in left:
                try:
                    os.kill(p, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and any(alive(p) for p in left):
                time.sleep(0.1)
            left = [p for p in left if alive(p)]
        self.logf.close()
        return self.proc.returncode

    def log_tail(self, n=1500):
        try:
            with open(os.path.join(self.dir, "server.log"), "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except OSError:
            return ""


class Petrel(Server):
    name = "petrel"

    def prepare(self):
        self.argv = [self.args.petreld, "--listen", f"{HOST}:{self.port}",
                     "--spool", os.path.join(self.dir, "spool"), "--maildir", self.maildir,
                     "--local-domain", DOMAIN, "--hostname", "petrel.bench.local",
                     "--max-message-size", str(50 * 1024 * 1024), "--log-level", "warn"] + \
                    self.args.petreld_args.split()
        if "--auth-checks" not in self.argv:  # bench/auth_checks.sh measures them, with a DNS zone
            self.argv.append("--no-auth-checks")
        self.note = "Maildir delivery by its own queue manager; see docs/performance.md"
        if self.tls:
            self.argv += ["--tls-cert", self.args.tls_cert, "--tls-key", self.args.tls_key]
            self.note += ("; T scenarios: `--tls-cert/--tls-key` with its built-in TLS policy "
                          "(TLS ≥ 1.2, server cipher order, ECDHE+AEAD only, groups X25519:P-256:P-384, "
                          "session cache and tickets on)")
        if self.relay:
            h, p = self.relay
            self.argv += ["--trusted-network", "127.0.0.0/8",
                          "--transport", f"{RELAY_DOMAIN}=smtp:[{h}]:{p}"]
            self.note += (f"; R scenarios: `--trusted-network 127.0.0.0/8 --transport "
                          f"{RELAY_DOMAIN}=smtp:[{h}]:PORT`, delivery defaults "
                          "(destination_concurrency 20; one message per connection, no connection cache)")


class Postfix(Server):
    name = "postfix"

    def prepare(self):
        d = self.dir
        conf, queue, data = (os.path.join(d, x) for x in ("conf", "queue", "data"))
        for x in (conf, queue, data, self.maildir):
            os.makedirs(x, exist_ok=True)
        shutil.chown(data, "postfix")
        shutil.chown(self.maildir, "nobody", "nogroup")     # virtual(8) delivers as nobody
        with open(os.path.join(conf, "main.cf"), "w") as f:
            f.write(instance_main_cf(queue, data, "postfix.bench.local", "bench.local", HOST, f"{d}/maillog", d))
            f.write(f"""\
# {DOMAIN} is the final destination: every recipient goes to one Maildir
# ("trailing /" = Maildir) below {self.maildir}, written by virtual(8)
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_base = {self.maildir}
virtual_mailbox_maps = static:{DOMAIN}/x/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
""")
            if self.tls:
                # Opportunistic STARTTLS as on port 25, with the same floor as
                # Petrel (TLS 1.2), server cipher order, and Postfix's defaults
                # otherwise (ciphers "medium", i.e. OpenSSL's TLS 1.3 suites;
                # X25519 first).  No session cache database: tls_load never
                # resumes, and tickets (keys from tlsmgr) stay on.
                f.write(f"""\
smtpd_tls_security_level = may
smtpd_tls_cert_file = {self.args.tls_cert}
smtpd_tls_key_file = {self.args.tls_key}
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2
tls_preempt_cipherlist = yes
smtpd_tls_loglevel = 0
smtpd_tls_received_header = yes
smtpd_tls_session_cache_database =
""")
            if self.relay:
                # Relaying for the trusted network (smtpd_relay_restrictions'
                # default permit_mynetworks), RELAY_DOMAIN routed to the sink
                # without DNS; queue, fsync, concurrency and connection cache
                # (smtp_connection_cache_on_demand = yes) at their defaults.
                h, p = self.relay
                f.write(f"""\
transport_maps = inline:{{ {RELAY_DOMAIN}=smtp:[{h}]:{p} }}
smtp_tls_security_level = none
""")
        with open(os.path.join(conf, "master.cf"), "w") as f:
            f.write(instance_master_cf(str(self.port)))
        r = subprocess.run(["postfix", "-c", conf, "check"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise RuntimeError("postfix check: " + r.stdout)
        self.argv = ["postfix", "-c", conf, "start-fg"]
        self.stop_argv = ["postfix", "-c", conf, "stop"]
        self.note = ("final destination for bench.test via virtual(8) into one Maildir, "
                     "default durability (cleanup fsyncs the queue file before 250, "
                     "virtual fsyncs the Maildir file), default process limits")
        if self.tls:
            self.note += ("; T scenarios: smtpd_tls_security_level = may, same cert/key, "
                          "smtpd_tls_(mandatory_)protocols = >=TLSv1.2, tls_preempt_cipherlist = yes, "
                          "smtpd_tls_loglevel = 0, smtpd_tls_received_header = yes, "
                          "no session cache database (tickets on), tlsmgr as in Debian's master.cf")
        if self.relay:
            self.note += (f"; R scenarios: mynetworks = 127.0.0.0/8 (default smtpd_relay_restrictions), "
                          f"transport_maps = inline:{{ {RELAY_DOMAIN}=smtp:[{self.relay[0]}]:PORT }}, "
                          "smtp_tls_security_level = none, default queue and fsync, "
                          "default_destination_concurrency_limit 20 (initial 5), "
                          "smtp_connection_cache_on_demand = yes (default)")


class Sink(Server):
    name = "sink"
    counts_delivery = False

    def prepare(self):
        self.argv = [SMTP_SINK, "-u", "nobody", f"{HOST}:{self.port}", "1024"]
        self.note = "smtp-sink: answers 250 and discards; the no-storage ceiling"


KINDS = {"petrel": Petrel, "postfix": Postfix, "sink": Sink}


class RelaySink:
    """The next hop of the R scenarios: smtp-sink on RELAY_HOST with -c, whose
    running counters ("sess=S quit=Q mesg=M", one update per ended session,
    QUIT and received message, separated by CR) a thread reads from its
    stdout.  sess counts ended sessions, i.e. the connections it has seen
    once the relaying server has closed them; mesg counts transactions."""

    def __init__(self, scratch, port=None, host=RELAY_HOST):
        self.host = host
        self.port = port or free_port(host)
        self.sess = self.quit = self.mesg = 0
        self.logf = open(os.path.join(scratch, f"relay-sink-{host}.log"), "ab")
        self.proc = subprocess.Popen([SMTP_SINK, "-c", "-u", "nobody", f"{host}:{self.port}", "1024"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.logf,
                                     start_new_session=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection((host, self.port), timeout=2) as s:
                    s.settimeout(5)
                    if s.recv(1024).startswith(b"220"):
                        s.sendall(b"QUIT\r\n")
                        s.recv(1024)
                        break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("relay smtp-sink did not start")
                time.sleep(0.05)
        # the probe above is one session: wait until it is counted
        while self.sess < 1 and time.monotonic() < deadline:
            time.sleep(0.01)

    def _read(self):
        buf = b""
        pat = re.compile(rb"sess=(\d+) quit=(\d+) mesg=(\d+)")
        while True:
            chunk = self.proc.stdout.read1(65536)
            if not chunk:
                return
            buf += chunk
            *done, buf = buf.split(b"\r")
            for rec in reversed(done):
                m = pat.search(rec)
                if m:
                    self.sess, self.quit, self.mesg = (int(x) for x in m.groups())
                    break

    def counters(self):
        return self.sess, self.mesg

    def cpu_s(self):
        return tree_cpu_s(self.proc.pid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.reader.join(5)
        self.logf.close()


# --------------------------------------------------------------------------
# one measurement

def smtp_source(port, sessions, size, count, timeout, rcpt=RCPT, rcpts=1, sender="a@client.test"):
    # bench/auth_checks.sh sends one DKIM-signed message file from a sender
    # whose domain its DNS zone describes.
    sender = os.environ.get("BENCH_SENDER", sender)
    argv = [SMTP_SOURCE, "-c", "-s", str(sessions), "-l", str(size), "-m", str(count),
            "-M", "client.test", "-f", sender, "-t", rcpt, f"{HOST}:{port}"]
    if os.environ.get("BENCH_MESSAGE_FILE"):   # instead of -l SIZE, which smtp-source refuses with -F
        at = argv.index("-l")
        argv[at:at + 2] = ["-F", os.environ["BENCH_MESSAGE_FILE"]]
    if rcpts > 1:       # smtp-source then sends 1x@..., 2x@..., ...: distinct, same domain
        argv[1:1] = ["-r", str(rcpts)]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = p.communicate(timeout=timeout)
        capped = False
    except subprocess.TimeoutExpired:
        p.terminate()
        out, _ = p.communicate(timeout=10)
        capped = True
    elapsed = time.monotonic() - t0
    text = out.decode(errors="replace")
    counts = re.findall(r"(\d+)\r", text)
    accepted = count if (p.returncode == 0 and not capped) else int(counts[-1]) if counts else 0
    problem = None
    if p.returncode != 0 and not capped:
        lines = [ln for ln in text.replace("\r", "\n").splitlines() if ln.strip() and not ln.strip().isdigit()]
        problem = f"smtp-source exit {p.returncode}: {(lines[-1] if lines else '')[:150]}"
    elif capped:
        problem = f"load stopped at the {timeout:.0f} s cap"
    return accepted, elapsed, problem


def build_tls_load(args):
    """The STARTTLS load generator: args.tls_load if given, else
    bench/tls_load.cpp compiled with g++ into a cache under /tmp, keyed by a
    hash of the source (about 15 s the first time)."""
    if args.tls_load:
        return args.tls_load
    with open(TLS_LOAD_SRC, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    cache = os.path.join(tempfile.gettempdir(), "petrel-bench-tools")
    exe = os.path.join(cache, f"tls_load-{digest}")
    if not os.access(exe, os.X_OK):
        os.makedirs(cache, exist_ok=True)
        log(f"building {exe} ...")
        tmp = exe + f".{os.getpid()}"
        subprocess.run(["g++", "-O2", "-std=c++20", TLS_LOAD_SRC, "-o", tmp, "-lssl", "-lcrypto",
                        "-lboost_system", "-pthread"], check=True)
        os.replace(tmp, exe)
    return exe


def make_certificate(scratch, key_type):
    """One self-signed certificate for the whole run, given to every server."""
    d = os.path.join(scratch, "tls")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if key_type == "ec" else \
        ["-newkey", "rsa:2048"]
    subprocess.run(["openssl", "req", "-x509", *newkey, "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=bench.local", "-addext", "subjectAltName=DNS:bench.local"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.chmod(key, 0o600)       # read as root by petreld and by Postfix's smtpd before it drops privileges
    os.chmod(cert, 0o644)
    return cert, key


def tls_load(args, port, mode, sessions, size, count, per_session, timeout):
    """Runs tls_load; returns (its JSON result or {}, wall time, problem)."""
    argv = [args.tls_load_exe, mode, "-c", str(sessions), "-n", str(count), "-l", str(size or 4096),
            "-m", str(per_session or 1), "-t", "30", "--max-seconds", str(timeout),
            "--helo", "client.test", "--from", "a@client.test", "--to", RCPT, f"{HOST}:{port}"]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=timeout + 60)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate(timeout=10)
    elapsed = time.monotonic() - t0
    try:
        r = json.loads(out.decode(errors="replace").strip().splitlines()[-1])
    except (ValueError, IndexError):
        r = {}
    problem = None
    if p.returncode != 0 or not r.get("ok"):
        problem = f"tls_load exit {p.returncode}: {(r.get('error') or err.decode(errors='replace').strip())[:200]}"
    return r, elapsed, problem


def mount_fresh_fs(d, size_gib, inode_bytes=None):
    """A new ext4 (with its journal, as on a real server) on a loop device at d.
    Every server and run starts from the same empty file system, and what one
    run leaves behind (in particular inodes freed by a clean-up, which ext4
    avoids reusing for a while) cannot slow the next."""
    img = d + ".img"
    with open(img, "wb") as f:
        f.truncate(size_gib << 30)
    subprocess.run(["mkfs.ext4", "-q", "-F"] + (["-i", str(inode_bytes)] if inode_bytes else []) + [img],
                   check=True)
    # Direct I/O: the loop device writes through to the disk instead of
    # keeping a second copy in the page cache, as a real disk would.
    dev = subprocess.run(["losetup", "--direct-io=on", "--show", "-f", img], check=True,
                         stdout=subprocess.PIPE, text=True).stdout.strip()
    subprocess.run(["mount", dev, d], check=True)
    os.chmod(d, 0o755)
    return img, dev


def unmount_fs(d, fs):
    img, dev = fs
    subprocess.run(["umount", d], check=False)
    subprocess.run(["losetup", "-d", dev], check=False)
    os.unlink(img)


def queued_files(queue_dir, subdirs=("incoming", "active", "deferred", "maildrop")):
    return {sd: sum(len(f) for _, _, f in os.walk(os.path.join(queue_dir, sd))) for sd in subdirs}


def petrel_queue_counts(args, d):
    """(queued, being attempted) from `petrel queue sites`'s summary line."""
    r = subprocess.run([os.path.join(os.path.dirname(args.petreld), "petrel"), "queue", "--spool",
                        os.path.join(d, "spool"), "sites"], capture_output=True, text=True, timeout=30)
    m = re.search(r"(\d+) messages queued, (\d+) being attempted", r.stdout)
    return (int(m.group(1)), int(m.group(2))) if m else (-1, -1)


def measure_drain(kind, scenario, args, scratch):
    """R3: queue N messages while the next hop is down, then start the sink
    and let the server go; times the relay leg alone."""
    sessions, size, n, n_quick = SCENARIOS[scenario]
    n = n_quick if args.quick else n
    res = {"server": kind, "scenario": scenario, "n": n, "sessions": sessions, "size": size}
    if kind == "sink":
        res["problem"] = "not applicable"
        return res
    d = tempfile.mkdtemp(prefix=f"{kind}-{scenario}.", dir=scratch)
    os.chmod(d, 0o755)
    img = mount_fresh_fs(d, args.fs_gib) if args.loop_fs else None
    port = free_port(RELAY_HOST)        # nobody listens there yet
    relay = None
    sess0 = 0
    srv = KINDS[kind](d, args, relay=(RELAY_HOST, port))
    res["note"] = srv.note
    if kind == "petrel":
        srv.argv += ["--retry-intervals", "1s"]
    try:
        srv.start()
        accepted, t_acc, problem = smtp_source(srv.port, sessions, size, n, args.max_seconds, RELAY_RCPT)
        res.update(accepted=accepted, accept_s=t_acc, accept_rate=accepted / t_acc, problem=problem)
        if kind == "postfix":   # wait until every message sits in the deferred queue
            queue = os.path.join(d, "queue")
            deadline = time.monotonic() + 120
            while queued_files(queue)["deferred"] < accepted and time.monotonic() < deadline:
                time.sleep(0.2)
            res["queued_before"] = queued_files(queue)
            relay = RelaySink(d, port)
            sess0, base = relay.counters()
            sink_cpu0 = relay.cpu_s()
            mem = MemorySampler(srv.proc.pid)
            mem.start()
            cpu0 = tree_cpu_s(srv.proc.pid)
            t0 = time.monotonic()
            subprocess.run(["postqueue", "-c", os.path.join(d, "conf"), "-f"], check=True,
                           stdout=srv.logf, stderr=srv.logf)
        else:   # wait until every message has been tried (and its site found down)
            deadline = time.monotonic() + 120
            while petrel_queue_counts(args, d) != (accepted, 0) and time.monotonic() < deadline:
                time.sleep(0.2)
            res["queued_before"] = {"queued": petrel_queue_counts(args, d)[0]}
            relay = RelaySink(d, port)
            sess0, base = relay.counters()
            sink_cpu0 = relay.cpu_s()
            mem = MemorySampler(srv.proc.pid)
            mem.start()
            cpu0 = tree_cpu_s(srv.proc.pid)
            t0 = time.monotonic()
            subprocess.run([os.path.join(os.path.dirname(args.petreld), "petrel"), "queue", "--spool",
                            os.path.join(d, "spool"), "flush"], check=True, stdout=srv.logf, stderr=srv.logf)
        last, t_last = 0, time.monotonic()
        deadline = time.monotonic() + args.max_drain
        while last < accepted and time.monotonic() < deadline:
            time.sleep(0.05)
            c = relay.counters()[1] - base
            if c != last:
                last, t_last = c, time.monotonic()
        res["delivered"] = last
        if accepted and last >= accepted:
            res["e2e_s"] = t_last - t0
            res["e2e_rate"] = accepted / res["e2e_s"]
        else:
            res["problem"] = f"only {last}/{accepted} at the relay sink {args.max_drain:.0f} s after the start"
        res["peak_mib"] = mem.finish()
        if accepted:
            res["cpu_ms"] = 1000.0 * (tree_cpu_s(srv.proc.pid) - cpu0) / accepted
            res["sink_cpu_ms"] = 1000.0 * (relay.cpu_s() - sink_cpu0) / accepted
    except Exception as e:  # noqa: BLE001
        res["problem"] = f"{type(e).__name__}: {e}; log: {srv.log_tail(300)!r}"
    finally:
        if srv.proc is not None and srv.proc.poll() is None:
            srv.stop()
        if relay:
            time.sleep(0.3)
            sess, mesg = relay.counters()
            res["relay_conns"] = sess - sess0   # less the start-up probe
            res["relay_msgs"] = mesg
            relay.stop()
        if img:
            unmount_fs(d, img)
    return res


# --------------------------------------------------------------------------
# B1: a standing backlog (bounded memory with a large queue)
#
# N messages of 2 KiB for 1,000 domains whose mail goes to 10 sites that
# never take it: five tarpits (accept TCP, never greet) and five that
# answer 450 to every RCPT.  Measured: the server's peak memory while the
# backlog is injected, while it stands, and through a restart on the same
# queue; how long `petrel queue list --limit 100` (Postfix: the first 100
# entries of `postqueue -p`) takes; and how long after a restart a new
# message for a destination that accepts (a counting smtp-sink) is there.

BACKLOG_DOMAINS = 1000
BACKLOG_SITES = 10
TARPIT_SITES = range(0, 5)      # site k answers on 127.0.0.(10 + k):25
DEFER_SITES = range(5, 10)
ACCEPT_HOST = "127.0.0.30"
ACCEPT_DOMAIN = "accept.backlog.test"
LOCAL_RCPT = f"local@{DOMAIN}"


def backlog_domain(i):
    return f"d{i}.backlog.test"


def site_address(k):
    return f"127.0.0.{10 + k}"


class Tarpits(threading.Thread):
    """Listeners on the tarpit sites' addresses, port 25, that accept every
    connection and then neither send nor read anything until stop()."""

    def __init__(self, hosts, port=25):
        super().__init__(daemon=True)
        import selectors
        self.sel = selectors.DefaultSelector()
        self.listeners, self.held = [], []
        for h in hosts:
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((h, port))
            s.listen(4096)
            s.setblocking(False)
            self.sel.register(s, 1)
            self.listeners.append(s)
        self.stopping = False
        self.start()

    def run(self):
        while not self.stopping:
            for key, _ in self.sel.select(0.2):
                try:
                    c, _ = key.fileobj.accept()
                    self.held.append(c)
                except OSError:
                    pass

    def connections(self):
        return len(self.held)

    def stop(self):
        self.stopping = True
        self.join(5)
        for s in self.listeners + self.held:
            s.close()
        self.sel.close()


class BacklogWorld:
    """What B1's mail is for: a dnsmasq zone (for Petrel) and an equivalent
    Postfix transport map, the tarpits, the deferring sinks (smtp-sink -r
    RCPT: 450 4.3.0) and the accepting, counting sink of ACCEPT_DOMAIN."""

    def __init__(self, scratch):
        from dns_zone import DnsZone    # tests/integration, on sys.path
        self.zone = DnsZone(ttl=3600)
        for i in range(BACKLOG_DOMAINS):
            self.zone.mx(backlog_domain(i), f"mx{i % BACKLOG_SITES}.backlog.test", 10)
        for k in range(BACKLOG_SITES):
            self.zone.host(f"mx{k}.backlog.test", site_address(k))
        self.zone.mx(ACCEPT_DOMAIN, "mx-accept.backlog.test", 10).host("mx-accept.backlog.test", ACCEPT_HOST)
        self.zone.start()
        self.tarpits = self.sinks = self.accept = None
        try:
            self.tarpits = Tarpits([site_address(k) for k in TARPIT_SITES])
            self.logf = open(os.path.join(scratch, "defer-sinks.log"), "ab")
            self.sinks = [subprocess.Popen([SMTP_SINK, "-r", "RCPT", "-u", "nobody", f"{site_address(k)}:25", "1024"],
                                           stdin=subprocess.DEVNULL, stdout=self.logf, stderr=self.logf,
                                           start_new_session=True) for k in DEFER_SITES]
            self.accept = RelaySink(scratch, 25, host=ACCEPT_HOST)
        except BaseException:
            self.stop()
            raise

    def postfix_transport(self):
        lines = [f"{backlog_domain(i)} smtp:[{site_address(i % BACKLOG_SITES)}]:25" for i in range(BACKLOG_DOMAINS)]
        lines.append(f"{ACCEPT_DOMAIN} smtp:[{ACCEPT_HOST}]:25")
        return "\n".join(lines) + "\n"

    def stop(self):
        if self.accept:
            self.accept.stop()
        for p in self.sinks or []:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        if self.sinks is not None:
            self.logf.close()
        if self.tarpits:
            self.tarpits.stop()
        self.zone.stop()


def configure_backlog(srv, world):
    """Routes B1's domains: Petrel by MX through the zone (one site per MX
    host, as in real life), Postfix by an equivalent transport map (it
    cannot be pointed at another DNS server); both may relay for the
    loopback, neither does TLS or MTA-STS with these sites."""
    if srv.name == "petrel":
        path = os.path.join(srv.dir, "backlog.toml")
        with open(path, "w") as f:
            f.write(f'[dns]\nresolver = "{world.zone.upstream}"\n\n[delivery]\nmta_sts = false\n')
        srv.argv += ["--config", path, "--trusted-network", "127.0.0.0/8"]
        srv.note += ("; B1: `--trusted-network 127.0.0.0/8`, the zone as `[dns] resolver`, "
                     "`[delivery] mta_sts = false`, [queue] and retries at their defaults")
    else:
        conf = os.path.join(srv.dir, "conf")
        with open(os.path.join(conf, "transport"), "w") as f:
            f.write(world.postfix_transport())
        with open(os.path.join(conf, "main.cf"), "a") as f:
            f.write(f"transport_maps = texthash:{conf}/transport\nsmtp_tls_security_level = none\n")
        srv.note += ("; B1: mynetworks = 127.0.0.0/8, `transport_maps = texthash:` with each domain's site "
                     "as `smtp:[127.0.0.x]:25`, smtp_tls_security_level = none, queue and retries at their defaults")


def pss_kib(pid):
    """Proportional set size: shared pages divided among their users."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class PhaseSampler(threading.Thread):
    """Peak memory of a process tree per phase: at the start of a phase the
    kernel's peak-RSS counter of every process is reset (`echo 5 >
    /proc/PID/clear_refs`), then Σ VmHWM over the tree is sampled every
    0.2 s; a process that starts later brings its own. Σ Pss (shared pages
    divided among the processes that share them, so Postfix's libraries
    count once) is sampled every second: `pss_peaks`, the largest seen."""

    def __init__(self):
        super().__init__(daemon=True)
        self.lock = threading.Lock()
        self.root = None
        self.phase = None
        self.peaks = {}
        self.pss_peaks = {}
        self.ticks = 0
        self.done = threading.Event()
        self.start()

    def switch(self, phase, root=None):
        with self.lock:
            self.root = root
            self.phase = phase
            if root is not None:
                for p in process_tree(root):
                    try:
                        with open(f"/proc/{p}/clear_refs", "w") as f:
                            f.write("5")
                    except OSError:
                        pass
            self._sample()

    def _sample(self):
        if self.root is None or self.phase is None:
            return
        tree = process_tree(self.root)
        total = sum(status_kib(p, "VmHWM") for p in tree)
        self.peaks[self.phase] = max(self.peaks.get(self.phase, 0), total / 1024.0)
        self.ticks += 1
        if self.ticks % 5 == 1:
            pss = sum(pss_kib(p) for p in tree)
            self.pss_peaks[self.phase] = max(self.pss_peaks.get(self.phase, 0), pss / 1024.0)

    def run(self):
        while not self.done.is_set():
            with self.lock:
                self._sample()
            self.done.wait(0.2)

    def finish(self):
        with self.lock:
            self._sample()
            self.root = None
        self.done.set()
        self.join(5)
        return self.peaks


def inject_backlog(port, n, size, sessions, timeout):
    """n messages, spread evenly over the B1 domains (one smtp-source run
    per domain, `sessions` runs at once, each one session with one message
    per connection). Returns (accepted, seconds, problem)."""
    per, extra = divmod(n, BACKLOG_DOMAINS)
    jobs = [(backlog_domain(i), per + (1 if i < extra else 0)) for i in range(BACKLOG_DOMAINS)]
    jobs = [j for j in jobs if j[1] > 0]
    lock = threading.Lock()
    state = {"next": 0, "accepted": 0, "problems": []}
    t0 = time.monotonic()

    def worker():
        while True:
            with lock:
                if state["next"] >= len(jobs) or time.monotonic() - t0 > timeout:
                    return
                domain, count = jobs[state["next"]]
                state["next"] += 1
            accepted, _, problem = smtp_source(port, 1, size, count, max(1.0, timeout - (time.monotonic() - t0)),
                                               rcpt=f"x@{domain}")
            with lock:
                state["accepted"] += accepted
                if problem:
                    state["problems"].append(f"{domain}: {problem}")

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    problems = state["problems"]
    problem = None
    if problems:
        problem = f"{len(problems)} smtp-source run(s) failed, first: {problems[0]}"
    elif state["accepted"] < n:
        problem = f"load stopped at the {timeout:.0f} s cap"
    return state["accepted"], elapsed, problem


def send_one(port, rcpt, subject):
    import smtplib
    with smtplib.SMTP(HOST, port, local_hostname="client.test", timeout=60) as c:
        c.sendmail("a@client.test", [rcpt], f"Subject: {subject}\r\n\r\n{subject}\r\n".encode())


def wait_for(predicate, timeout, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        time.sleep(interval)
    return None


def first_delivery_s(srv, world, t0, timeout=120):
    """One message for ACCEPT_DOMAIN, sent now: seconds from t0 until the
    accepting sink has it (None: not within timeout)."""
    before = world.accept.counters()[1]
    send_one(srv.port, f"x@{ACCEPT_DOMAIN}", "first after restart")
    t = wait_for(lambda: world.accept.counters()[1] > before, timeout)
    return None if t is None else t - t0


def local_delivery_s(srv, timeout=120):
    """One message for the server's local Maildir: seconds until it is there."""
    before = srv.delivered()
    t0 = time.monotonic()
    send_one(srv.port, LOCAL_RCPT, "local while the backlog stands")
    t = wait_for(lambda: srv.delivered() > before, timeout, interval=0.05)
    return None if t is None else t - t0


QUEUE_ID_LINE = re.compile(rb"^[0-9A-Za-z]{6,}[*!]?\s")


def list_first_page_s(srv, args):
    """Seconds until the first 100 queue entries are listed: `petrel queue
    list --limit 100`, or the first 100 entries `postqueue -p` prints (it has
    no limit; it is stopped there). Returns (seconds, entries, problem)."""
    if srv.name == "petrel":
        argv = [os.path.join(os.path.dirname(args.petreld), "petrel"), "queue",
                "--spool", os.path.join(srv.dir, "spool"), "list", "--limit", "100"]
    else:
        argv = ["postqueue", "-c", os.path.join(srv.dir, "conf"), "-p"]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    entries, tail = 0, b""
    try:
        for line in p.stdout:
            if QUEUE_ID_LINE.match(line) and not line.startswith(b"QUEUE"):
                entries += 1
                if entries >= 100:
                    break
            tail = line
    finally:
        elapsed = time.monotonic() - t0
        if p.poll() is None:
            p.kill()
        p.wait(30)
    problem = None if entries >= 100 else f"{' '.join(argv[:3])}: {entries} entries; {tail[:120]!r}"
    return elapsed, entries, problem


def queued_count(srv, args):
    if srv.name == "petrel":
        # The summary line of `petrel queue sites` ("N messages queued, M
        # being attempted"); its per-site figures cover only sites known
        # since the start, i.e. domains some of whose mail was tried.
        r = subprocess.run([os.path.join(os.path.dirname(args.petreld), "petrel"), "queue", "--spool",
                            os.path.join(srv.dir, "spool"), "sites"], capture_output=True, timeout=60,
                           env=dict(os.environ, NO_COLOR="1"))
        m = re.search(rb"(\d+) messages queued", r.stdout)
        return int(m.group(1)) if m else None
    return sum(queued_files(os.path.join(srv.dir, "queue")).values())


def measure_backlog(kind, scenario, args, scratch):
    sessions, size, n, n_quick = SCENARIOS[scenario]
    n = args.backlog or (n_quick if args.quick else n)
    res = {"server": kind, "scenario": scenario, "n": n, "sessions": sessions, "size": size}
    if kind == "sink":
        res["problem"] = "not applicable"
        return res
    d = tempfile.mkdtemp(prefix=f"{kind}-{scenario}.", dir=scratch)
    os.chmod(d, 0o755)
    # Postfix keeps a file per message: room and inodes for them all.
    img = mount_fresh_fs(d, max(args.fs_gib, 4 + (n * 6 * 1024 >> 30)), inode_bytes=4096) if args.loop_fs else None
    world = srv = None
    mem = PhaseSampler()
    try:
        world = BacklogWorld(d)
        srv = KINDS[kind](d, args)
        configure_backlog(srv, world)
        res["note"] = srv.note
        srv.start()
        mem.switch("inject", srv.proc.pid)
        cpu0 = tree_cpu_s(srv.proc.pid)
        accepted, t_acc, problem = inject_backlog(srv.port, n, size, sessions, args.backlog_max_seconds)
        res.update(accepted=accepted, accept_s=t_acc, accept_rate=accepted / t_acc, problem=problem,
                   cpu_ms=1000.0 * (tree_cpu_s(srv.proc.pid) - cpu0) / max(1, accepted))
        log(f"[{kind}] {scenario}: {accepted} accepted in {t_acc:.0f} s ({accepted / t_acc:,.0f}/s)")

        # The backlog stands: list it, deliver past it, watch memory.
        mem.switch("standing", srv.proc.pid)
        t_end = time.monotonic() + args.backlog_standing
        lists = [list_first_page_s(srv, args) for _ in range(3)]
        res["list_s"] = median(x[0] for x in lists)
        res["local_s"] = local_delivery_s(srv)
        res["standing_first_s"] = first_delivery_s(srv, world, time.monotonic())
        while time.monotonic() < t_end:
            time.sleep(0.5)
        res["queued"] = queued_count(srv, args)
        res["tarpit_conns"] = world.tarpits.connections()

        # A restart on the same queue.
        mem.switch(None)
        t_stop = time.monotonic()
        srv.stop()
        res["stop_s"] = time.monotonic() - t_stop
        t0 = time.monotonic()
        srv.start()
        mem.switch("restart", srv.proc.pid)
        res["restart_s"] = time.monotonic() - t0
        res["first_s"] = first_delivery_s(srv, world, t0)
        res["restart_local_s"] = local_delivery_s(srv)
        lists = [list_first_page_s(srv, args) for _ in range(3)]
        res["restart_list_s"] = median(x[0] for x in lists)
        problems = [x[2] for x in lists if x[2]]
        t_end = time.monotonic() + args.backlog_standing
        while time.monotonic() < t_end:
            time.sleep(0.5)
        res["restart_queued"] = queued_count(srv, args)
        if problems:
            res["problem"] = ((res.get("problem") or "") + "; " + problems[0]).lstrip("; ")
        if res["first_s"] is None:
            res["problem"] = ((res.get("problem") or "") + "; no delivery to the accepting site after the restart").lstrip("; ")
        if srv.proc.poll() is not None:
            res["problem"] = f"server died (status {srv.proc.returncode})"
    except Exception as e:  # noqa: BLE001
        res["problem"] = f"{type(e).__name__}: {e}" + (f"; log: {srv.log_tail(300)!r}" if srv else "")
    finally:
        peaks = mem.finish()
        res["peak_inject_mib"] = peaks.get("inject")
        res["peak_standing_mib"] = peaks.get("standing")
        res["peak_restart_mib"] = peaks.get("restart")
        res["peak_mib"] = max((v for v in peaks.values() if v), default=None)
        res["pss_mib"] = [mem.pss_peaks.get(ph) for ph in ("inject", "standing", "restart")]
        if srv is not None and srv.proc is not None and srv.proc.poll() is None:
            srv.stop()
        if world:
            world.stop()
        if img:
            unmount_fs(d, img)
    return res


def measure(kind, scenario, args, scratch):
    if scenario in INJECT_SCENARIOS:
        import inject_bench
        return inject_bench.measure_inject(kind, scenario, args, scratch, sys.modules[__name__])
    if scenario in SHAPING_SCENARIOS:
        import shaping_bench
        return shaping_bench.measure_shaping(kind, scenario, args, scratch, sys.modules[__name__])
    if scenario in DRAIN_SCENARIOS:
        return measure_drain(kind, scenario, args, scratch)
    if scenario in BACKLOG_SCENARIOS:
        return measure_backlog(kind, scenario, args, scratch)
    sessions, size, n, n_quick = SCENARIOS[scenario]
    n = n_quick if args.quick else n
    tls_mode, per_session = TLS_SCENARIOS.get(scenario, (None, 0))
    rcpts = RELAY_SCENARIOS.get(scenario, 1)
    rcpt = RELAY_RCPT if scenario in RELAY_SCENARIOS else RCPT
    d = tempfile.mkdtemp(prefix=f"{kind}-{scenario}.", dir=scratch)
    os.chmod(d, 0o755)
    img = mount_fresh_fs(d, args.fs_gib) if args.loop_fs else None
    res = {"server": kind, "scenario": scenario, "n": n, "sessions": sessions, "size": size}
    relay = None
    base = sess0 = 0
    try:
        if scenario in RELAY_SCENARIOS and kind != "sink":
            relay = RelaySink(d)
        srv = KINDS[kind](d, args, tls=tls_mode is not None,
                          relay=(RELAY_HOST, relay.port) if relay else None)
    except Exception as e:  # noqa: BLE001
        res["problem"] = f"could not prepare: {e}"
        if relay:
            relay.stop()
        if img:
            unmount_fs(d, img)
        return res
    if relay:   # what counts as delivered: messages the relay sink received
        srv.counts_delivery = True
        srv.delivered = lambda: relay.counters()[1]
    res["note"] = srv.note
    try:
        srv.start()
    except Exception as e:  # noqa: BLE001
        srv.stop()
        res["problem"] = f"did not start: {e}; log: {srv.log_tail(300)!r}"
        if relay:
            relay.stop()
        if img:
            unmount_fs(d, img)
        return res
    if tls_mode == "handshake":
        srv.counts_delivery = False     # no messages: nothing to deliver
    try:
        if tls_mode:    # warm-up over STARTTLS too (also starts Postfix's tlsmgr)
            _, _, problem = tls_load(args, srv.port, "messages", min(sessions, 5), 1024, args.warmup, 10, 30)
            if problem:
                res["problem"] = f"warm-up failed: {problem}; log: {srv.log_tail(300)!r}"
                return res      # (the finally below stops the server)
        else:
            smtp_source(srv.port, min(sessions, 5), 1024, args.warmup, 30, rcpt, rcpts)  # warm-up
        base = srv.delivered() if srv.counts_delivery else 0
        if srv.counts_delivery:     # the warm-up messages are out of the way first
            deadline = time.monotonic() + 30
            while srv.delivered() < args.warmup and time.monotonic() < deadline:
                time.sleep(0.05)
            base = srv.delivered()
        if relay:
            sess0 = relay.counters()[0]
            sink_cpu0 = relay.cpu_s()
        mem = MemorySampler(srv.proc.pid)
        mem.start()
        cpu0 = tree_cpu_s(srv.proc.pid)
        t0 = time.monotonic()
        if tls_mode:
            out, wall, problem = tls_load(args, srv.port, tls_mode, sessions, size, n, per_session,
                                          args.max_seconds)
            accepted = out.get("completed", 0)
            t_acc = out.get("elapsed_s") or wall
            if out.get("negotiated"):
                res["tls"] = ", ".join(out["negotiated"])
            res["handshake_p50_ms"] = out.get("handshake_ms_p50")
            res["tickets"] = out.get("tickets_per_session")
            if tls_mode == "messages":
                res["handshake_rate"] = out.get("handshake_rate")
        else:
            accepted, t_acc, problem = smtp_source(srv.port, sessions, size, n, args.max_seconds,
                                                   rcpt, rcpts)
        res.update(accepted=accepted, accept_s=t_acc, accept_rate=accepted / t_acc, problem=problem)
        if sessions == 1 and accepted:
            res["latency_ms"] = 1000.0 * t_acc / accepted
        if relay:
            res["accept_s"] = t_acc
        if srv.counts_delivery and accepted:
            last, t_last = srv.delivered() - base, time.monotonic()
            deadline = t0 + t_acc + args.max_drain
            while last < accepted and time.monotonic() < deadline:
                time.sleep(0.05)
                c = srv.delivered() - base
                if c != last:
                    last, t_last = c, time.monotonic()
            res["delivered"] = last
            if last >= accepted:
                res["e2e_s"] = t_last - t0
                res["e2e_rate"] = accepted / res["e2e_s"]
            else:
                res["problem"] = ((problem + "; ") if problem else "") + \
                    f"only {last}/{accepted} " + ("at the relay sink" if relay else "in the Maildir") + \
                    f" {args.max_drain:.0f} s after the load"
        res["peak_mib"] = mem.finish()
        if accepted:
            res["cpu_ms"] = 1000.0 * (tree_cpu_s(srv.proc.pid) - cpu0) / accepted
            if relay:
                res["sink_cpu_ms"] = 1000.0 * (relay.cpu_s() - sink_cpu0) / accepted
        if srv.proc.poll() is not None:
            res["problem"] = f"server died (status {srv.proc.returncode})"
    finally:
        rc = srv.stop()
        if kind == "petrel" and rc not in (0, None):
            res["problem"] = (res.get("problem") or "") + f" (exit status {rc} after SIGTERM)"
        if relay:
            # The server is gone, so every connection it had open to the
            # sink (Postfix's cached ones too) has ended and been counted.
            # Connections from the warm-up still open at t0 are counted
            # here as well: at most a handful.
            time.sleep(0.3)
            sess, mesg = relay.counters()
            res["relay_conns"] = sess - sess0
            res["relay_msgs"] = mesg - base
            relay.stop()
        if img:
            unmount_fs(d, img)
        # Without --loop-fs the scratch dir stays until the whole run is
        # over: deleting tens of thousands of files makes ext4 without a
        # journal skip the freed inodes for the next ~30 s (recently_deleted()),
        # which would slow whichever server creates files next.
    return res


# --------------------------------------------------------------------------
# report

def fmt(x, p=0):
    return "-" if x is None else f"{x:,.{p}f}"


def median(values):
    v = sorted(x for x in values if x is not None)
    if not v:
        return None
    mid = len(v) // 2
    return v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2


def combine(runs):
    """One row from repeated runs of a server on a scenario: medians of the
    rates and times, the largest peak memory, every problem."""
    r = dict(runs[0])
    for key in ("accept_rate", "e2e_rate", "e2e_s", "latency_ms", "cpu_ms"):
        r[key] = median(x.get(key) for x in runs)
    r["peak_mib"] = max((x.get("peak_mib") or 0 for x in runs), default=None) or None
    r["accepted"] = min(x.get("accepted", 0) for x in runs)
    r["runs"] = len(runs)
    for key in ("handshake_p50_ms", "handshake_rate", "accept_s", "relay_conns", "relay_msgs",
                "sink_cpu_ms", "restart_s"):
        r[key] = median(x.get(key) for x in runs)
    r["all_accept"] = [x.get("accept_rate") for x in runs]
    r["all_conns"] = [x.get("relay_conns") for x in runs if x.get("relay_conns") is not None]
    problems = [x["problem"] for x in runs if x.get("problem")]
    r["problem"] = "; ".join(problems) if problems else None
    return r


def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "-"


def backlog_report(rows):
    """B1's own table: memory by phase, the restart, the listing."""
    if not rows:
        return []
    L = ["", "B1-backlog: N messages of 2 KiB for 1,000 domains on 10 sites, five tarpits (accept TCP, never "
         "greet) and five that answer 450 to RCPT (`smtp-sink -r RCPT`); 20 smtp-source sessions, one domain "
         "per smtp-source run. Peak MiB: the largest Σ VmHWM over the server's process tree in each phase "
         "(the kernel's peak counters are reset at the start of a phase): the load, the backlog standing "
         "(listing, a local and a remote delivery, then idle), and the restart on the same queue (from the "
         "start of the new process until the end of the same watch). First delivery: from the start of the "
         "new process until a new message for a domain that accepts (sent as soon as the server greets) is "
         "at its counting sink. List: median of three `petrel queue list --limit 100` runs (Postfix: until "
         "`postqueue -p` has printed 100 entries). Local: seconds from sending a message to a local Maildir user until it is there.",
         "",
         "| server | N | accept/s | peak MiB: load | standing | restart | stop s | restart to 220 s | "
         "first delivery after restart s | list s (standing / restarted) | local delivery s (standing / "
         "restarted) | remote delivery while standing s | queued (standing / restarted) | notes |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        notes = []
        if r.get("tarpit_conns") is not None:
            notes.append(f"tarpits held {r['tarpit_conns']:,} connections")
        if any(r.get("pss_mib") or []):
            notes.append("largest Σ Pss " + " / ".join(fmt(x, 1) for x in r["pss_mib"]) + " MiB")
        if r.get("cpu_ms") is not None:
            notes.append(f"CPU {r['cpu_ms']:.2f} ms/msg during the load")
        if r.get("problem"):
            notes.append(r["problem"])
        L.append(f"| {r['server']} | {r.get('accepted', 0):,}/{r['n']:,} | {fmt(r.get('accept_rate'))} | "
                 f"{fmt(r.get('peak_inject_mib'), 1)} | {fmt(r.get('peak_standing_mib'), 1)} | "
                 f"{fmt(r.get('peak_restart_mib'), 1)} | {fmt(r.get('stop_s'), 2)} | {fmt(r.get('restart_s'), 2)} | "
                 f"{fmt(r.get('first_s'), 2)} | {fmt(r.get('list_s'), 2)} / {fmt(r.get('restart_list_s'), 2)} | "
                 f"{fmt(r.get('local_s'), 2)} / {fmt(r.get('restart_local_s'), 2)} | "
                 f"{fmt(r.get('standing_first_s'), 2)} | {fmt(r.get('queued'))} / {fmt(r.get('restart_queued'))} | "
                 f"{'; '.join(notes)} |")
    return L


def report(results, args, started, elapsed):
    L = [f"# Petrel benchmark {started:%Y-%m-%d %H:%M}", ""]
    u = os.uname()
    L.append(f"Machine: {os.cpu_count()} CPUs, kernel {u.release}, "
             f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB RAM; "
             f"loopback only{' (private network namespace)' if os.environ.get('BENCH_NETNS') == '1' else ''}; "
             f"command: `bench/run.sh {' '.join(sys.argv[1:])}`; run took {elapsed:.0f} s.")
    L.append("")
    L.append("Load: `smtp-source -s S -m N -l SIZE` (one message per connection), "
             "sender a@client.test, recipient x@bench.test. accept/s = N / smtp-source wall time; "
             "e2e/s = N / time until the N-th message is in the Maildir; peak MiB = largest "
             "Σ VmHWM over the server's process tree (sampled every 0.2 s); CPU ms = the server "
             "process tree's user + system CPU time from the start of the load until the last "
             "message is in the Maildir (or the load ends), ÷ N. "
             f"Each figure is the median of {args.repeat} run(s); servers take turns within a round. "
             + ("T scenarios (STARTTLS, Petrel and Postfix only, same certificate): load from "
                "bench/tls_load.cpp instead of smtp-source; T1's accept/s is full TLS handshakes/s "
                "(connect, EHLO, STARTTLS, handshake, EHLO, QUIT; no resumption), T2's is messages/s "
                "with 10 messages per STARTTLS connection; notes give what was negotiated, the "
                "median STARTTLS-to-handshake-done time and, for T2, handshakes/s. "
                if any(sc in TLS_SCENARIOS for sc in args.scenarios) else "")
             + ("R scenarios (relay): recipients at relay.bench (R2: 5 per message, `-r 5`), relayed by "
                "Petrel/Postfix (trusting 127.0.0.0/8) to a counting `smtp-sink -c` on 127.0.0.2 routed "
                "without DNS; e2e/s = N / time from the start of the load until the sink has received N "
                "transactions; the sink row is smtp-source straight into smtp-sink (the ceiling); notes "
                "give the accept phase alone and the connections and transactions the relay sink saw "
                "(medians; connections still open from the warm-up count too). R3 (drain): N messages "
                "queued while the next hop is down (no warm-up), then the sink starts and the server is "
                "told to go once every message has been tried: Petrel gets `petrel queue flush`, Postfix "
                "gets `postqueue -f` (all N in its deferred queue); e2e/s = N / time from then until "
                "the sink has all N, CPU ms over that drain. "
                if any(sc in RELAY_SCENARIOS for sc in args.scenarios) else "")
             + ("Every run has a fresh ext4 file system (journal on, loop device on /tmp) to itself."
                if args.loop_fs else "Runs share /tmp's file system."))
    L.append("")
    flows = [r for r in results if r["scenario"] not in BACKLOG_SCENARIOS]
    if flows:
        L.append("| scenario | server | N | accept/s | e2e/s | e2e s | latency ms | peak MiB | CPU ms | "
                 "accept/s of each run | notes |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in flows:
        each = ", ".join(fmt(x) for x in r.get("all_accept", []))
        notes = []
        if r.get("tls"):
            notes.append(r["tls"])
        if r.get("handshake_p50_ms") is not None:
            notes.append(f"handshake p50 {r['handshake_p50_ms']:.1f} ms")
        if r.get("handshake_rate"):
            notes.append(f"{r['handshake_rate']:,.0f} handshakes/s")
        if r.get("tickets") is not None:
            notes.append(f"{r['tickets']:.0f} session ticket(s) per handshake")
        if r["scenario"] in RELAY_SCENARIOS and r.get("accept_s"):
            notes.append(f"accept phase {r['accept_s']:.2f} s"
                         + (" (next hop down)" if r["scenario"] in DRAIN_SCENARIOS else ""))
        if r.get("restart_s") is not None:
            notes.append(f"restart to banner {r['restart_s']:.2f} s (in e2e)")
        if r.get("relay_conns") is not None:
            conns, msgs = r["relay_conns"], r.get("relay_msgs") or 0
            notes.append(f"sink saw {conns:,.0f} connections, {msgs:,.0f} transactions"
                         + (f" ({msgs / conns:.1f} per connection)" if conns else "")
                         + (f"; connections of each run: {', '.join(fmt(x) for x in r['all_conns'])}"
                            if len(r.get("all_conns", [])) > 1 else ""))
        if r.get("sink_cpu_ms") is not None:
            notes.append(f"sink CPU {r['sink_cpu_ms']:.2f} ms/msg")
        if r.get("problem"):
            notes.append(r["problem"])
        L.append(f"| {r['scenario']} | {r['server']} | {r.get('accepted', 0)}/{r['n']} | "
                 f"{fmt(r.get('accept_rate'))} | {fmt(r.get('e2e_rate'))} | {fmt(r.get('e2e_s'), 2)} | "
                 f"{fmt(r.get('latency_ms'), 2)} | {fmt(r.get('peak_mib'), 1)} | {fmt(r.get('cpu_ms'), 2)} | {each} | {'; '.join(notes)} |")
    peers = [s for s in args.servers if s != "petrel"]
    if "petrel" in args.servers and peers and flows:
        L += ["", "Petrel ÷ peer (above 1× = Petrel faster; for memory and CPU, above 1× = Petrel uses more):",
              "", "| scenario | peer | accept/s | e2e/s | peak memory | CPU per op |", "|---|---|---|---|---|---|"]
        by = {(r["server"], r["scenario"]): r for r in results}
        for sc in [x for x in args.scenarios if x not in BACKLOG_SCENARIOS]:
            p = by.get(("petrel", sc), {})
            for peer in peers:
                if (peer, sc) not in by:
                    continue
                q = by[(peer, sc)]
                L.append(f"| {sc} | {peer} | {ratio(p.get('accept_rate'), q.get('accept_rate'))} | "
                         f"{ratio(p.get('e2e_rate'), q.get('e2e_rate'))} | "
                         f"{ratio(p.get('peak_mib'), q.get('peak_mib'))} | "
                         f"{ratio(p.get('cpu_ms'), q.get('cpu_ms'))} |")
    L += backlog_report([r for r in results if r["scenario"] in BACKLOG_SCENARIOS])
    L += ["", "Servers:", ""]
    seen = set()
    for r in results:
        if r["server"] not in seen:
            seen.add(r["server"])
            L.append(f"- **{r['server']}**: {r.get('note', '')}")
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma list of servers (default: petrel,postfix,sink)")
    ap.add_argument("--scenarios", default=",".join(DEFAULT_SCENARIOS),
                    help="comma list of " + ", ".join(SCENARIOS) + " (default: all but B1-backlog)")
    ap.add_argument("--quick", action="store_true", help="N/10 (smoke test, about a minute)")
    ap.add_argument("--petreld", default=os.environ.get("PETRELD", os.path.join(ROOT, "build", "petreld")))
    ap.add_argument("--petreld-args", default="", help="extra petreld flags, e.g. '--threads 1'")
    ap.add_argument("--warmup", type=int, default=50, help="warm-up messages before each measurement")
    ap.add_argument("--max-seconds", type=float, default=180, help="cap on one smtp-source run")
    ap.add_argument("--max-drain", type=float, default=120,
                    help="cap on the wait for the Maildir after the load")
    ap.add_argument("--start-timeout", type=float, default=30)
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of each server per scenario; the table shows medians (default 3)")
    ap.add_argument("--keep-scratch", action="store_true")
    ap.add_argument("--no-loop-fs", dest="loop_fs", action="store_false",
                    help="run in /tmp itself instead of a fresh loop-mounted ext4 per run")
    ap.add_argument("--fs-gib", type=int, default=8, help="size of each loop file system (sparse)")
    ap.add_argument("--out", help="markdown file (default bench/results/bench-<date>.md)")
    ap.add_argument("--tls-load", help="a built tls_load (default: build bench/tls_load.cpp with g++)")
    ap.add_argument("--tls-key-type", choices=("ec", "rsa"), default="ec",
                    help="T scenarios' certificate: EC P-256 (default) or RSA 2048")
    ap.add_argument("--backlog", type=int, default=0,
                    help="B1-backlog: messages in the backlog (default 1,000,000; 100,000 with --quick)")
    ap.add_argument("--backlog-standing", type=float, default=30,
                    help="B1-backlog: seconds memory is watched after the load and after the restart")
    ap.add_argument("--backlog-max-seconds", type=float, default=3600,
                    help="B1-backlog: cap on the injection of the backlog")
    ap.add_argument("--inject", type=int, default=0,
                    help="I1-inject: messages (default 100,000; 10,000 with --quick)")
    args = ap.parse_args()
    args.servers = [s.strip() for s in (args.only or ",".join(SERVERS)).split(",") if s.strip()]
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    for s in args.servers:
        if s not in KINDS:
            ap.error(f"unknown server {s}; known: {', '.join(KINDS)}")
    for s in args.scenarios:
        if s not in SCENARIOS:
            ap.error(f"unknown scenario {s}; known: {', '.join(SCENARIOS)}")
    if os.geteuid() != 0:
        ap.error("run as root (Postfix needs its own users and queue ownership)")
    if "petrel" in args.servers and not os.access(args.petreld, os.X_OK):
        ap.error(f"no petreld at {args.petreld} (make build)")

    started = datetime.datetime.now()
    t0 = time.monotonic()
    scratch = tempfile.mkdtemp(prefix="petrel-bench.", dir="/tmp")
    os.chmod(scratch, 0o755)       # Postfix's daemons and nobody must traverse it
    results = []
    try:
        if any(sc in TLS_SCENARIOS for sc in args.scenarios):
            args.tls_load_exe = build_tls_load(args)
            args.tls_cert, args.tls_key = make_certificate(scratch, args.tls_key_type)
        for sc in args.scenarios:
            # smtp-sink has no STARTTLS
            servers = [s for s in args.servers
                       if not ((sc in TLS_SCENARIOS or sc in DRAIN_SCENARIOS or sc in ON_DEMAND) and s == "sink")]
            if not servers:
                continue
            runs = {s: [] for s in servers}
            for round_ in range(1 if sc in ON_DEMAND else max(1, args.repeat)):
                # Rotate who goes first, so no server always inherits the
                # page cache and disk state of the same predecessor.
                k = round_ % len(servers)
                for s in servers[k:] + servers[:k]:
                    log(f"[{s}] {sc} run {round_ + 1} ...")
                    r = measure(s, sc, args, scratch)
                    log(f"[{s}] {sc}: accepted {r.get('accepted', 0)}/{r['n']} "
                        f"accept/s {fmt(r.get('accept_rate'))} e2e/s {fmt(r.get('e2e_rate'))} "
                        f"peak {fmt(r.get('peak_mib'), 1)} MiB CPU {fmt(r.get('cpu_ms'), 2)} ms/op "
                        f"{r.get('problem') or ''}")
                    runs[s].append(r)
            results += [combine(runs[s]) for s in servers]
    except KeyboardInterrupt:
        log("interrupted")
    finally:
        if not args.keep_scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    md = report(results, args, started, time.monotonic() - t0)
    if any(r["scenario"] in SHAPING_SCENARIOS for r in results):
        import shaping_bench
        md += "\n".join(shaping_bench.report_lines(results)) + "\n"
    out = args.out or os.path.join(HERE, "results", f"bench-{started:%Y%m%d-%H%M%S}.md")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(md)
    print(md)
    log(f"written: {out}")


if __name__ == "__main__":
    main()
