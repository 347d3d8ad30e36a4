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
}
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
# down, then the sink starts and the server is told to go (Petrel: restarted,
# so it recovers its spool, with --retry-intervals 1s; Postfix: postqueue -f);
# e2e = from that moment until the sink has all N.
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

    def __init__(self, scratch, port=None):
        self.port = port or free_port(RELAY_HOST)
        self.sess = self.quit = self.mesg = 0
        self.logf = open(os.path.join(scratch, "relay-sink.log"), "ab")
        self.proc = subprocess.Popen([SMTP_SINK, "-c", "-u", "nobody", f"{RELAY_HOST}:{self.port}", "1024"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.logf,
                                     start_new_session=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection((RELAY_HOST, self.port), timeout=2) as s:
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

def smtp_source(port, sessions, size, count, timeout, rcpt=RCPT, rcpts=1):
    argv = [SMTP_SOURCE, "-c", "-s", str(sessions), "-l", str(size), "-m", str(count),
            "-M", "client.test", "-f", "a@client.test", "-t", rcpt, f"{HOST}:{port}"]
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


def mount_fresh_fs(d, size_gib):
    """A new ext4 (with its journal, as on a real server) on a loop device at d.
    Every server and run starts from the same empty file system, and what one
    run leaves behind (in particular inodes freed by a clean-up, which ext4
    avoids reusing for a while) cannot slow the next."""
    img = d + ".img"
    with open(img, "wb") as f:
        f.truncate(size_gib << 30)
    subprocess.run(["mkfs.ext4", "-q", "-F", img], check=True)
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
        else:
            srv.stop()      # everything accepted is in the spool
            # Every message's next attempt (whole seconds, 1 s after its
            # last refused one) is due before the restart.
            time.sleep(2.5)
            relay = RelaySink(d, port)
            sess0, base = relay.counters()
            sink_cpu0 = relay.cpu_s()
            t0 = time.monotonic()
            cpu0 = 0.0
            srv.start()     # recovers the spool; the first retries are due already
            res["restart_s"] = time.monotonic() - t0
            mem = MemorySampler(srv.proc.pid)
            mem.start()
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


def measure(kind, scenario, args, scratch):
    if scenario in DRAIN_SCENARIOS:
        return measure_drain(kind, scenario, args, scratch)
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
                "told to go: Petrel is restarted (it recovers its spool; `--retry-intervals 1s`), Postfix "
                "gets `postqueue -f` once all N are in its deferred queue; e2e/s = N / time from then until "
                "the sink has all N, CPU ms over that drain. "
                if any(sc in RELAY_SCENARIOS for sc in args.scenarios) else "")
             + ("Every run has a fresh ext4 file system (journal on, loop device on /tmp) to itself."
                if args.loop_fs else "Runs share /tmp's file system."))
    L.append("")
    L.append("| scenario | server | N | accept/s | e2e/s | e2e s | latency ms | peak MiB | CPU ms | "
             "accept/s of each run | notes |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
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
    if "petrel" in args.servers and peers:
        L += ["", "Petrel ÷ peer (above 1× = Petrel faster; for memory and CPU, above 1× = Petrel uses more):",
              "", "| scenario | peer | accept/s | e2e/s | peak memory | CPU per op |", "|---|---|---|---|---|---|"]
        by = {(r["server"], r["scenario"]): r for r in results}
        for sc in args.scenarios:
            p = by.get(("petrel", sc), {})
            for peer in peers:
                if (peer, sc) not in by:
                    continue
                q = by[(peer, sc)]
                L.append(f"| {sc} | {peer} | {ratio(p.get('accept_rate'), q.get('accept_rate'))} | "
                         f"{ratio(p.get('e2e_rate'), q.get('e2e_rate'))} | "
                         f"{ratio(p.get('peak_mib'), q.get('peak_mib'))} | "
                         f"{ratio(p.get('cpu_ms'), q.get('cpu_ms'))} |")
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
    ap.add_argument("--scenarios", default=",".join(SCENARIOS),
                    help="comma list of " + ", ".join(SCENARIOS))
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
                       if not ((sc in TLS_SCENARIOS or sc in DRAIN_SCENARIOS) and s == "sink")]
            if not servers:
                continue
            runs = {s: [] for s in servers}
            for round_ in range(max(1, args.repeat)):
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
    out = args.out or os.path.join(HERE, "results", f"bench-{started:%Y%m%d-%H%M%S}.md")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(md)
    print(md)
    log(f"written: {out}")


if __name__ == "__main__":
    main()
