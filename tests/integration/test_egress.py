"""Egress sources and pools (docs/config.md [egress]): connections go out
from the pool's local addresses by weight, each with its EHLO name; a
source in warm-up sends at most its daily cap, the rest going through the
pool's warm sources or waiting. Checked at the receiver, which sees each
connection's source address and EHLO name."""
import json
import time

from harness import wait_until
from shaping_setup import FAST, inject, queue_json, shaping_zone  # noqa: F401 (fixtures below use them)
from test_shaping import log_tail, recorders, relay, zone  # noqa: F401 (pytest fixtures)



def today():
    """The UTC date now (a test that starts just before midnight must not
    carry yesterday's date into its config)."""
    return time.strftime("%Y-%m-%d", time.gmtime())


ONE_PER_CONNECTION = {"shaping.default": {"max_deliveries_per_connection": 1, "connection_limit": 20}}


def sources(*entries):
    return [dict(e) for e in entries]


def test_connections_leave_from_the_pool_sources_by_weight_with_their_ehlo_names(recorders, relay):
    mx = recorders(FAST)
    r = relay({**ONE_PER_CONNECTION,
               "egress.source": sources({"name": "a", "address": "127.0.0.21", "ehlo_name": "a.relay.test"},
                                        {"name": "b", "address": "127.0.0.22", "ehlo_name": "b.relay.test"}),
               "egress.pool": [{"name": "main", "sources": [{"name": "a", "weight": 3}, {"name": "b", "weight": 1}]}]})
    inject(r, [f"user{i}@fast.test" for i in range(20)])
    assert mx.wait_for_messages(20, 30), f"{mx.summary()}\n{log_tail(r)}"
    by_source = {}
    for c in mx.connections:
        if c.messages:
            by_source.setdefault((c.peer[0], c.helo), 0)
            by_source[(c.peer[0], c.helo)] += c.messages
    assert set(by_source) == {("127.0.0.21", "a.relay.test"), ("127.0.0.22", "b.relay.test")}, by_source
    assert by_source[("127.0.0.21", "a.relay.test")] == 15, by_source  # weights 3:1, smooth round-robin


def test_a_source_in_warm_up_sends_its_cap_and_the_warm_source_the_rest(recorders, relay):
    mx = recorders(FAST)
    r = relay({**ONE_PER_CONNECTION,
               "egress.source": sources({"name": "new", "address": "127.0.0.23", "warmup_start": today(),
                                         "warmup": {"default": [4, 8, 16]}},
                                        {"name": "old", "address": "127.0.0.24"}),
               "egress.pool": [{"name": "main", "sources": [{"name": "new", "weight": 1}, {"name": "old", "weight": 1}]}]})
    inject(r, [f"user{i}@fast.test" for i in range(12)])
    assert mx.wait_for_messages(12, 30), f"{mx.summary()}\n{log_tail(r)}"
    from_new = sum(c.messages for c in mx.connections if c.peer[0] == "127.0.0.23")
    assert from_new == 4, mx.summary()
    site = next(s for s in queue_json(r, "sites") if "fast.test" in s["domains"])
    new = next(s for s in site["sources"] if s["name"] == "new")
    assert new["sent_today"] == 4 and new["warmup_cap_today"] == 4, site


def test_mail_over_the_cap_of_a_pool_in_warm_up_waits(recorders, relay):
    mx = recorders(FAST)
    r = relay({**ONE_PER_CONNECTION,
               "egress.source": sources({"name": "new", "address": "127.0.0.25", "warmup_start": today(),
                                         "warmup": {"default": [3]}}),
               "egress.pool": [{"name": "cold", "sources": [{"name": "new", "weight": 1}]}]})
    inject(r, [f"user{i}@fast.test" for i in range(6)])
    assert mx.wait_for_messages(3, 20), f"{mx.summary()}\n{log_tail(r)}"
    assert wait_until(lambda: len(queue_json(r, "list")) == 3, 10), log_tail(r)
    time.sleep(1.5)
    assert mx.message_count() == 3, mx.summary()
    # They wait for the next UTC day, whose cap is fresh; not for a fixed span
    # (an hour before midnight, tomorrow is less than an hour away).
    tomorrow = (int(time.time()) // 86400 + 1) * 86400
    assert all(m["next_attempt"] >= tomorrow - 1 for m in queue_json(r, "list")), queue_json(r, "list")
