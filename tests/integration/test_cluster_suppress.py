"""The suppression list shared through Redis, and petrel cluster status
(docs/cluster.md): a real redis-server on a free loopback port, petreld
nodes with their own spools, each with [cluster] redis. An unsubscribe on
one node suppresses the recipient on the others; removals propagate; a
node started later, or one that missed changes while Redis was away,
catches up."""
import json
import os
import smtplib
import subprocess
import time

import pytest

from harness import HOST, LOCAL_DOMAIN, PETRELD, free_port, message, wait_until
from test_api import api, builder  # noqa: F401 (pytest fixture)
from test_unsubscribe import links_of, unsubscribe_path

PETREL = os.path.join(os.path.dirname(PETRELD), "petrel")
REDIS_SERVER = "/usr/bin/redis-server"


class Redis:
    """A redis-server with nothing on disk: stopping it loses everything,
    as a Redis without persistence does when it restarts."""

    def __init__(self, workdir):
        self.workdir = str(workdir)
        self.port = free_port()
        self.proc = None

    def start(self):
        log = open(os.path.join(self.workdir, "redis.log"), "ab")
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no",
             "--dir", self.workdir], stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        assert wait_until(lambda: self.ping(), 10), "redis-server did not start"
        return self

    def ping(self):
        return self.cli("PING").strip() == "PONG"

    def cli(self, *args):
        r = subprocess.run(["redis-cli", "-h", HOST, "-p", str(self.port), *args], capture_output=True, text=True,
                           timeout=10)
        return r.stdout

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    @property
    def url(self):
        return f"redis://{HOST}:{self.port}"


@pytest.fixture
def redis(tmp_path):
    if not os.access(REDIS_SERVER, os.X_OK):
        pytest.skip("redis-server is not installed (scripts/install-deps.sh)")
    d = tmp_path / "redis"
    d.mkdir()
    r = Redis(d).start()
    yield r
    r.stop()


@pytest.fixture
def cluster(api, redis):
    """cluster(n): n petreld nodes (n1, n2, ...) sharing `redis`, each with
    its HTTP API; returns [(petrel, api client), ...]. node(name) starts
    one more."""
    def node(name, extra=""):
        section = (f'[cluster]\nnode_name = "{name}"\nredis = "{redis.url}"\n'
                   f'heartbeat_interval = "200ms"\nheartbeat_ttl = "1500ms"\n{extra}')
        return api(extra=section)

    def start(n):
        return [node(f"n{i + 1}") for i in range(n)]
    start.node = node
    return start


def petrel_cli(p, *args):
    r = subprocess.run([PETREL, *args[:1], "--spool", p.spool, *args[1:]], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout, r.stderr


def listed(p, tenant=None):
    """(address, tenant, reason) of every entry in node p's list."""
    status, out, err = petrel_cli(p, "suppress", "--json", "list", *(["--tenant", tenant] if tenant is not None else []))
    assert status == 0, err
    return {(e["address"], e["tenant"], e["reason"]) for e in map(json.loads, out.splitlines())}


def cluster_status(p):
    status, out, err = petrel_cli(p, "cluster", "status", "--json")
    assert status == 0, err
    return json.loads(out)


def unsubscribe_through_the_link(p, client, user):
    """Mail with an unsubscribe link to user, delivered here; then the
    one-click POST a mail reader sends."""
    status, _, reply, _ = client.inject(builder([f"{user}@{LOCAL_DOMAIN}"], unsubscribe=True, campaign="december"))
    assert status == 200 and reply["accepted"] == 1, reply
    _, https, _ = links_of(p.wait_for_messages(user, 1)[0])
    status, _, _, page = client.request("POST", unsubscribe_path(https), body="List-Unsubscribe=One-Click", token="",
                                        content_type="application/x-www-form-urlencoded")
    assert status == 200 and b"unsubscribed" in page


def test_an_unsubscribe_on_node_1_suppresses_the_recipient_on_node_3(cluster, redis):
    (p1, c1), (p2, c2), (p3, c3) = cluster(3)
    ann = (f"ann@{LOCAL_DOMAIN}", "", "unsubscribe")
    unsubscribe_through_the_link(p1, c1, "ann")
    assert ann in listed(p1)
    started = time.monotonic()
    assert wait_until(lambda: ann in listed(p3), 2.0), p3.stderr()
    print(f"node 3 had the unsubscribe {time.monotonic() - started:.3f}s after node 1 confirmed it")
    assert wait_until(lambda: ann in listed(p2), 2.0)
    # Node 3 refuses the recipient as it refuses any suppressed one.
    status, _, reply, _ = c3.inject(builder([f"ann@{LOCAL_DOMAIN}", f"bob@{LOCAL_DOMAIN}"]))
    assert status == 200 and reply["accepted"] == 1
    assert reply["rejected"] == [{"email": f"ann@{LOCAL_DOMAIN}", "reason": "suppressed (unsubscribe)",
                                  "suppressed": "unsubscribe"}]
    # Redis holds it, with the node it came from.
    held = json.loads(redis.cli("HGET", "petrel:suppress:list:", f"ann@{LOCAL_DOMAIN}"))
    assert held["reason"] == "unsubscribe" and held["node"] == "n1"
    assert "suppression sync: following the shared list in Redis" in p3.log_text()


def test_a_tenant_entry_and_a_removal_propagate(cluster, redis):
    (p1, _), (p2, _), (p3, _) = cluster(3)
    assert petrel_cli(p2, "suppress", "add", "--tenant", "shop1", "--reason", "complaint", f"Cat@{LOCAL_DOMAIN}")[0] == 0
    cat = (f"cat@{LOCAL_DOMAIN}", "shop1", "complaint")
    assert wait_until(lambda: cat in listed(p1, "shop1") and cat in listed(p3, "shop1"), 5.0)
    assert petrel_cli(p3, "suppress", "remove", "--tenant", "shop1", f"cat@{LOCAL_DOMAIN}")[0] == 0
    assert wait_until(lambda: not listed(p1) and not listed(p2) and not listed(p3), 5.0)
    assert redis.cli("HLEN", "petrel:suppress:list:shop1").strip() == "0"


def test_a_node_started_later_catches_up(cluster):
    (p1, _), (p2, _) = cluster(2)
    for i in range(30):
        assert petrel_cli(p1 if i % 2 else p2, "suppress", "add", f"user{i}@{LOCAL_DOMAIN}")[0] == 0
    assert wait_until(lambda: len(listed(p1)) == 30 and len(listed(p2)) == 30, 5.0)
    p3, c3 = cluster.node("n3")
    assert wait_until(lambda: len(listed(p3)) == 30, 5.0), p3.stderr()
    status, _, reply, _ = c3.inject(builder([f"user7@{LOCAL_DOMAIN}"]))
    assert reply["accepted"] == 0 and reply["rejected"][0]["suppressed"] == "manual"
    # Restarted, it resumes from where it stood in the log.
    p3.stop()
    assert petrel_cli(p1, "suppress", "add", f"late@{LOCAL_DOMAIN}")[0] == 0
    p3.restart()
    assert wait_until(lambda: (f"late@{LOCAL_DOMAIN}", "", "manual") in listed(p3), 5.0), p3.stderr()
    with open(p3.logs[-1], encoding="utf-8", errors="replace") as f:
        second_start = f.read()
    assert "following the shared list in Redis from " in second_start and "full resync" not in second_start


def test_an_add_made_while_redis_is_down_reaches_the_others_once_it_is_back(cluster, redis):
    (p1, c1), (p2, _), (p3, _) = cluster(3)
    assert petrel_cli(p2, "suppress", "add", f"early@{LOCAL_DOMAIN}")[0] == 0
    assert wait_until(lambda: len(listed(p1)) == 1 and len(listed(p3)) == 1, 5.0)
    redis.stop()
    # The node's own list takes the change at once; sending goes on.
    assert petrel_cli(p1, "suppress", "add", f"down@{LOCAL_DOMAIN}")[0] == 0
    assert (f"down@{LOCAL_DOMAIN}", "", "manual") in listed(p1)
    status, _, reply, _ = c1.inject(builder([f"down@{LOCAL_DOMAIN}", f"bob@{LOCAL_DOMAIN}"]))
    assert status == 200 and reply["accepted"] == 1
    assert wait_until(lambda: "suppression sync: stopped" in p1.log_text(), 5.0)
    # Back, empty (no persistence): the change queued on n1 arrives, and
    # every node pushes what the new Redis lacks.
    redis.start()
    down = (f"down@{LOCAL_DOMAIN}", "", "manual")
    assert wait_until(lambda: down in listed(p3) and down in listed(p2), 15.0), p3.stderr()
    assert wait_until(lambda: redis.cli("HLEN", "petrel:suppress:list:").strip() == "2", 5.0)
    assert listed(p3) == listed(p1) == {down, (f"early@{LOCAL_DOMAIN}", "", "manual")}


def test_a_node_away_longer_than_the_log_holds_does_a_full_resync(cluster, redis):
    short_log = "shared_suppression_log_length = 1000\n"
    (p1, _), (p2, _) = cluster.node("n1", short_log), cluster.node("n2", short_log)
    assert petrel_cli(p1, "suppress", "add", f"first@{LOCAL_DOMAIN}")[0] == 0
    assert wait_until(lambda: len(listed(p2)) == 1, 5.0)
    p2.stop()
    many = [f"bulk{i}@{LOCAL_DOMAIN}" for i in range(3000)]
    assert petrel_cli(p1, "suppress", "add", *many)[0] == 0
    # All written, and the log trimmed (MAXLEN ~ trims whole nodes of the
    # stream: about 1000 entries kept).
    assert wait_until(lambda: redis.cli("HLEN", "petrel:suppress:list:").strip() == "3001", 10.0)
    assert int(redis.cli("XLEN", "petrel:suppress:log")) < 2000
    p2.restart()
    assert wait_until(lambda: len(listed(p2)) == 3001, 15.0), p2.stderr()
    with open(p2.logs[-1], encoding="utf-8", errors="replace") as f:
        assert "no longer holds what followed" in f.read()


def test_changes_beyond_a_full_queue_reach_redis_by_the_push(cluster, redis):
    (p1, _), (p2, _) = cluster.node("n1", "shared_suppression_queue = 2\n"), cluster.node("n2")
    assert wait_until(lambda: "following the shared list" in p2.log_text(), 5.0)
    # Redis answers nobody for 3 s, and keeps its data (the same epoch: no
    # full resync afterwards, only the push that follows an overflow).
    assert redis.cli("CLIENT", "PAUSE", "3000", "ALL").strip() == "OK"
    assert petrel_cli(p1, "suppress", "add", *[f"q{i}@{LOCAL_DOMAIN}" for i in range(5)])[0] == 0
    assert wait_until(lambda: "not queued" in p1.log_text(), 5.0), p1.stderr()
    assert wait_until(lambda: len(listed(p2)) == 5, 15.0), p1.stderr()
    assert "full resync" not in p1.log_text().split("not queued")[-1]


def test_cluster_status_lists_the_nodes_and_forgets_a_dead_one(cluster):
    nodes = cluster(3)
    p1 = nodes[0][0]
    assert wait_until(lambda: len(cluster_status(p1).get("nodes", [])) == 3, 5.0)
    assert wait_until(lambda: cluster_status(p1)["redis"]["suppression"]["state"] == "following", 5.0), \
        cluster_status(p1)
    s = cluster_status(p1)
    assert s["cluster"] is True and s["node"] == "n1"
    assert s["redis"]["connected"] is True and s["redis"]["suppression"]["state"] == "following"
    assert [n["name"] for n in s["nodes"]] == ["n1", "n2", "n3"]
    assert [n["self"] for n in s["nodes"]] == [True, False, False]
    assert all("queue" in n["heartbeat"] for n in s["nodes"])
    status, text, _ = petrel_cli(p1, "cluster", "status")
    print(text)
    assert status == 0 and "n1 *" in text and "3 nodes alive" in text
    # kill -9: its heartbeat ages, then goes with its TTL (1.5 s here).
    nodes[1][0].kill()
    def age_of_n2():
        return next((n["age_ms"] for n in cluster_status(p1)["nodes"] if n["name"] == "n2"), None)
    assert wait_until(lambda: age_of_n2() is None or age_of_n2() > 500, 5.0)
    assert wait_until(lambda: [n["name"] for n in cluster_status(p1)["nodes"]] == ["n1", "n3"], 10.0)


def test_cluster_status_shows_each_nodes_share_of_a_cluster_limit(cluster, receiver):
    far = receiver(HOST)
    extra = ('[relay]\ntrusted_networks = ["127.0.0.0/8"]\n'
             f'[delivery]\ntransport = {{ "far.test" = "smtp:[{HOST}]:{far.port}" }}\n'
             '[shaping.default]\nscope = "cluster"\nmax_message_rate = "60/s"\nconnection_limit = 4\n')
    (p1, _), (p2, _) = cluster.node("n1", extra), cluster.node("n2", extra)
    with smtplib.SMTP(p1.host, p1.port, local_hostname="client.test", timeout=30) as c:
        c.sendmail(f"sender@{LOCAL_DOMAIN}", ["x@far.test"], message(subject="through the cluster limit"))
    assert wait_until(lambda: len(far.messages) == 1, 10)

    def limits_of_n1():
        rows = [n for n in cluster_status(p2).get("nodes", []) if n["name"] == "n1"]
        return rows[0]["heartbeat"].get("limits", []) if rows else []
    # Its share is the limit over the live nodes it last saw: two, once
    # its heartbeat has seen n2's. (A connection_limit shows only while the
    # node has connections open under it.)
    def shown():
        return {(row["site"], row["kind"], row["limit"], row["share"]) for row in limits_of_n1()}
    site = f"smtp:[{HOST}]:{far.port}"
    assert wait_until(lambda: (site, "max_message_rate", "60/s", "30/s") in shown(), 5.0), shown()
    status, text, _ = petrel_cli(p2, "cluster", "status")
    print(text)
    assert "max_message_rate 30/s of 60/s" in text


def test_without_a_cluster_status_says_so(start_petrel):
    p = start_petrel()
    status, text, _ = petrel_cli(p, "cluster", "status")
    assert status == 0 and "not in a cluster" in text
    assert cluster_status(p) == {"ok": True, "cluster": False}
