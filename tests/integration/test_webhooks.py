"""Webhooks (docs/events.md): [[events.webhook]] gets signed JSON arrays of
events; a 5xx is retried (signed again, with the attempt's time), a 4xx
sets the batch aside for `petrel events failed`, types and tenants filter,
and a kill -9 while the endpoint is down loses no event of an
acknowledged message.

    PETRELD=/work/main/build/petreld /usr/bin/python3 -m pytest -q tests/integration/test_webhooks.py
"""
import json
import os
import subprocess

import pytest

from api_client import write_config
from harness import LOCAL_DOMAIN, PETRELD, free_port, wait_until
from shaping_setup import PETREL
from webhook_receiver import Receiver, verify

SECRET = b"webhook-secret-0123456789"


@pytest.fixture
def receivers():
    started = []

    def start(**kw):
        r = Receiver(**kw).start()
        started.append(r)
        return r
    yield start
    for r in started:
        r.stop()


@pytest.fixture
def petrel(start_petrel, tmp_path):
    """petrel(hooks): petreld with one [[events.webhook]] per dict in hooks."""
    def start(hooks, extra=""):
        secret = tmp_path / "webhook.secret"
        secret.write_bytes(SECRET + b"\n")   # the trailing newline is not part of it
        text = ""
        for h in hooks:
            text += "[[events.webhook]]\n" + f'secret_file = "{secret}"\nbatch_max_delay = "100ms"\n'
            text += "".join(f"{k} = {json.dumps(v)}\n" for k, v in h.items())
        path, _ = write_config(tmp_path, extra=text + extra)
        return start_petrel("--config", path)
    return start


def send(p, count, user="ann", headers=""):
    with p.smtp() as c:
        for i in range(count):
            c.sendmail(f"sender@{LOCAL_DOMAIN}", [f"{user}{i}@{LOCAL_DOMAIN}"],
                       f"Subject: w{i}\r\n{headers}\r\nbody\r\n".encode())


def test_events_arrive_as_signed_json_arrays(petrel, receivers):
    r = receivers()
    p = petrel([{"name": "ops", "url": r.url}])
    send(p, 3)
    assert wait_until(lambda: len(r.accepted_events()) == 6, 15), r.all_posts()
    events = r.accepted_events()
    assert sorted(e["type"] for e in events) == ["Delivery"] * 3 + ["Reception"] * 3
    assert len({e["event_id"] for e in events}) == 6
    for headers, body, _ in r.all_posts():
        assert headers["Content-Type"] == "application/json"
        assert verify(headers["X-Petrel-Signature"], SECRET, body), headers
        assert not verify(headers["X-Petrel-Signature"], b"another secret", body)
        assert isinstance(json.loads(body), list)
    # per message, its reception comes before its delivery
    for qid in {e["queue_id"] for e in events}:
        assert [e["type"] for e in events if e["queue_id"] == qid] == ["Reception", "Delivery"]


def test_a_5xx_is_retried_and_signed_again(petrel, receivers):
    r = receivers(script=[503, 500])
    p = petrel([{"name": "ops", "url": r.url, "batch_size": 10}])
    send(p, 1)
    assert wait_until(lambda: len(r.accepted_events()) == 2, 30), r.all_posts()
    posts = r.all_posts()
    assert [code for _, _, code in posts][:3] == [503, 500, 200]
    bodies = {body for _, body, _ in posts[:3]}
    assert len(bodies) == 1, "the same batch each time"
    for headers, body, _ in posts[:3]:
        assert verify(headers["X-Petrel-Signature"], SECRET, body)


def test_a_4xx_sets_the_batch_aside_for_petrel_events_failed(petrel, receivers):
    r = receivers(script=[400])
    p = petrel([{"name": "ops", "url": r.url}])
    send(p, 1)
    assert wait_until(lambda: len(r.all_posts()) >= 1, 15)

    def failed():
        out = subprocess.run([PETREL, "events", "--spool", p.spool, "--json", "failed"], capture_output=True,
                             timeout=30)
        assert out.returncode == 0, out.stderr
        return [json.loads(line) for line in out.stdout.decode().splitlines()]
    assert wait_until(failed, 10)
    [batch] = failed()
    assert batch["webhook"] == "ops" and batch["status"] == 400
    assert batch["events"] and batch["events"][0]["type"] == "Reception"
    table = subprocess.run([PETREL, "events", "--spool", p.spool, "failed"], capture_output=True, timeout=30)
    assert b"ops" in table.stdout and b"400" in table.stdout
    # later events still go (the webhook is not stuck behind the refused batch)
    send(p, 1, user="later")
    assert wait_until(lambda: any(e.get("recipient", "").startswith("later") for e in r.accepted_events()), 15)


def test_types_and_tenant_filter_what_a_webhook_gets(petrel, receivers):
    deliveries, shop = receivers(), receivers()
    p = petrel([{"name": "deliveries", "url": deliveries.url, "types": ["Delivery"]},
                {"name": "shop", "url": shop.url, "tenant": "shop1"}],
               extra='[relay]\ntrusted_networks = ["127.0.0.0/8"]\n')  # X-Tenant is taken from trusted clients
    send(p, 1, user="plain")
    send(p, 1, user="shop", headers="X-Tenant: shop1\r\n")
    assert wait_until(lambda: len(deliveries.accepted_events()) == 2, 15), (deliveries.accepted_events(), p.log_text())
    assert wait_until(lambda: len(shop.accepted_events()) == 2, 15), shop.all_posts()
    assert {e["type"] for e in deliveries.accepted_events()} == {"Delivery"}
    assert {e["tenant"] for e in shop.accepted_events()} == {"shop1"}


def test_kill_9_while_the_endpoint_is_down_loses_no_event(petrel, receivers):
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"          # nothing listens there: the endpoint is down
    p = petrel([{"name": "ops", "url": url, "max_retry_interval": "1s"}])
    send(p, 20)
    assert wait_until(lambda: all(len(p.message_files(f"ann{i}")) == 1 for i in range(20)), 15)
    assert wait_until(lambda: "not delivered" in p.log_text(), 15), p.log_text()  # tried, and refused
    p.kill()                     # kill -9 with every event still in the outbox
    r = receivers(port=port)     # the endpoint comes back
    p.start()
    def complete():
        events = r.accepted_events()
        by_qid = {}
        for e in events:
            by_qid.setdefault(e["queue_id"], []).append(e["type"])
        return len(by_qid) == 20 and all("Reception" in t and "Delivery" in t for t in by_qid.values())
    assert wait_until(complete, 30), r.accepted_events()
    events = r.accepted_events()
    # duplicates only within at-least-once: the same event ID each time
    seen = {}
    for e in events:
        key = e["event_id"]
        if key in seen:
            assert seen[key] == e, "a duplicate differs"
        seen[key] = e


def test_an_unreadable_secret_is_a_configuration_error_naming_the_webhook(tmp_path):
    config = tmp_path / "petreld.toml"
    config.write_text('[[events.webhook]]\nname = "crm"\nurl = "http://127.0.0.1:9/hook"\n'
                      f'secret_file = "{tmp_path}/missing.secret"\n')
    r = subprocess.run([PETRELD, "--config", str(config), "--check-config"], capture_output=True, timeout=30)
    assert r.returncode == 2, r
    assert f"{config}:1: webhook crm: cannot read a secret from {tmp_path}/missing.secret".encode() in r.stderr, r.stderr
