"""The Lua scripts of src/cluster/scripts.hpp (docs/cluster.md, "Keys"),
run in a real redis-server: the GCRA grants cells one interval apart and
never more than the rate allows, a lease set holds at most its limit and
lets expired leases go, and the heartbeat counts the live nodes.

    /usr/bin/python3 -m pytest -q tests/integration/test_cluster_scripts.py
"""
import os
import re
import time

import pytest

from test_cluster_shaping import redis  # noqa: F401 (pytest fixture)

SCRIPTS = os.path.join(os.path.dirname(__file__), "..", "..", "src", "cluster", "scripts.hpp")


def script(name):
    with open(SCRIPTS) as f:
        text = f.read()
    m = re.search(r"k%s = R\"lua\((.*?)\)lua\"" % name, text, re.S)
    assert m, f"no script k{name} in {SCRIPTS}"
    return m.group(1)


def gcra(redis, key, interval_us, wanted, horizon_us):  # noqa: F811
    return redis("EVAL", script("Gcra"), 1, key, interval_us, 0, wanted, horizon_us)


def test_gcra_grants_a_batch_within_the_horizon_then_none(redis):  # noqa: F811
    # 10/s: cells 100 ms apart; a horizon of 450 ms holds 5 of them
    n, first, interval = gcra(redis, "petrel:gcra:msg:t1", 100_000, 20, 450_000)
    assert (n, interval) == (5, 100_000) and -1000 <= first <= 0
    n, first, _ = gcra(redis, "petrel:gcra:msg:t1", 100_000, 20, 450_000)
    assert n == 0 and 400_000 < first <= 500_000, "the next is due after the five granted"
    n, _, _ = gcra(redis, "petrel:gcra:msg:t1", 100_000, 2, 10_000_000)
    assert n == 2, "never more than wanted"


def test_gcra_over_many_requests_never_exceeds_the_rate(redis):  # noqa: F811
    granted = 0
    start = time.monotonic()
    while time.monotonic() - start < 1.0:
        n, _, _ = gcra(redis, "petrel:gcra:msg:t2", 50_000, 3, 100_000)  # 20/s
        granted += n
    # cells due within the second (20), plus those reserved up to 100 ms ahead
    assert 15 <= granted <= 20 + 3, granted


def test_gcra_key_expires_once_its_cells_are_past(redis):  # noqa: F811
    gcra(redis, "petrel:gcra:msg:t3", 1000, 1, 0)
    assert 0 < redis("PTTL", "petrel:gcra:msg:t3") <= 1100


def test_leases_hold_at_most_the_limit_and_expire(redis):  # noqa: F811
    acquire = script("LeaseAcquire")
    key = "petrel:lease:site"
    assert redis("EVAL", acquire, 1, key, "n1:1", 2, 1000) == 1
    assert redis("EVAL", acquire, 1, key, "n2:1", 2, 1000) == 1
    assert redis("EVAL", acquire, 1, key, "n3:1", 2, 1000) == 0, "the limit is reached"
    assert redis("EVAL", script("LeaseRenew"), 1, key, 3000, "n1:1") == 1
    time.sleep(1.2)                            # n2:1 was not renewed
    assert redis("EVAL", acquire, 1, key, "n3:1", 2, 1000) == 1
    assert sorted(redis("ZRANGE", key, 0, -1)) == ["n1:1", "n3:1"]
    assert redis("ZREM", key, "n1:1") == 1


def test_heartbeat_counts_live_nodes_and_forgets_silent_ones(redis):  # noqa: F811
    beat = script("Heartbeat")
    assert redis("EVAL", beat, 2, "petrel:node:a", "petrel:nodes", "a", '{"queue":1}', 1000) == 1
    assert redis("EVAL", beat, 2, "petrel:node:b", "petrel:nodes", "b", '{"queue":2}', 1000) == 2
    assert redis("GET", "petrel:node:a") == '{"queue":1}'
    time.sleep(1.1)
    assert redis("EVAL", beat, 2, "petrel:node:b", "petrel:nodes", "b", "{}", 1000) == 1
    assert redis("GET", "petrel:node:a") is None
