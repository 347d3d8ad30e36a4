"""`petrel dkim keygen`, `sign` and `check`, judged by implementations that
are not ours: python3-dkim (dkimpy) verifies what our signer writes, with
the record keygen printed served through its dnsfunc= hook; dnsmasq
serves that record to `petrel dkim check`."""
import json
import os
import re
import stat
import subprocess

import pytest

from dns_zone import DnsZone, dnsmasq_binary
from harness import PETRELD

dkim = pytest.importorskip("dkim", reason="python3-dkim is not installed (apt-get install python3-dkim)")

PETREL = os.path.join(os.path.dirname(PETRELD), "petrel")
DOMAIN = "example.test"

MESSAGE = (b"From: Ada Lovelace <ada@example.test>\r\n"
           b"To: grace@example.org\r\n"
           b"Subject:  Notes on\r\n the  engine \r\n"
           b"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
           b"Message-ID: <note-1@example.test>\r\n"
           b"MIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n"
           b"\r\n"
           b"The engine  weaves algebraic patterns \r\n"
           b"just as the Jacquard loom weaves flowers.\r\n"
           b"\r\n\r\n")


def petrel(*args, stdin=b""):
    r = subprocess.run([PETREL, "dkim", *args], input=stdin, capture_output=True, timeout=60)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def keygen(tmp_path, selector, *args):
    """Runs keygen; returns (key file, record strings as the zone line quotes them)."""
    status, out, err = petrel("keygen", "--domain", DOMAIN, "--selector", selector, "--out", str(tmp_path), *args)
    assert status == 0, out + err
    line = out.splitlines()[0]
    assert line.startswith(f"{selector}._domainkey.{DOMAIN}. IN TXT \"")
    strings = re.findall(r'"([^"]*)"', line)
    return tmp_path / f"{selector}.{DOMAIN}.key", strings


def sign(key, selector, message=MESSAGE, *args):
    status, out, err = petrel("sign", "--key", str(key), "--domain", DOMAIN, "--selector", selector, *args,
                              stdin=message)
    assert status == 0, err
    return out.encode()


def verifies(signed, selector, record):
    """dkimpy's verdict, the record served for SELECTOR._domainkey.DOMAIN only."""
    wanted = f"{selector}._domainkey.{DOMAIN}.".encode()

    def dnsfunc(name, timeout=5):
        return record.encode() if name == wanted else None

    return dkim.verify(signed, dnsfunc=dnsfunc)


@pytest.mark.parametrize("algorithm", ["rsa", "ed25519"])
def test_python_dkim_verifies_what_we_sign(tmp_path, algorithm):
    key, strings = keygen(tmp_path, "s1", "--algorithm", algorithm)
    signed = sign(key, "s1")
    assert signed.startswith(b"DKIM-Signature: v=1; a=" + algorithm.encode() + b"-sha256; c=relaxed/relaxed;")
    assert signed.endswith(MESSAGE)
    assert verifies(signed, "s1", "".join(strings))


@pytest.mark.parametrize("algorithm", ["rsa", "ed25519"])
def test_python_dkim_rejects_a_changed_message(tmp_path, algorithm):
    key, strings = keygen(tmp_path, "s1", "--algorithm", algorithm)
    signed = sign(key, "s1")
    record = "".join(strings)
    assert not verifies(signed.replace(b"flowers", b"weeds!!"), "s1", record)
    assert not verifies(signed.replace(b"Subject:  Notes", b"Subject:  Nodes"), "s1", record)
    assert not verifies(signed.replace(b"From: Ada", b"From: Mallory <m@evil.example>\r\nFrom: Ada"), "s1", record)
    # A field the signature does not cover may be added on the way.
    assert verifies(b"Received: from relay by mx; Tue, 14 Nov 2023 22:13:21 +0000\r\n" + signed, "s1", record)


def test_both_keys_of_a_domain_verify_on_one_message(tmp_path):
    rsa, rsa_strings = keygen(tmp_path, "rsa1", "--algorithm", "rsa", "--bits", "3072")
    ed, ed_strings = keygen(tmp_path, "ed1", "--algorithm", "ed25519")
    twice = sign(ed, "ed1", sign(rsa, "rsa1"))
    records = {f"rsa1._domainkey.{DOMAIN}.".encode(): "".join(rsa_strings).encode(),
               f"ed1._domainkey.{DOMAIN}.".encode(): "".join(ed_strings).encode()}
    d = dkim.DKIM(twice)
    assert d.verify(idx=0, dnsfunc=lambda name, timeout=5: records.get(name))
    assert d.verify(idx=1, dnsfunc=lambda name, timeout=5: records.get(name))


def test_a_message_with_lf_line_ends_is_signed_as_it_will_travel(tmp_path):
    key, strings = keygen(tmp_path, "s1", "--algorithm", "ed25519")
    signed = sign(key, "s1", MESSAGE.replace(b"\r\n", b"\n"))
    assert signed.endswith(MESSAGE)
    assert verifies(signed, "s1", "".join(strings))


def test_headers_option_chooses_the_signed_fields(tmp_path):
    key, strings = keygen(tmp_path, "s1", "--algorithm", "ed25519")
    signed = sign(key, "s1", MESSAGE, "--headers", "subject:date")
    h = re.search(rb"h=([^;]*);", signed.replace(b"\r\n\t", b"")).group(1)
    assert h == b"from:from:subject:date"
    assert verifies(signed, "s1", "".join(strings))


def test_keygen_writes_a_private_pkcs8_file_and_keeps_an_existing_one(tmp_path):
    key, _ = keygen(tmp_path, "s1", "--algorithm", "ed25519")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    text = key.read_text()
    assert text.startswith("-----BEGIN PRIVATE KEY-----\n")
    status, out, err = petrel("keygen", "--domain", DOMAIN, "--selector", "s1", "--out", str(tmp_path))
    assert status == 1 and "exists" in err and out == ""
    assert key.read_text() == text
    keygen(tmp_path, "s1", "--force")
    assert key.read_text() != text and stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert "BEGIN PRIVATE KEY" in key.read_text()
    assert [p.name for p in tmp_path.iterdir()] == [key.name]  # no temporary file left


def test_rsa_record_is_cut_into_strings_of_255_octets(tmp_path):
    _, strings = keygen(tmp_path, "big", "--bits", "4096")
    assert len(strings) == 3 and all(len(s) == 255 for s in strings[:-1]) and len(strings[-1]) <= 255
    assert "".join(strings).startswith("v=DKIM1; k=rsa; p=MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEA")
    _, ed = keygen(tmp_path, "small", "--algorithm", "ed25519")
    assert len(ed) == 1 and re.fullmatch(r"v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=", ed[0])


def test_keygen_usage_errors_exit_2(tmp_path):
    for args in (["--domain", "bad domain", "--selector", "s1"], ["--domain", DOMAIN, "--selector", "../s1"],
                 ["--domain", DOMAIN, "--selector", "s1", "--bits", "512"],
                 ["--domain", DOMAIN, "--selector", "s1", "--algorithm", "ed25519", "--bits", "2048"],
                 ["--domain", DOMAIN, "--selector", "s1", "--algorithm", "dsa"]):
        status, _, err = petrel("keygen", "--out", str(tmp_path), *args)
        assert status == 2, (args, err)
    assert list(tmp_path.iterdir()) == []


# --- petrel dkim check, against dnsmasq ------------------------------------

@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """Keys made by keygen, their records served by dnsmasq."""
    if dnsmasq_binary() is None:
        pytest.skip("dnsmasq is not installed (apt-get install dnsmasq-base)")
    d = tmp_path_factory.mktemp("keys")
    keys = {}
    zone = DnsZone()
    for selector, algorithm in (("rsa1", "rsa"), ("ed1", "ed25519")):
        key, strings = keygen(d, selector, "--algorithm", algorithm)
        keys[selector] = key
        zone.txt(f"{selector}._domainkey.{DOMAIN}", *strings)
    other, _ = keygen(d, "other", "--algorithm", "ed25519")
    keys["other"] = other
    zone.txt(f"revoked._domainkey.{DOMAIN}", "v=DKIM1; k=rsa; p=")
    zone.txt(f"testing._domainkey.{DOMAIN}", "v=DKIM1; k=ed25519; t=y; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
    zone.txt(f"junk._domainkey.{DOMAIN}", "v=spf1 -all")
    zone.start()
    yield zone, keys
    zone.stop()


def check(zone, *args):
    return petrel("check", "--resolver", zone.upstream, "--timeout", "3", *args)


def test_check_finds_the_published_key_and_matches_the_key_file(published):
    zone, keys = published
    for selector, key_type in (("rsa1", "rsa"), ("ed1", "ed25519")):
        status, out, err = check(zone, DOMAIN, selector, "--key", str(keys[selector]))
        assert status == 0, out + err + zone.log()
        assert f"{key_type}, {2048 if key_type == 'rsa' else 256} bits" in out
        assert "matches" in out and "publishes a usable" in out


def test_check_reports_another_key_as_a_mismatch(published):
    zone, keys = published
    status, out, _ = check(zone, DOMAIN, "ed1", "--key", str(keys["other"]))
    assert status == 1 and "does not match" in out
    status, out, _ = check(zone, DOMAIN, "ed1", "--key", str(keys["rsa1"]))
    assert status == 1 and "not the public key" in out


def test_check_json(published):
    zone, keys = published
    status, out, _ = check(zone, "--json", DOMAIN, "rsa1", "--key", str(keys["rsa1"]))
    assert status == 0
    report = json.loads(out)
    assert report["status"] == "ok" and report["key_type"] == "rsa" and report["bits"] == 2048
    assert report["key_matches"] is True and report["name"] == f"rsa1._domainkey.{DOMAIN}"
    assert report["record"].startswith("v=DKIM1; k=rsa; p=MIIB")


@pytest.mark.parametrize("selector,status_word", [("revoked", "revoked"), ("missing", "not_found"),
                                                  ("junk", "invalid")])
def test_check_fails_for_revoked_missing_and_unusable_records(published, selector, status_word):
    zone, _ = published
    status, out, _ = check(zone, "--json", DOMAIN, selector)
    assert status == 1
    assert json.loads(out)["status"] == status_word


def test_check_warns_about_a_testing_key_but_passes(published):
    zone, _ = published
    status, out, _ = check(zone, DOMAIN, "testing")
    assert status == 0 and "t=y" in out and "warning:" in out


def test_check_usage_errors_exit_2(published, tmp_path):
    zone, _ = published
    assert check(zone, "bad domain", "s1")[0] == 2
    assert check(zone, DOMAIN, "s1", "--key", str(tmp_path / "missing.key"))[0] == 2
    assert petrel("check", DOMAIN)[0] == 2
