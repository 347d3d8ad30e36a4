"""`petrel mx DOMAIN` against a zone served by dnsmasq on loopback: MX
records by preference, implicit and null MX, hosts without an address,
NXDOMAIN and a silent DNS server told apart, reverse names (forward-confirmed
or not), TLSA and MTA-STS, --json, and no colour when piped or NO_COLOR."""
import json
import os
import pty
import socket
import subprocess

import pytest

from dns_zone import HOST, DnsZone, dnsmasq_binary
from harness import PETRELD

PETREL = os.path.join(os.path.dirname(PETRELD), "petrel")


@pytest.fixture(scope="module")
def zone():
    if dnsmasq_binary() is None:
        pytest.skip("dnsmasq is not installed (apt-get install dnsmasq-base)")
    z = (DnsZone()
         .mx("two.mx.test", "mx1.mx.test", 10).mx("two.mx.test", "mx2.mx.test", 20)
         .host("mx1.mx.test", "127.0.0.2").host("mx2.mx.test", "127.0.0.3", "fd00::3")
         .tlsa("_25._tcp.mx1.mx.test", 3, 1, 1, "aabbccdd")
         .txt("_mta-sts.two.mx.test", "v=STSv1; ", "id=20240101")
         .mx("nullmx.mx.test", ".", 0)
         .host("implicit.mx.test", "127.0.0.4")
         # bare.mx.test exists (it has a TXT record) but has no address;
         # ghost.mx.test does not exist at all.
         .mx("noaddr.mx.test", "bare.mx.test", 10).txt("bare.mx.test", "no address here")
         .mx("deadfirst.mx.test", "ghost.mx.test", 10).mx("deadfirst.mx.test", "mx2.mx.test", 20)
         # shady.mx.test's address names liar.mx.test, which points elsewhere.
         .mx("shady.mx.test", "shady.mx.test", 10)
         .ptr("127.0.0.9", "liar.mx.test").host("liar.mx.test", "127.0.0.10")
         .mx("xn--bcher-kva.mx.test", "mx1.mx.test", 10)
         .mx("noptr.mx.test", "np.mx.test", 10))
    # A records without the PTR that --host-record would add, and NXDOMAIN
    # (not dnsmasq's SERVFAIL) for loopback addresses without a PTR record.
    z.options += ["--address=/shady.mx.test/127.0.0.9", "--address=/np.mx.test/127.0.0.11", "--local=/127.in-addr.arpa/"]
    z.start()
    yield z
    z.stop()


def mx(zone, *args, env=None):
    r = subprocess.run([PETREL, "mx", "--resolver", zone.upstream, "--timeout", "3", *args],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=30, env=env)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def mx_json(zone, domain):
    status, out, err = mx(zone, "--json", domain)
    return status, json.loads(out)


def test_two_mx_hosts_by_preference_with_addresses_and_reverse_names(zone):
    status, out, err = mx(zone, "two.mx.test")
    assert status == 0, out + err + zone.log()
    assert out.index("mx1.mx.test") < out.index("mx2.mx.test")
    assert "127.0.0.2" in out and "127.0.0.3" in out and "fd00::3" in out
    assert "(forward-confirmed)" in out
    assert "mail for two.mx.test goes to mx1.mx.test (preference 10) first" in out


def test_tlsa_and_mta_sts_records_are_shown(zone):
    status, out, _ = mx(zone, "two.mx.test")
    assert status == 0
    assert "_25._tcp.mx1.mx.test: 3 1 1 aabbccdd (DANE-EE, SPKI, SHA2-256)" in out
    assert "v=STSv1; id=20240101" in out and "policy id 20240101" in out


def test_null_mx_accepts_no_mail_and_exits_1(zone):
    status, out, _ = mx(zone, "nullmx.mx.test")
    assert status == 1
    assert "null MX" in out and "accepts no mail" in out and "RFC 7505" in out


def test_no_mx_but_an_address_is_the_implicit_mx(zone):
    status, out, _ = mx(zone, "implicit.mx.test")
    assert status == 0
    assert "implicit MX, RFC 5321" in out and "127.0.0.4" in out


def test_an_mx_host_without_an_address_is_flagged(zone):
    status, out, _ = mx(zone, "noaddr.mx.test")
    assert status == 1
    assert "this MX has no address; senders skip it" in out
    assert "no MX host of noaddr.mx.test has an address" in out


def test_a_missing_mx_host_is_flagged_and_the_next_one_used(zone):
    status, out, _ = mx(zone, "deadfirst.mx.test")
    assert status == 0
    assert "ghost.mx.test" in out and "senders skip it" in out
    assert "goes to mx2.mx.test (preference 20) first" in out


def test_nxdomain_says_the_domain_does_not_exist_and_exits_2(zone):
    status, out, _ = mx(zone, "nx.mx.test")
    assert status == 2
    assert "does not exist (NXDOMAIN)" in out


def test_a_silent_dns_server_is_a_temporary_failure_not_nxdomain():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind((HOST, 0))  # receives the queries, never answers
        r = subprocess.run([PETREL, "mx", "--resolver", f"{HOST}:{silent.getsockname()[1]}", "--timeout", "1",
                            "two.mx.test"], stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    out = r.stdout.decode()
    assert r.returncode == 2
    assert "try again" in out and "NXDOMAIN" not in out


def test_a_reverse_name_that_does_not_lead_back_is_called_out(zone):
    status, out, _ = mx(zone, "shady.mx.test")
    assert status == 0
    assert "liar.mx.test (does not resolve back to this address)" in out


def test_an_address_without_a_ptr_record_is_called_out(zone):
    status, out, _ = mx(zone, "noptr.mx.test")
    assert status == 0
    assert "127.0.0.11" in out and "no PTR record" in out
    status, doc = mx_json(zone, "noptr.mx.test")
    assert doc["hosts"][0]["addresses"][0]["rdns"] == "no_ptr"


def test_idn_domains_are_asked_as_a_labels(zone):
    status, out, _ = mx(zone, "Bücher.mx.test")
    assert status == 0, out
    assert "xn--bcher-kva.mx.test" in out and "mx1.mx.test" in out


def test_json_has_the_documented_fields(zone):
    status, doc = mx_json(zone, "two.mx.test")
    assert status == 0
    assert doc["domain"] == "two.mx.test" and doc["verdict"] == "deliver" and doc["exit_status"] == 0
    assert doc["resolver"] == zone.upstream and doc["dnssec_validation"] is False
    # The MX records as the server sent them (any order); "hosts" is sorted.
    assert sorted((r["preference"], r["host"]) for r in doc["mx"]["records"]) == [(10, "mx1.mx.test"),
                                                                               (20, "mx2.mx.test")]
    first, second = doc["hosts"]
    assert (first["name"], first["preference"]) == ("mx1.mx.test", 10)
    assert first["addresses"][0]["address"] == "127.0.0.2"
    assert first["addresses"][0]["rdns"] == "confirmed"
    assert first["addresses"][0]["ptr"]["names"] == ["mx1.mx.test"]
    assert first["tlsa"]["records"][0] == {"usage": 3, "selector": 1, "matching_type": 1, "data": "aabbccdd",
                                           "meaning": "DANE-EE, SPKI, SHA2-256"}
    assert sorted(a["address"] for a in second["addresses"]) == ["127.0.0.3", "fd00::3"]
    assert doc["mta_sts"]["state"] == "published" and doc["mta_sts"]["id"] == "20240101"

    status, doc = mx_json(zone, "nullmx.mx.test")
    assert status == 1 and doc["verdict"] == "null_mx" and doc["hosts"] == []
    status, doc = mx_json(zone, "implicit.mx.test")
    assert status == 0 and doc["implicit_mx"] is True and doc["mx"]["outcome"] == "nodata"
    status, doc = mx_json(zone, "nx.mx.test")
    assert status == 2 and doc["verdict"] == "no_such_domain" and doc["mx"]["outcome"] == "nxdomain"


def run_on_a_terminal(args, env):
    """petrel with its stdout on a pseudo-terminal; what it wrote there."""
    master, slave = pty.openpty()
    try:
        r = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE, env=env, timeout=30)
        os.close(slave)
        slave = None
        out = b""
        for _ in range(1000):  # bounded: the output is a few kilobytes
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: everything written has been read
                break
            if not chunk:
                break
            out += chunk
        return r.returncode, out.decode(errors="replace")
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)


def test_colour_only_on_a_terminal_and_never_with_no_color(zone):
    args = [PETREL, "mx", "--resolver", zone.upstream, "--timeout", "3", "two.mx.test"]
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    status, piped, _ = mx(zone, "two.mx.test", env=env)
    assert status == 0 and "\x1b[" not in piped
    status, coloured = run_on_a_terminal(args, env)
    assert status == 0 and "\x1b[" in coloured
    status, plain = run_on_a_terminal(args, dict(env, NO_COLOR="1"))
    assert status == 0 and "\x1b[" not in plain and "mx1.mx.test" in plain
