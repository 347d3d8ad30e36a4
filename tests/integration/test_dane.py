"""DANE (RFC 7672) on the delivery side, and in `petrel mx` and `petrel
probe`: NSD serves zones signed at test time (dnssec_zone.py), petreld
validates them with --trust-anchor-file through --resolver, and a petreld
with the test certificate receives on 127.0.0.13x:25.

    dane.test   secure, TLSA 3 1 1 matches the receiver's key   -> delivered over TLS, tls_policy=dane
    wrong.test  secure, TLSA matches no key                     -> deferred 4.7.5, nothing sent
    plain.test  unsigned                                        -> opportunistic (tls_policy=may)
    bogus.test  TLSA signature broken                           -> deferred 4.7.5, not connected to
"""
import json
import os
import smtplib
import subprocess

from dnssec_zone import ADDRESSES
from harness import LOCAL_DOMAIN, PETRELD, message, wait_until

PETREL = os.environ.get("PETREL", os.path.join(os.path.dirname(PETRELD), "petrel"))


def receiver_for(servers, tls_files, name, tls=True):
    flags = ["--local-domain", f"{name}.test"]
    if tls:
        flags += ["--tls-cert", tls_files.cert, "--tls-key", tls_files.key]
    return servers(f"mx-{name}", *flags, host=ADDRESSES[name], port=25)


def relay_for(servers, zones):
    return servers("relay", "--trusted-network", "127.0.0.0/8", "--resolver", zones.upstream,
                   "--trust-anchor-file", zones.ta, "--retry-intervals", "1h")


def smtp_sessions(server):
    """The sessions that said EHLO/HELO (the harness's port check does not)."""
    return [x for x in server.log_text().splitlines() if "session client=" in x and "helo=- " not in x]


def send(relay, to, subject="dane"):
    with smtplib.SMTP(relay.host, relay.port, local_hostname="client.test", timeout=10) as c:
        c.sendmail(f"me@{LOCAL_DOMAIN}", [to], message(subject=subject))


def delivery_lines(relay):
    return [line for line in relay.log_text().splitlines() if "delivery qid=" in line]


def test_a_matching_tlsa_record_delivers_over_dane_verified_tls(servers, tls_files, signed_zones):
    receiver = receiver_for(servers, tls_files, "dane")
    relay = relay_for(servers, signed_zones)
    send(relay, "bob@dane.test")
    assert wait_until(lambda: receiver.message_files("bob", "dane.test"), 20), relay.log_text()
    log = relay.log_text()
    assert "dane domain=dane.test mx=mx.dane.test tls_policy=dane usable_tlsa=1" in log, log
    line = delivery_lines(relay)[-1]
    assert "tls=TLSv1.3" in line and "tls_policy=dane" in line and "result=delivered" in line, line


def test_a_tlsa_mismatch_defers_with_4_7_5(servers, tls_files, signed_zones):
    receiver = receiver_for(servers, tls_files, "wrong")
    relay = relay_for(servers, signed_zones)
    send(relay, "bob@wrong.test")
    assert wait_until(lambda: "result=deferred" in relay.log_text(), 20), relay.log_text()
    line = delivery_lines(relay)[-1]
    assert "4.7.5" in line and "tls_policy=dane" in line and "DANE" in line, line
    assert not receiver.message_files("bob", "wrong.test")


def test_an_unsigned_zone_gets_opportunistic_tls(servers, tls_files, signed_zones):
    receiver = receiver_for(servers, tls_files, "plain", tls=False)  # no STARTTLS at all
    relay = relay_for(servers, signed_zones)
    send(relay, "bob@plain.test")
    assert wait_until(lambda: receiver.message_files("bob", "plain.test"), 20), relay.log_text()
    line = delivery_lines(relay)[-1]
    assert "tls=no" in line and "tls_policy=may" in line, line
    assert "dane domain=plain.test" not in relay.log_text()


def test_a_bogus_tlsa_answer_defers_without_connecting(servers, tls_files, signed_zones):
    receiver = receiver_for(servers, tls_files, "bogus")
    relay = relay_for(servers, signed_zones)
    send(relay, "bob@bogus.test")
    assert wait_until(lambda: "result=deferred" in relay.log_text(), 20), relay.log_text()
    log = relay.log_text()
    assert "tls domain=bogus.test mx=mx.bogus.test not used: 4.7.5 TLSA lookup" in log, log
    assert "4.7.5" in delivery_lines(relay)[-1]
    assert not receiver.message_files("bob", "bogus.test")
    assert not smtp_sessions(receiver)  # never connected to


def petrel(*args):
    r = subprocess.run([PETREL, *args], stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def mx_json(zones, domain):
    status, out, err = petrel("mx", "--resolver", zones.upstream, "--trust-anchor-file", zones.ta, "--timeout", "3",
                              "--json", domain)
    assert out, err
    return status, json.loads(out)


def test_petrel_mx_with_the_trust_anchor_shows_dnssec_status(signed_zones):
    status, report = mx_json(signed_zones, "dane.test")
    assert status == 0, report
    assert report["dnssec_validation"] is True
    assert report["mx"]["dnssec"] == "secure", report
    host = report["hosts"][0]
    assert host["tlsa"]["dnssec"] == "secure" and host["tlsa"]["records"][0]["usage"] == 3, host
    _, plain = mx_json(signed_zones, "plain.test")
    assert plain["mx"]["dnssec"] == "insecure", plain
    _, bogus = mx_json(signed_zones, "bogus.test")
    assert bogus["hosts"][0]["tlsa"]["dnssec"] == "bogus", bogus


def probe_findings(zones, domain):
    status, out, err = petrel("probe", "--resolver", zones.upstream, "--trust-anchor-file", zones.ta, "--timeout",
                              "5", "--json", domain)
    assert out, err
    report = json.loads(out)
    return [f for f in report["findings"] if f["id"] == "dane"]


def test_petrel_probe_checks_the_certificate_against_the_tlsa_records(servers, tls_files, signed_zones):
    receiver_for(servers, tls_files, "dane")
    receiver_for(servers, tls_files, "wrong")
    [match] = probe_findings(signed_zones, "dane.test")
    assert match["grade"] == "pass" and "matches its TLSA records (TLSA 3 1 1)" in match["title"], match
    [mismatch] = probe_findings(signed_zones, "wrong.test")
    assert mismatch["grade"] == "fail" and "mismatch" in mismatch["title"], mismatch


def test_petrel_probe_says_an_unsigned_zone_is_insecure(servers, tls_files, signed_zones):
    receiver_for(servers, tls_files, "plain")
    [finding] = probe_findings(signed_zones, "plain.test")
    assert finding["grade"] == "info" and "insecure" in finding["title"], finding
