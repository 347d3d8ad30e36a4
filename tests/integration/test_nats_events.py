"""Events on NATS JetStream (docs/cluster.md): with [cluster] nats, every
event of the event log is published to petrel.events.<tenant>.<type>, once
(Nats-Msg-Id is its event_id), into a stream covering petrel.events.>:
PETREL_EVENTS, made when there is none, or the operator's own. NATS killed
mid-run and started again: the outbox keeps what could not be published
and replays it; none lost, none twice.

    PETRELD=/work/main/build/petreld /usr/bin/python3 -m pytest -q tests/integration/test_nats_events.py
"""
import json
import os

import pytest

from api_client import Api, write_config
from harness import LOCAL_DOMAIN, wait_until
from nats_client import NATS_SERVER, NatsServer, stream_count, wait_stream_count

pytestmark = pytest.mark.skipif(not os.access(NATS_SERVER, os.X_OK), reason="nats-server is not installed")


@pytest.fixture
def nats(tmp_path):
    started = []

    def start(name="nats"):
        s = NatsServer(tmp_path / name).start()
        started.append(s)
        return s
    yield start
    for s in started:
        s.stop()


@pytest.fixture
def petrel(start_petrel, tmp_path):
    """petrel(server): petreld with [events] file and [cluster] nats; returns
    (petrel, path of the event log)."""
    def start(server, node="node-1"):
        log = tmp_path / "log" / "events.jsonl"
        path, http_port = write_config(tmp_path, extra=f'[events]\nfile = "{log}"\n'
                                                       f'[relay]\ntrusted_networks = ["127.0.0.0/8"]\n'
                                                       f'[cluster]\nnode_name = "{node}"\nnats = "{server.url}"\n')
        p = start_petrel("--config", path)
        p.api = Api(http_port)
        return p, log
    return start


def logged(log):
    if not os.path.exists(log):
        return []
    with open(log) as f:
        return [json.loads(line) for line in f]


def send(p, count, user="ann", headers=""):
    with p.smtp() as c:
        for i in range(count):
            c.sendmail(f"sender@{LOCAL_DOMAIN}", [f"{user}{i}@{LOCAL_DOMAIN}"],
                       f"Subject: n{i}\r\n{headers}\r\nbody\r\n".encode())


def deliveries(log, user):
    return [e for e in logged(log) if e["type"] == "Delivery" and e["recipient"].startswith(user)]


def expected_subject(event):
    tenant = event.get("tenant") or "default"
    for c in ". *>":
        tenant = tenant.replace(c, "_")
    return f"petrel.events.{tenant}.{event['type']}"


def assert_stream_holds_the_log_once(server, stream, log, node="node-1"):
    events = logged(log)
    assert wait_stream_count(server, stream, len(events), 30), (stream_count(server, stream), len(events))
    with server.client() as n:
        stored = n.stream_messages(stream)
    ids = [h["Nats-Msg-Id"] for _, h, _ in stored]
    assert len(ids) == len(set(ids)), "an event is in the stream twice"
    assert sorted(ids) == sorted(e["event_id"] for e in events)
    by_id = {e["event_id"]: e for e in events}
    for subject, headers, data in stored:
        e = by_id[headers["Nats-Msg-Id"]]
        assert subject == expected_subject(e)
        assert headers["Petrel-Node"] == node
        assert json.loads(data) == e  # the same JSON as the event log's line
    return stored


def test_every_event_is_published_once_to_a_stream_petreld_creates(nats, petrel):
    server = nats()
    p, log = petrel(server)
    send(p, 10)
    send(p, 2, user="shop", headers="X-Tenant: shop.example\r\n")
    assert p.api.request("POST", "/api/v1/suppressions",
                         {"addresses": ["gone@example.net"], "reason": "manual"})[0] == 200
    assert wait_until(lambda: len(deliveries(log, "ann")) == 10 and len(deliveries(log, "shop")) == 2, 15)
    assert wait_until(lambda: any(e["type"] == "Suppression" for e in logged(log)), 10)
    stored = assert_stream_holds_the_log_once(server, "PETREL_EVENTS", log)
    subjects = {s for s, _, _ in stored}
    assert {"petrel.events.default.Reception", "petrel.events.default.Delivery",
            "petrel.events.shop_example.Reception", "petrel.events.default.Suppression"} <= subjects
    [stream] = server.jsz()["account_details"][0]["stream_detail"]
    assert stream["name"] == "PETREL_EVENTS" and stream["config"]["storage"] == "file"
    assert stream["config"]["subjects"] == ["petrel.events.>"]
    metrics = p.api.request("GET", "/metrics")[3].decode()
    assert "petrel_nats_connected 1" in metrics and "petrel_nats_pending_events 0" in metrics
    assert f"petrel_nats_published_total {len(stored)}" in metrics


def test_events_made_while_nats_is_down_are_published_when_it_is_back(nats, petrel):
    server = nats()
    p, log = petrel(server)
    send(p, 5, user="before")
    assert wait_until(lambda: len(deliveries(log, "before")) == 5, 15)
    assert wait_stream_count(server, "PETREL_EVENTS", len(logged(log)), 30)

    server.stop()  # kill -9
    send(p, 10, user="during")  # mail does not wait for NATS
    assert wait_until(lambda: len(deliveries(log, "during")) == 10, 15), p.log_text()
    assert wait_until(lambda: "nats: disconnected" in p.log_text(), 10), p.log_text()

    server.start()  # the same store and port
    send(p, 3, user="after")
    assert wait_until(lambda: len(deliveries(log, "after")) == 3, 15)
    assert wait_until(lambda: "nats: connected again" in p.log_text(), 30), p.log_text()
    assert_stream_holds_the_log_once(server, "PETREL_EVENTS", log)
    assert p.log_text().count("nats: disconnected") == 1  # said once, not per event or per try


def test_a_restart_of_petreld_publishes_nothing_twice(nats, petrel):
    server = nats()
    p, log = petrel(server)
    send(p, 4)
    assert wait_until(lambda: len(deliveries(log, "ann")) == 4, 15)
    assert wait_stream_count(server, "PETREL_EVENTS", len(logged(log)), 30)
    p.restart()
    send(p, 2, user="bob")
    assert wait_until(lambda: len(deliveries(log, "bob")) == 2, 15)
    assert_stream_holds_the_log_once(server, "PETREL_EVENTS", log)


def test_an_existing_stream_covering_the_events_is_used(nats, petrel):
    server = nats()
    with server.client() as n:
        assert "error" not in n.add_stream("MAIL_EVENTS", ["petrel.>"])
    p, log = petrel(server)
    send(p, 3)
    assert wait_until(lambda: len(deliveries(log, "ann")) == 3, 15)
    assert_stream_holds_the_log_once(server, "MAIL_EVENTS", log)
    with server.client() as n:
        assert n.stream_info("PETREL_EVENTS")["error"]["err_code"] == 10059  # not made
    assert "events go to the JetStream stream MAIL_EVENTS" in p.log_text()


def test_petreld_starts_and_takes_mail_while_nats_is_not_there_yet(nats, petrel, tmp_path):
    server = NatsServer(tmp_path / "late")  # not started
    p, log = petrel(server)
    send(p, 3)
    assert wait_until(lambda: len(deliveries(log, "ann")) == 3, 15)
    assert "not reachable yet" in p.log_text()
    server.start()
    try:
        assert_stream_holds_the_log_once(server, "PETREL_EVENTS", log)
    finally:
        server.stop()


def test_cluster_status_of_a_node_with_nats_alone_shows_the_link(nats, petrel):
    import subprocess
    from harness import PETRELD
    server = nats()
    p, _ = petrel(server, node="solo")
    assert wait_until(lambda: "petrel_nats_connected 1" in p.api.request("GET", "/metrics")[3].decode(), 15)
    petrel_cli = os.path.join(os.path.dirname(PETRELD), "petrel")
    r = subprocess.run([petrel_cli, "cluster", "--spool", p.spool, "status", "--json"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    status = json.loads(r.stdout)
    assert status["cluster"] is True and status["node"] == "solo"
    nats_link = status["links"]["nats"]
    assert nats_link["connected"] is True and nats_link["url"] == server.url
    r = subprocess.run([petrel_cli, "cluster", "--spool", p.spool, "status"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0 and "connected" in r.stdout and "set [cluster] redis" in r.stdout, r.stdout


def test_three_nodes_publish_every_event_once_through_a_nats_restart(nats, start_petrel, tmp_path):
    """Three petrelds, each with its own spool and event log, publish to one
    JetStream; NATS is killed and started again while they take mail. The
    stream holds every event of every node once, each with its node's name."""
    server = nats()
    nodes = []
    for i in (1, 2, 3):
        d = tmp_path / f"node{i}"
        d.mkdir()
        log = d / "events.jsonl"
        path, http_port = write_config(d, extra=f'[events]\nfile = "{log}"\n'
                                                f'[relay]\ntrusted_networks = ["127.0.0.0/8"]\n'
                                                f'[cluster]\nnode_name = "node-{i}"\nnats = "{server.url}"\n')
        nodes.append((start_petrel("--config", path), log, f"node-{i}"))
    for p, _, _ in nodes:
        send(p, 4, user="before")
    server.stop()  # kill -9, mid-run
    for p, _, _ in nodes:
        send(p, 4, user="during")
    for p, log, _ in nodes:
        assert wait_until(lambda: len(deliveries(log, "during")) == 4, 15), p.log_text()
    server.start()
    for p, log, _ in nodes:
        send(p, 2, user="after")
        assert wait_until(lambda: len(deliveries(log, "after")) == 2, 15)
    total = sum(len(logged(log)) for _, log, _ in nodes)
    assert wait_stream_count(server, "PETREL_EVENTS", total, 60), (stream_count(server, "PETREL_EVENTS"), total)
    with server.client() as n:
        stored = n.stream_messages("PETREL_EVENTS")
    ids = [h["Nats-Msg-Id"] for _, h, _ in stored]
    assert len(ids) == len(set(ids)), "an event is in the stream twice"
    for _, log, node in nodes:
        mine = {h["Nats-Msg-Id"] for _, h, _ in stored if h["Petrel-Node"] == node}
        assert mine == {e["event_id"] for e in logged(log)}, node
