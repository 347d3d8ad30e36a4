"""Third-party scanners against petreld: nmap's smtp-open-relay script
(16 relay tricks, none may be accepted) and testssl.sh (no finding rated
HIGH or CRITICAL, over STARTTLS and on the implicit-TLS port). The test
certificate is signed by a test CA given to testssl.sh, has 127.0.0.1 in
its names, 90 days of validity and a CRL URI, so that the findings are
about the server's TLS, not about a throw-away certificate."""
import json
import xml.etree.ElementTree as ET

import pytest

from harness import HOSTNAME, run_tool, tool

NOT_A_RELAY = "Server doesn't seem to be an open relay, all tests failed"
AUTH_NEEDED = "Server isn't an open relay, authentication needed"


def nmap_open_relay(petrel, port, tmp_path):
    """nmap's smtp-open-relay script on one port; returns (script output, nmap's output).
    "+" runs the script whatever nmap guesses the service is (the port is
    not 25/465/587). The relay domain and the address literal are set so that
    no name is looked up; -sT -Pn -n: no raw packets, ping or DNS."""
    xml_out = tmp_path / "nmap.xml"
    r = run_tool([tool("nmap"), "-sT", "-Pn", "-n", "-p", str(port), "--script", "+smtp-open-relay",
                  "--script-args", "smtp-open-relay.domain=relay-target.example,smtp-open-relay.ip=127.0.0.1",
                  "-oX", str(xml_out), petrel.host], timeout=120)
    assert r.returncode == 0, r.out
    scripts = [e for e in ET.parse(xml_out).iter("script") if e.get("id") == "smtp-open-relay"]
    assert len(scripts) == 1, f"no smtp-open-relay result:\n{r.out}"
    return scripts[0].get("output").strip(), r.out


@pytest.mark.slow
def test_nmap_smtp_open_relay_finds_no_relay_on_the_smtp_port(start_petrel, tmp_path):
    # the greeting's host name is a local domain too, so nmap's tricks that
    # use it (user%relay@host, @host:user@relay, relay!user@host) aim at a local domain
    petrel = start_petrel("--local-domain", HOSTNAME)
    output, full = nmap_open_relay(petrel, petrel.port, tmp_path)
    assert output == NOT_A_RELAY, full
    petrel.send_ok()


@pytest.mark.slow
def test_nmap_smtp_open_relay_on_the_submission_port_finds_authentication_needed(secure, tmp_path):
    output, full = nmap_open_relay(secure, secure.ports["submission"], tmp_path)
    assert output == AUTH_NEEDED, full


def run_testssl(petrel, target_args, tls_files, tmp_path, name):
    """testssl.sh with protocols (-p), cipher categories (-s), forward secrecy
    (-f), server defaults and certificate (-S) and the vulnerabilities (-U);
    offline (--nodns none) and quiet. Returns its JSON findings."""
    out = tmp_path / f"{name}.json"
    r = run_tool([tool("testssl"), "--quiet", "--color", "0", "--warnings", "off", "--nodns", "none",
                  "--add-ca", tls_files.ca, "--jsonfile", str(out), "-p", "-s", "-f", "-S", "-U",
                  *target_args], timeout=300)
    assert out.exists() and out.stat().st_size > 0, f"testssl.sh wrote no JSON:\n{r.out[-3000:]}"
    findings = json.loads(out.read_text())
    ids = {f["id"] for f in findings}
    fatal = [f for f in findings if f["severity"] == "FATAL" or f["id"] == "scanProblem"]
    assert not fatal, f"testssl.sh could not scan: {fatal}\n{r.out[-3000:]}"
    assert {"TLS1_2", "TLS1_3", "cert_chain_of_trust", "heartbleed"} <= ids, \
        f"testssl.sh did not get through its checks: {sorted(ids)}\n{r.out[-3000:]}"
    return findings


def serious(findings):
    return [f"{f['severity']} {f['id']}: {f['finding']}" for f in findings
            if f["severity"] in ("HIGH", "CRITICAL")]


@pytest.mark.slow
def test_testssl_over_starttls_finds_nothing_high_or_critical(secure, tls_files, tmp_path):
    findings = run_testssl(secure, ["--starttls", "smtp", f"{secure.host}:{secure.port}"], tls_files, tmp_path,
                       "starttls")
    assert {f["id"]: f["finding"] for f in findings}.get("service") == "smtp"
    assert serious(findings) == []


@pytest.mark.slow
def test_testssl_on_the_implicit_tls_port_finds_nothing_high_or_critical(secure, tls_files, tmp_path):
    findings = run_testssl(secure, [f"{secure.host}:{secure.ports['smtps']}"], tls_files, tmp_path, "smtps")
    assert serious(findings) == []
