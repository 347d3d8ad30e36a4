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

With --nodes 3, three nodes (each its own spool, node_name and smtp-source
with a third of the messages) relay to the same receiver at once: the
aggregate messages/s. They share this machine's cores, so the figure says
what the cluster costs, not how it scales.

    /usr/bin/python3 bench/cluster_bench.py [--n 3000] [--repeat 1] [--nodes 1]
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


def config(mode, receiver_port, redis_port, http_port, node=1):
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
        lines += ["[cluster]", f'node_name = "bench{node}"', f'redis = "redis://127.0.0.1:{redis_port}"']
    return "\n".join(lines) + "\n"


def redis_requests(http_port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=5).read().decode()
    out = {}
    for m in re.finditer(r'^petrel_redis_requests_total\{purpose="([a-z]+)",result="([a-z]+)"\} (\d+)', text, re.M):
        out[m.group(1)] = out.get(m.group(1), 0) + int(m.group(3))
    return out


def start_node(mode, d, node, receiver_port, redis_port):
    """One petreld; returns (process, smtp port, http port)."""
    smtp_port, http_port = free_port(), free_port()
    conf = os.path.join(d, f"petreld{node}.toml")
    with open(conf, "w") as f:
        f.write(config(mode, receiver_port, redis_port, http_port, node))
    log = open(os.path.join(d, f"petreld{node}.log"), "wb")
    srv = subprocess.Popen([PETRELD, "--config", conf, "--listen", f"127.0.0.1:{smtp_port}", "--spool",
                            os.path.join(d, f"spool{node}"), "--maildir", os.path.join(d, f"mail{node}"),
                            "--local-domain", "localhost.test", "--hostname", f"bench{node}.local",
                            "--no-auth-checks", "--log-level", "warn"],
                           stdout=log, stderr=log, start_new_session=True)
    assert wait_port(smtp_port), f"petreld did not start: see {d}/petreld{node}.log"
    return srv, smtp_port, http_port


def run(mode, n, scratch, nodes=1):
    d = tempfile.mkdtemp(prefix=f"{mode}.", dir=scratch)
    redis = None
    redis_port = free_port()
    if mode != "local":
        redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                                  "--appendonly", "no", "--dir", d], stdout=subprocess.DEVNULL)
        assert wait_port(redis_port), "redis-server did not start"
    rec = Recorder(RECEIVER, port=free_port(RECEIVER)).start()
    started = []
    try:
        for node in range(1, nodes + 1):
            started.append(start_node(mode, d, node, rec.port, redis_port))
        time.sleep(1.0)
        start = time.monotonic()
        each = n // nodes
        sources = [subprocess.Popen(["smtp-source", "-s", str(max(1, 20 // nodes)), "-m", str(each), "-l", "1024",
                                     "-f", "sender@localhost.test", "-t", "user@bench.test", f"127.0.0.1:{port}"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for _, port, _ in started]
        for source in sources:
            assert source.wait(600) == 0, "smtp-source failed"
        total = each * nodes
        end = time.monotonic() + 300
        while rec.message_count() < total and time.monotonic() < end:
            time.sleep(0.02)
        got = rec.message_count()
        last = max(m.time for m in rec.messages)
        rate = got / (last - start)
        requests = {}
        if mode != "local":
            for _, _, http_port in started:
                for k, v in redis_requests(http_port).items():
                    requests[k] = requests.get(k, 0) + v
        return {"mode": mode, "nodes": nodes, "n": total, "delivered": got, "msg_per_s": round(rate, 1),
                "redis_per_1000": {k: round(v * 1000 / got, 1) for k, v in sorted(requests.items())},
                "redis_total_per_1000": round(sum(requests.values()) * 1000 / got, 1) if requests else 0}
    finally:
        for srv, _, _ in started:
            srv.send_signal(signal.SIGTERM)
        for srv, _, _ in started:
            srv.wait(20)
        rec.stop()
        if redis:
            redis.kill()
            redis.wait(10)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--nodes", type=int, default=1, help="petreld nodes relaying at once (default 1)")
    args = ap.parse_args()
    for tool in ("redis-server", "smtp-source"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (scripts/install-deps.sh)")
    scratch = tempfile.mkdtemp(prefix="cluster-bench.")
    try:
        for _ in range(args.repeat):
            for mode in ("local", "cluster-lease", "cluster-rate"):
                print(run(mode, args.n, scratch, args.nodes), flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
