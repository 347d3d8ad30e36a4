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

Prints a markdown table (also written to bench/results/) with Petrel's ratio
to each peer.  See docs/performance.md.
"""
import argparse
import datetime
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
HOST = "127.0.0.1"
DOMAIN = "bench.test"
RCPT = f"x@{DOMAIN}"
SMTP_SOURCE = "/usr/sbin/smtp-source"
SMTP_SINK = "/usr/sbin/smtp-sink"

# name: (sessions, message size, N, N with --quick)
SCENARIOS = {
    "A-p20-4k": (20, 4096, 20000, 2000),
    "B-s1-4k": (1, 4096, 2000, 200),
    "C-p20-100k": (20, 102400, 2000, 200),
}
SERVERS = ["petrel", "postfix", "sink"]
PEERS = ["postfix", "sink"]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
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

    def __init__(self, scratch, args):
        self.dir = scratch
        self.args = args
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
            f.write(f"""\
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.bench.local
mydomain = bench.local
myorigin = $myhostname
mydestination =
inet_interfaces = {HOST}
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
alias_maps =
alias_database =
local_recipient_maps =
biff = no
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
# {DOMAIN} is the final destination: every recipient goes to one Maildir
# ("trailing /" = Maildir) below {self.maildir}, written by virtual(8)
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_base = {self.maildir}
virtual_mailbox_maps = static:{DOMAIN}/x/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
""")
        # Debian's master.cf with the smtpd on our port and no chroot (the
        # jail would need /etc files copied into the scratch queue)
        out = []
        with open("/etc/postfix/master.cf") as f:
            for ln in f.read().splitlines():
                if re.match(r"^smtp\s+inet\s", ln):
                    ln = re.sub(r"^smtp(\s+)inet", f"{self.port}\\1inet", ln)
                fields = ln.split()
                if re.match(r"^[a-z0-9]", ln) and len(fields) >= 8 and fields[4] == "y":
                    fields[4] = "n"
                    ln = "  ".join(fields)
                out.append(ln)
        with open(os.path.join(conf, "master.cf"), "w") as f:
            f.write("\n".join(out) + "\n")
        r = subprocess.run(["postfix", "-c", conf, "check"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise RuntimeError("postfix check: " + r.stdout)
        self.argv = ["postfix", "-c", conf, "start-fg"]
        self.stop_argv = ["postfix", "-c", conf, "stop"]
        self.note = ("final destination for bench.test via virtual(8) into one Maildir, "
                     "default durability (cleanup fsyncs the queue file before 250, "
                     "virtual fsyncs the Maildir file), default process limits")


class Sink(Server):
    name = "sink"
    counts_delivery = False

    def prepare(self):
        self.argv = [SMTP_SINK, "-u", "nobody", f"{HOST}:{self.port}", "1024"]
        self.note = "smtp-sink: answers 250 and discards; the no-storage ceiling"


KINDS = {"petrel": Petrel, "postfix": Postfix, "sink": Sink}


# --------------------------------------------------------------------------
# one measurement

def smtp_source(port, sessions, size, count, timeout):
    argv = [SMTP_SOURCE, "-c", "-s", str(sessions), "-l", str(size), "-m", str(count),
            "-M", "client.test", "-f", "a@client.test", "-t", RCPT, f"{HOST}:{port}"]
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


def measure(kind, scenario, args, scratch):
    sessions, size, n, n_quick = SCENARIOS[scenario]
    n = n_quick if args.quick else n
    d = tempfile.mkdtemp(prefix=f"{kind}-{scenario}.", dir=scratch)
    os.chmod(d, 0o755)
    img = mount_fresh_fs(d, args.fs_gib) if args.loop_fs else None
    res = {"server": kind, "scenario": scenario, "n": n, "sessions": sessions, "size": size}
    try:
        srv = KINDS[kind](d, args)
    except Exception as e:  # noqa: BLE001
        res["problem"] = f"could not prepare: {e}"
        return res
    res["note"] = srv.note
    try:
        srv.start()
    except Exception as e:  # noqa: BLE001
        srv.stop()
        res["problem"] = f"did not start: {e}; log: {srv.log_tail(300)!r}"
        return res
    try:
        smtp_source(srv.port, min(sessions, 5), 1024, args.warmup, 30)        # warm-up
        base = srv.delivered() if srv.counts_delivery else 0
        if srv.counts_delivery:     # the warm-up messages are out of the way first
            deadline = time.monotonic() + 30
            while srv.delivered() < args.warmup and time.monotonic() < deadline:
                time.sleep(0.05)
            base = srv.delivered()
        mem = MemorySampler(srv.proc.pid)
        mem.start()
        t0 = time.monotonic()
        accepted, t_acc, problem = smtp_source(srv.port, sessions, size, n, args.max_seconds)
        res.update(accepted=accepted, accept_s=t_acc, accept_rate=accepted / t_acc, problem=problem)
        if sessions == 1 and accepted:
            res["latency_ms"] = 1000.0 * t_acc / accepted
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
                    f"only {last}/{accepted} in the Maildir {args.max_drain:.0f} s after the load"
        res["peak_mib"] = mem.finish()
        if srv.proc.poll() is not None:
            res["problem"] = f"server died (status {srv.proc.returncode})"
    finally:
        rc = srv.stop()
        if kind == "petrel" and rc not in (0, None):
            res["problem"] = (res.get("problem") or "") + f" (exit status {rc} after SIGTERM)"
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
    for key in ("accept_rate", "e2e_rate", "e2e_s", "latency_ms"):
        r[key] = median(x.get(key) for x in runs)
    r["peak_mib"] = max((x.get("peak_mib") or 0 for x in runs), default=None) or None
    r["accepted"] = min(x.get("accepted", 0) for x in runs)
    r["runs"] = len(runs)
    r["all_accept"] = [x.get("accept_rate") for x in runs]
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
             "Σ VmHWM over the server's process tree (sampled every 0.2 s). "
             f"Each figure is the median of {args.repeat} run(s); servers take turns within a round. "
             + ("Every run has a fresh ext4 file system (journal on, loop device on /tmp) to itself."
                if args.loop_fs else "Runs share /tmp's file system."))
    L.append("")
    L.append("| scenario | server | N | accept/s | e2e/s | e2e s | latency ms | peak MiB | accept/s of each run | notes |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        each = ", ".join(fmt(x) for x in r.get("all_accept", []))
        L.append(f"| {r['scenario']} | {r['server']} | {r.get('accepted', 0)}/{r['n']} | "
                 f"{fmt(r.get('accept_rate'))} | {fmt(r.get('e2e_rate'))} | {fmt(r.get('e2e_s'), 2)} | "
                 f"{fmt(r.get('latency_ms'), 2)} | {fmt(r.get('peak_mib'), 1)} | {each} | {r.get('problem') or ''} |")
    peers = [s for s in args.servers if s != "petrel"]
    if "petrel" in args.servers and peers:
        L += ["", "Petrel ÷ peer (above 1× = Petrel faster; for memory, above 1× = Petrel uses more):", "",
              "| scenario | peer | accept/s | e2e/s | peak memory |", "|---|---|---|---|---|"]
        by = {(r["server"], r["scenario"]): r for r in results}
        for sc in args.scenarios:
            p = by.get(("petrel", sc), {})
            for peer in peers:
                q = by.get((peer, sc), {})
                L.append(f"| {sc} | {peer} | {ratio(p.get('accept_rate'), q.get('accept_rate'))} | "
                         f"{ratio(p.get('e2e_rate'), q.get('e2e_rate'))} | "
                         f"{ratio(p.get('peak_mib'), q.get('peak_mib'))} |")
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
        for sc in args.scenarios:
            runs = {s: [] for s in args.servers}
            for round_ in range(max(1, args.repeat)):
                # Rotate who goes first, so no server always inherits the
                # page cache and disk state of the same predecessor.
                k = round_ % len(args.servers)
                for s in args.servers[k:] + args.servers[:k]:
                    log(f"[{s}] {sc} run {round_ + 1} ...")
                    r = measure(s, sc, args, scratch)
                    log(f"[{s}] {sc}: accepted {r.get('accepted', 0)}/{r['n']} "
                        f"accept/s {fmt(r.get('accept_rate'))} e2e/s {fmt(r.get('e2e_rate'))} "
                        f"peak {fmt(r.get('peak_mib'), 1)} MiB {r.get('problem') or ''}")
                    runs[s].append(r)
            results += [combine(runs[s]) for s in args.servers]
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
