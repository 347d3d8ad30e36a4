"""The event log (docs/events.md): [events] file gets one JSON line per
event - Reception, Delivery, TransientFailure, Bounce, Expiration - with
the documented fields; a torn last line left by a crash is cut off when
petreld starts again.

    PETRELD=/work/main/build/petreld /usr/bin/python3 -m pytest -q tests/integration/test_events.py
"""
import json
import os
import subprocess

import pytest

from api_client import Api, write_config
from harness import LOCAL_DOMAIN, wait_until
from shaping_setup import PETREL

FAR = "far.test"


@pytest.fixture
def relay(start_petrel, tmp_path):
    """relay(extra=""): petreld with [events] file, the loopback trusted;
    returns (petrel, path of the event log)."""
    def start(extra=""):
        log = tmp_path / "log" / "events.jsonl"
        path, http_port = write_config(tmp_path, extra=f'[events]\nfile = "{log}"\n'
                                                       f'[relay]\ntrusted_networks = ["127.0.0.0/8"]\n{extra}')
        p = start_petrel("--config", path)
        p.http_port = http_port
        return p, log
    return start


def events(log):
    if not os.path.exists(log):
        return []
    with open(log) as f:
        return [json.loads(line) for line in f]


def of_type(log, kind):
    return [e for e in events(log) if e["type"] == kind]


def far_route(r, retry="1s"):
    return f'[delivery]\ntransport = {{ "{FAR}" = "smtp:[{r.host}]:{r.port}" }}\nretry_intervals = ["{retry}"]\n'


def send(p, rcpt, sender=f"sender@{LOCAL_DOMAIN}", headers=""):
    with p.smtp() as c:
        c.sendmail(sender, [rcpt], f"Subject: events\r\n{headers}\r\nbody\r\n".encode())


def test_a_local_message_has_its_reception_and_its_delivery(relay):
    p, log = relay()
    send(p, f"ann@{LOCAL_DOMAIN}", headers="X-Campaign: winter\r\n")
    assert wait_until(lambda: of_type(log, "Delivery"), 10), events(log)
    [rx] = of_type(log, "Reception")
    [dl] = of_type(log, "Delivery")
    assert rx["queue_id"] == dl["queue_id"] and len(rx["queue_id"]) == 16
    assert rx["event_id"] != dl["event_id"]
    assert rx["sender"] == f"sender@{LOCAL_DOMAIN}" and rx["listener"] == f"{p.host}:{p.port}"
    assert rx["client_address"] == "127.0.0.1" and rx["size"] > 0
    assert rx["campaign"] == dl["campaign"] == "winter"
    assert dl["recipient"] == f"ann@{LOCAL_DOMAIN}" and dl["domain"] == LOCAL_DOMAIN and dl["site"] == "local"
    assert dl["response"]["code"] == 250 and dl["attempt"] == 1 and dl["queue_time_ms"] >= 0
    for e in (rx, dl):
        assert e["timestamp"].endswith("Z") and "." in e["timestamp"]  # RFC 3339 with milliseconds


def test_a_remote_refusal_is_a_bounce_with_its_response_and_class(relay, receiver):
    mx = receiver("127.0.0.64", reply="550 5.1.1 The email account that you tried to reach does not exist",
                  reply_at="RCPT")
    p, log = relay(far_route(mx))
    send(p, f"ann@{FAR}")
    assert wait_until(lambda: of_type(log, "Bounce"), 15), events(log)
    [b] = of_type(log, "Bounce")
    assert b["recipient"] == f"ann@{FAR}" and b["domain"] == FAR
    assert b["response"] == {"code": 550, "enhanced_code": "5.1.1",
                             "text": "The email account that you tried to reach does not exist"}
    assert b["bounce_class"] == "invalid_recipient"
    assert b["mx_host"].endswith(f"[{mx.host}]:{mx.port}") and b["peer_address"] == mx.host
    assert b["site"]


def test_a_deferral_then_a_delivery_are_two_events_of_two_attempts(relay, receiver):
    mx = receiver("127.0.0.65", reply="451 4.3.0 try again later", reply_at="RCPT", reply_first=1)
    p, log = relay(far_route(mx))
    send(p, f"bob@{FAR}")
    assert wait_until(lambda: of_type(log, "Delivery"), 20), events(log)
    [t] = of_type(log, "TransientFailure")
    [d] = of_type(log, "Delivery")
    assert t["attempt"] == 1 and d["attempt"] == 2
    assert t["response"]["code"] == 451 and d["response"]["code"] == 250
    assert t["event_id"] != d["event_id"] and t["queue_id"] == d["queue_id"]


def test_an_expired_message_has_an_expiration(relay, receiver):
    mx = receiver("127.0.0.66", reply="451 4.3.0 never", reply_at="RCPT")
    p, log = relay(far_route(mx) + 'max_queue_lifetime = "2s"\n')
    send(p, f"carol@{FAR}")
    assert wait_until(lambda: of_type(log, "Expiration"), 20), events(log)
    [x] = of_type(log, "Expiration")
    assert x["recipient"] == f"carol@{FAR}" and x["response"]["enhanced_code"] == "4.4.7"


def test_a_torn_last_line_is_cut_off_at_start(relay):
    p, log = relay()
    send(p, f"ann@{LOCAL_DOMAIN}")
    assert wait_until(lambda: of_type(log, "Delivery"), 10)
    p.kill()  # kill -9
    with open(log, "a") as f:
        f.write('{"type":"Deliv')   # what a crash in the middle of a write leaves
    p.start()
    send(p, f"dan@{LOCAL_DOMAIN}")
    assert wait_until(lambda: len(of_type(log, "Delivery")) == 2, 10), open(log).read()
    assert all(isinstance(e, dict) for e in events(log))  # every line parses


def test_operator_commands_and_suppressions_are_events(relay):
    p, log = relay()
    client = Api(p.http_port)
    assert wait_until(lambda: client.request("GET", "/metrics", token="")[0] == 200, 10)
    assert client.request("POST", "/api/v1/suppressions", {"addresses": [f"erin@{FAR}"]})[0] == 200
    assert client.request("DELETE", f"/api/v1/suppressions/erin@{FAR}")[0] in (200, 204)
    r = subprocess.run([PETREL, "queue", "--spool", p.spool, "flush"], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert wait_until(lambda: of_type(log, "AdminAction"), 5), events(log)
    [flush] = of_type(log, "AdminAction")
    assert flush["detail"].startswith("flush all") and len(flush["event_id"]) == 32
    added, removed = of_type(log, "Suppression")
    assert added["recipient"] == removed["recipient"] == f"erin@{FAR}"
    assert added["detail"].startswith("added: manual") and removed["detail"] == "removed"
