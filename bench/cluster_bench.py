"""C1-cluster: what does scope = "cluster" cost one node? (docs/cluster.md,
"Scale-out arithmetic").

One petreld relays N messages (smtp-source, 20 sessions, 1 KiB) to one
site, the tests' recording receiver on 127.0.0.2 (a [delivery] transport
route, no DNS), three ways:

  local          [shaping.default] connection_limit = 20 (no Redis)
  cluster-lease  the same with scope = "cluster": a lease in Redis per connection
  cluster-rate   scope = "cluster" and max_message_rate = "100000/s": the
                 GCRA in Redis on every message (far above what one node
                 sends, so it paces nothing), plus the leases

Reported per run: messages/s from the first message sent to the last one
received, and the Redis round trips (petrel_redis_requests_total, by
purpose, read from /metrics) per 1,000 messages.

    /usr/bin/python3 bench/cluster_bench.py [--n 3000] [--repeat 1]
    PETRELD=build/petreld ...   (default: build/petreld next to this tree)
"""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from recorder import Recorder  # noqa: E402 (the tests' receiver)

PETRELD = os.environ.get("PETRELD", os.path.join(ROOT, "build", "petreld"))
RECEIVER = "127.0.0.2"


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def config(mode, receiver_port, redis_port, http_port):
    lines = ["[relay]", 'trusted_networks = ["127.0.0.0/8"]',
             "[delivery]", 'retry_intervals = ["1s"]', "mta_sts = false",
             f'transport = {{ "bench.test" = "smtp:[{RECEIVER}]:{receiver_port}" }}',
             "[http]", f'listen = "127.0.0.1:{http_port}"',
             "[shaping.default]", "connection_limit = 20"]
    if mode != "local":
        lines.append('scope = "cluster"')
    if mode == "cluster-rate":
        lines.append('max_message_rate = "100000/s"')
    if mode != "local":
        lines += ["[cluster]", 'node_name = "bench1"', f'redis = "redis://127.0.0.1:{redis_port}"']
    return "\n".join(lines) + "\n"


def redis_requests(http_port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=5).read().decode()
    out = {}
    for m in re.finditer(r'^petrel_redis_requests_total\{purpose="([a-z]+)",result="([a-z]+)"\} (\d+)', text, re.M):
        out[m.group(1)] = out.get(m.group(1), 0) + int(m.group(3))
    return out


def run(mode, n, scratch):
    d = tempfile.mkdtemp(prefix=f"{mode}.", dir=scratch)
    redis = None
    redis_port = free_port()
    if mode != "local":
        redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                                  "--appendonly", "no", "--dir", d], stdout=subprocess.DEVNULL)
        assert wait_port(redis_port), "redis-server did not start"
    rec = Recorder(RECEIVER, port=free_port(RECEIVER)).start()
    smtp_port, http_port = free_port(), free_port()
    conf = os.path.join(d, "petreld.toml")
    with open(conf, "w") as f:
        f.write(config(mode, rec.port, redis_port, http_port))
    log = open(os.path.join(d, "petreld.log"), "wb")
    srv = subprocess.Popen([PETRELD, "--config", conf, "--listen", f"127.0.0.1:{smtp_port}", "--spool",
                            os.path.join(d, "spool"), "--maildir", os.path.join(d, "mail"), "--local-domain",
                            "localhost.test", "--hostname", "bench.local", "--no-auth-checks", "--log-level", "warn"],
                           stdout=log, stderr=log, start_new_session=True)
    try:
        assert wait_port(smtp_port), f"petreld did not start: see {d}/petreld.log"
        time.sleep(1.0)
        start = time.monotonic()
        subprocess.run(["smtp-source", "-s", "20", "-m", str(n), "-l", "1024", "-f", "sender@localhost.test",
                        "-t", "user@bench.test", f"127.0.0.1:{smtp_port}"], check=True, capture_output=True)
        end = time.monotonic() + 300
        while rec.message_count() < n and time.monotonic() < end:
            time.sleep(0.02)
        got = rec.message_count()
        last = max(m.time for m in rec.messages)
        rate = got / (last - start)
        requests = redis_requests(http_port) if mode != "local" else {}
        return {"mode": mode, "n": n, "delivered": got, "msg_per_s": round(rate, 1),
                "redis_per_1000": {k: round(v * 1000 / got, 1) for k, v in sorted(requests.items())},
                "redis_total_per_1000": round(sum(requests.values()) * 1000 / got, 1) if requests else 0}
    finally:
        srv.send_signal(signal.SIGTERM)
        srv.wait(20)
        rec.stop()
        if redis:
            redis.kill()
            redis.wait(10)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    for tool in ("redis-server", "smtp-source"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (scripts/install-deps.sh)")
    scratch = tempfile.mkdtemp(prefix="cluster-bench.")
    try:
        for _ in range(args.repeat):
            for mode in ("local", "cluster-lease", "cluster-rate"):
                print(run(mode, args.n, scratch), flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
