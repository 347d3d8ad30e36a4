"""Cluster-wide shaping in Redis (docs/cluster.md): three petreld nodes,
each with its own spool and egress address (127.0.0.2, .3, .4), relay to
one site (fast.test, a recorder on 127.0.0.42:25) whose block says
max_message_rate = "30/s" with scope = "cluster". The site sees the 30/s
of the cluster, not 30/s per node; while Redis is away each node keeps to
its share (30/3); Redis back, one node alone gets the whole rate; a node
killed with -9 leaves connection leases that expire by themselves.

    PETRELD=$PWD/build/petreld /usr/bin/python3 -m pytest -q tests/integration/test_cluster_shaping.py

Needs root (port 25 on 127.0.0.42), dnsmasq and redis-server (Debian's).
"""
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

from harness import free_port, wait_until
from shaping_setup import FAST, domain_block, inject, write_config
from test_shaping import log_tail, recorders, zone  # noqa: F401 (pytest fixtures)

SANITIZED = bool(os.environ.get("PETREL_SANITIZED"))
RATE = 30
SLACK = 3 if not SANITIZED else 6      # "≤ 33/s": network and scheduling jitter
NODES = (("node1", "127.0.0.2"), ("node2", "127.0.0.3"), ("node3", "127.0.0.4"))


# --------------------------------------------------------------------------
# Redis: a redis-server of its own, and a small RESP client

def resp(port, *args, timeout=2.0):
    """One command to Redis on 127.0.0.1:port; the reply as Python values."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        out = f"*{len(args)}\r\n".encode()
        for a in args:
            a = str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        s.sendall(out)
        f = s.makefile("rb")
        return _read(f)


def _read(f):
    line = f.readline().rstrip(b"\r\n")
    kind, rest = line[:1], line[1:]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode()
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read(f) for _ in range(n)]
    raise RuntimeError(f"unexpected reply {line!r}")


class Redis:
    def __init__(self, workdir):
        self.port = free_port("127.0.0.1")
        self.workdir = str(workdir)
        self.proc = None

    def start(self):
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed (apt-get install redis-server)")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.workdir],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        assert wait_until(lambda: self.ping(), 10), "redis-server did not start"
        return self

    def ping(self):
        try:
            return resp(self.port, "PING", timeout=0.5) == "PONG"
        except OSError:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def __call__(self, *args):
        return resp(self.port, *args)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"


@pytest.fixture
def redis(tmp_path):
    d = tmp_path / "redis"
    d.mkdir()
    r = Redis(d).start()
    yield r
    r.stop()


@pytest.fixture
def cluster(start_petrel, tmp_path, zone, redis):  # noqa: F811 (zone is a fixture)
    """cluster(**fast_limits): the three nodes, each with its own config,
    spool and egress source; fast.test limited with scope = "cluster"."""
    def start(**limits):
        nodes = []
        for name, address in NODES:
            sections = {
                "cluster": {"node_name": name, "redis": redis.url, "redis_timeout": "1s",
                            "heartbeat_interval": "500ms", "heartbeat_ttl": "3s", "lease_ttl": "2s"},
                "egress.source": [{"name": name, "address": address}],
                "egress.pool": [{"name": "main", "sources": [{"name": name, "weight": 1}]}],
                domain_block("fast.test"): {"max_message_rate": f"{RATE}/s", "scope": "cluster", **limits},
            }
            path = write_config(tmp_path / f"{name}.toml", zone, sections)
            nodes.append(start_petrel("--config", path))
        # every node has beaten once: each knows there are three
        assert wait_until(lambda: redis("ZCARD", "petrel:nodes") == 3, 10), redis("ZRANGE", "petrel:nodes", 0, -1)
        time.sleep(1.0)
        return nodes
    return start


def by_node(mx, t0=None, t1=None):
    """Delivery times per source address, within [t0, t1)."""
    peers = {c.id: c.peer[0] for c in mx.connections}
    out = {}
    for m in mx.messages:
        if (t0 is None or m.time >= t0) and (t1 is None or m.time < t1):
            out.setdefault(peers.get(m.connection), []).append(m.time)
    return out


def windows_after(times, start, window=1.0):
    """The most events in a window [t, t + window) with t ≥ start."""
    ts = sorted(t for t in times if t >= start)
    best = j = 0
    for i, t in enumerate(ts):
        j = max(j, i)
        while j < len(ts) and ts[j] < t + window:
            j += 1
        best = max(best, j - i)
    return best


def rcpts(prefix, n):
    return [f"{prefix}{i}@fast.test" for i in range(n)]


def inject_all(nodes, per_node, tag):
    for i, node in enumerate(nodes):
        inject(node, rcpts(f"{tag}n{i}u", per_node))


def logs(nodes):
    return "\n".join(f"--- {n.log_text().count(chr(10))} lines\n{log_tail(n, 15)}" for n in nodes)


# --------------------------------------------------------------------------

def test_three_nodes_share_one_message_rate_and_deliver_each_message_once(recorders, cluster, redis):  # noqa: F811
    mx = recorders(FAST)
    nodes = cluster()
    inject_all(nodes, 100, "a")
    assert mx.wait_for_messages(300, 60), f"{mx.message_count()} of 300\n{logs(nodes)}"
    want = sorted(rcpts("an0u", 100) + rcpts("an1u", 100) + rcpts("an2u", 100))
    assert sorted(mx.recipients()) == want, "each message once"
    times = [m.time for m in mx.messages]
    first = min(times)
    # A per-node limit would give 90/s; the cluster's is 30/s.
    assert windows_after(times, first + 1.0) <= RATE + SLACK, mx.summary(limit=30)
    assert max(times) - first >= 300 / RATE - 2, "300 messages at 30/s take about 10 s"
    assert set(by_node(mx)) == {a for _, a in NODES}, "every node delivered"
    stats = {k: v for line in redis("INFO", "commandstats").splitlines() if line.startswith("cmdstat_")
             for k, v in [line.split(":", 1)]}
    print(f"busiest 1-s window after the first second: {windows_after(times, first + 1.0)}; "
          f"Redis commands for 300 messages: {stats}")


def test_without_redis_each_node_keeps_its_share_and_rejoins(recorders, cluster, redis):  # noqa: F811
    mx = recorders(FAST)
    nodes = cluster()
    inject_all(nodes, 60, "b")
    time.sleep(1.5)
    redis.stop()
    down = time.monotonic()
    # Mail keeps flowing at the fallback share (30/3 per node).
    assert wait_until(lambda: all("falls back" in n.log_text() for n in nodes), 5), logs(nodes)
    assert mx.wait_for_messages(180, 40), f"{mx.message_count()} of 180 with Redis away\n{logs(nodes)}"
    up_at = down + 15
    per = by_node(mx, t0=down + 1.0, t1=up_at)
    assert per, "mail flowed while Redis was away"
    for address, times in per.items():
        assert windows_after(times, down + 1.0) <= RATE // 3 + SLACK, (address, len(times))
    time.sleep(max(0, up_at - time.monotonic()))
    redis.start()
    assert wait_until(lambda: all("shared again" in n.log_text() for n in nodes), 10), logs(nodes)
    for n in nodes:
        assert n.log_text().count("falls back") == 1, "the fallback is logged once"
    assert sorted(mx.recipients()) == sorted(rcpts("bn0u", 60) + rcpts("bn1u", 60) + rcpts("bn2u", 60))
    # Redis back: one node alone with mail gets the whole cluster rate.
    time.sleep(1.0)
    start = time.monotonic()
    inject(nodes[0], rcpts("c", 90))
    assert mx.wait_for_messages(270, 30), f"{mx.message_count()} of 270\n{logs(nodes)}"
    alone = by_node(mx, t0=start)
    assert set(alone) == {"127.0.0.2"}, alone.keys()
    assert windows_after(alone["127.0.0.2"], start) > 15, "more than the 10/s of a third"
    assert windows_after(alone["127.0.0.2"], min(alone["127.0.0.2"]) + 1.0) <= RATE + SLACK


def test_a_killed_node_leaves_leases_that_expire(recorders, cluster, redis):  # noqa: F811
    mx = recorders(FAST)
    nodes = cluster(connection_limit=3)
    inject_all(nodes, 40, "d")
    dead = nodes[2]

    def node3_leases():
        found = []
        for key in redis("KEYS", "petrel:lease:*"):
            members = redis("ZRANGE", key, 0, -1, "WITHSCORES")
            found += [(members[i], int(members[i + 1])) for i in range(0, len(members), 2)
                      if members[i].startswith("node3:")]
        return found
    assert wait_until(lambda: node3_leases(), 10), "node3 holds a connection lease"
    dead.kill()
    killed = time.monotonic()
    # The others go on and deliver all of theirs.
    want = set(rcpts("dn0u", 40) + rcpts("dn1u", 40))
    assert wait_until(lambda: want <= set(mx.recipients()), 30), f"{mx.summary()}\n{logs(nodes[:2])}"
    # Its leases were not renewed: after the TTL (2 s) none is current.
    time.sleep(max(0, killed + 2.5 - time.monotonic()))
    now_s, now_us = redis("TIME")
    now_ms = int(now_s) * 1000 + int(now_us) // 1000
    assert all(expiry <= now_ms for _, expiry in node3_leases()), (node3_leases(), now_ms)
    # Limits held the whole time: at most 3 connections at once.
    assert mx.max_concurrency() <= 3, mx.summary()
    assert len(mx.recipients()) == len(set(mx.recipients())), "each message once"


# --------------------------------------------------------------------------
# rediss://: TLS to Redis (the client's own tunnel; libhiredis 0.14 has none)

def tls_redis(tmp_path):
    """redis-server with a plain port (for the test's own looks) and a TLS
    one (for the node), its certificate for IP 127.0.0.1; returns
    (process, plain port, tls port, CA file)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    d = tmp_path / "tls-redis"
    d.mkdir()
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=redis.test", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    plain, tls = free_port("127.0.0.1"), free_port("127.0.0.1")
    proc = subprocess.Popen([binary, "--port", str(plain), "--tls-port", str(tls), "--bind", "127.0.0.1",
                             "--tls-cert-file", str(cert), "--tls-key-file", str(key), "--tls-ca-cert-file",
                             str(cert), "--tls-auth-clients", "no", "--save", "", "--appendonly", "no",
                             "--dir", str(d)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    assert wait_until(lambda: _pong(plain), 10), "redis-server did not start"
    return proc, plain, tls, cert


def _pong(port):
    try:
        return resp(port, "PING", timeout=0.5) == "PONG"
    except OSError:
        return False


def test_rediss_carries_the_shared_limits_over_tls(recorders, start_petrel, tmp_path, zone):  # noqa: F811
    mx = recorders(FAST)
    proc, plain, tls, ca = tls_redis(tmp_path)
    try:
        sections = {
            "cluster": {"node_name": "tls1", "redis": f"rediss://127.0.0.1:{tls}", "redis_tls_ca": str(ca),
                        "redis_timeout": "1s", "heartbeat_interval": "500ms", "heartbeat_ttl": "3s"},
            domain_block("fast.test"): {"max_message_rate": f"{RATE}/s", "scope": "cluster"},
        }
        node = start_petrel("--config", write_config(tmp_path / "tls1.toml", zone, sections))
        # The heartbeat arrived through TLS (seen on the plain port).
        assert wait_until(lambda: resp(plain, "ZCARD", "petrel:nodes") == 1, 10), log_tail(node, 30)
        inject(node, rcpts("tls", 20))
        assert mx.wait_for_messages(20, 30), f"{mx.message_count()} of 20\n{log_tail(node, 30)}"
        assert sorted(mx.recipients()) == sorted(rcpts("tls", 20))
        assert resp(plain, "KEYS", "petrel:gcra:*"), "the rate's cells came from Redis"

        # A CA that did not sign Redis' certificate: no connection, the
        # node keeps its local share and says why.
        other = tmp_path / "other-ca.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        str(tmp_path / "other-key.pem"), "-out", str(other), "-days", "1", "-subj", "/CN=other"],
                       check=True, capture_output=True)
        sections["cluster"] = dict(sections["cluster"], node_name="tls2", redis_tls_ca=str(other))
        bad = start_petrel("--config", write_config(tmp_path / "tls2.toml", zone, sections))
        assert wait_until(lambda: "redis TLS: cannot reach" in bad.log_text(), 15), log_tail(bad, 30)
        assert resp(plain, "ZCARD", "petrel:nodes") == 1, "the untrusted node never beat"
    finally:
        proc.kill()
        proc.wait(10)
