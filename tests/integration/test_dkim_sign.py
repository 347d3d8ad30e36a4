"""petreld signs outgoing mail with [[dkim]] keys (docs/dkim.md): API mail
and mail from trusted or authenticated clients whose From: domain has a
key, with both algorithms when both are configured; inbound mail from
elsewhere is not signed. Every signature is checked by implementations
that are not ours: python3-dkim and OpenDKIM (its test mode, which takes
the public keys from a file; opendkim-testmsg would need live DNS)."""
import os
import re
import shutil
import subprocess

import pytest

from api_client import write_config
from harness import LOCAL_DOMAIN, PETRELD, wait_until
from test_api import builder, port_open
from api_client import Api

dkim = pytest.importorskip("dkim", reason="python3-dkim is not installed (apt-get install python3-dkim)")

PETREL = os.path.join(os.path.dirname(PETRELD), "petrel")
SIGNER = "example.org"


def keygen(directory, selector, algorithm):
    r = subprocess.run([PETREL, "dkim", "keygen", "--domain", SIGNER, "--selector", selector, "--algorithm", algorithm,
                        "--out", str(directory)], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    record = "".join(re.findall(r'"([^"]*)"', r.stdout.decode().splitlines()[0]))
    return directory / f"{selector}.{SIGNER}.key", record


@pytest.fixture
def signing(start_petrel, tmp_path):
    """A petreld with an RSA and an Ed25519 key for example.org; returns
    (petrel, api client, {selector: record})."""
    rsa_key, rsa_record = keygen(tmp_path, "rsa1", "rsa")
    ed_key, ed_record = keygen(tmp_path, "ed1", "ed25519")
    extra = (f'[[dkim]]\ndomain = "{SIGNER}"\nselector = "rsa1"\nkey_file = "{rsa_key}"\n'
             f'[[dkim]]\ndomain = "{SIGNER}"\nselector = "ed1"\nkey_file = "{ed_key}"\nalgorithm = "ed25519-sha256"\n'
             '[relay]\ntrusted_networks = ["127.0.0.2/32"]\n'
             '[limits]\nbody_in_memory = "16KiB"\n')
    path, port = write_config(tmp_path, extra=extra)
    p = start_petrel("--config", path)
    assert wait_until(lambda: port_open(port), 10), p.stderr()
    return p, Api(port), {"rsa1": rsa_record, "ed1": ed_record}


def python_dkim_verdicts(message, records):
    def dnsfunc(name, timeout=5):
        for selector, record in records.items():
            if name == f"{selector}._domainkey.{SIGNER}.".encode():
                return record.encode()
        return None
    verdicts = []
    for index in range(message.count(b"DKIM-Signature:")):
        verdicts.append(dkim.DKIM(message).verify(idx=index, dnsfunc=dnsfunc))
    return verdicts


def opendkim_verdicts(message, records, tmp_path):
    if not shutil.which("opendkim"):
        pytest.skip("opendkim is not installed")
    keys = tmp_path / "opendkim-keys"
    keys.write_text("".join(f"{s}._domainkey.{SIGNER} {r}\n" for s, r in records.items()))
    conf = tmp_path / "opendkim.conf"
    conf.write_text(f"TestPublicKeys {keys}\nMode v\nSyslog no\nAlwaysAddARHeader yes\n")
    eml = tmp_path / "message.eml"
    eml.write_bytes(message)
    r = subprocess.run(["opendkim", "-vvv", "-x", str(conf), "-t", str(eml)], capture_output=True, timeout=30)
    return re.findall(r"dkim=(\w+)", r.stdout.decode() + r.stderr.decode())


def test_api_mail_gets_an_rsa_and_an_ed25519_signature_both_verified(signing, tmp_path):
    p, client, records = signing
    status, _, reply, _ = client.inject(builder([f"ann@{LOCAL_DOMAIN}"], unsubscribe=True,
                                                headers={"List-Id": "news <news.example.org>"}))
    assert status == 200, reply
    message = p.wait_for_messages("ann", 1)[0].message
    assert message.count(b"DKIM-Signature:") == 2
    assert b"a=rsa-sha256" in message and b"a=ed25519-sha256" in message
    # The unsubscribe headers are signed (Gmail requires it).
    h_tag = re.search(rb"h=([^;]+);", message.replace(b"\r\n\t", b"").replace(b"\r\n ", b"")).group(1).lower()
    assert b"list-unsubscribe" in h_tag and b"list-unsubscribe-post" in h_tag
    assert python_dkim_verdicts(message, records) == [True, True]
    assert opendkim_verdicts(message, {"rsa1": records["rsa1"]}, tmp_path).count("pass") >= 1


def test_submitted_and_trusted_relay_mail_is_signed_inbound_mail_is_not(signing, tmp_path):
    p, client, records = signing
    import smtplib
    body = (f"From: News <news@{SIGNER}>\r\nTo: ann@{LOCAL_DOMAIN}\r\nSubject: from a trusted network\r\n"
            "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <t1@example.org>\r\n\r\nhello\r\n").encode()
    with smtplib.SMTP(p.host, p.port, source_address=("127.0.0.2", 0), timeout=10) as c:
        c.sendmail(f"news@{SIGNER}", [f"ann@{LOCAL_DOMAIN}"], body)
    signed = p.wait_for_messages("ann", 1)[0].message
    assert python_dkim_verdicts(signed, records) == [True, True]
    # The same From: from an untrusted client is inbound mail: not ours to sign.
    with smtplib.SMTP(p.host, p.port, source_address=("127.0.0.3", 0), timeout=10) as c:
        c.sendmail(f"news@{SIGNER}", [f"bob@{LOCAL_DOMAIN}"], body)
    assert b"DKIM-Signature" not in p.wait_for_messages("bob", 1)[0].message


def test_a_big_message_spilled_to_disk_is_signed_over_its_whole_body(signing, tmp_path):
    # body_in_memory is 16 KiB here: most of this body is hashed from the spill file.
    p, client, records = signing
    import smtplib
    lines = b"".join(b"line %06d of a long body that goes to the spill file\r\n" % i for i in range(40000))
    body = (f"From: News <news@{SIGNER}>\r\nTo: ann@{LOCAL_DOMAIN}\r\nSubject: big and signed\r\n"
            "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <big@example.org>\r\n\r\n").encode() + lines
    with smtplib.SMTP(p.host, p.port, source_address=("127.0.0.2", 0), timeout=30) as c:
        c.sendmail(f"news@{SIGNER}", [f"ann@{LOCAL_DOMAIN}"], body)
    signed = p.wait_for_messages("ann", 1)[0].message
    assert signed.endswith(lines)
    assert python_dkim_verdicts(signed, records) == [True, True]


def test_mail_from_another_domain_is_not_signed(signing):
    p, client, records = signing
    status, _, _, _ = client.inject(builder([f"ann@{LOCAL_DOMAIN}"], **{"from": {"email": "news@other.test"}}))
    assert status == 200
    assert b"DKIM-Signature" not in p.wait_for_messages("ann", 1)[0].message


def test_a_bad_key_file_is_a_config_error_naming_the_line(tmp_path):
    bad = tmp_path / "bad.key"
    bad.write_text("not a key\n")
    conf = tmp_path / "p.toml"
    conf.write_text(f'[log]\nlevel = "info"\n\n[[dkim]]\ndomain = "{SIGNER}"\nselector = "s"\nkey_file = "{bad}"\n')
    r = subprocess.run([PETRELD, "--config", str(conf), "--check-config"], capture_output=True, timeout=10)
    assert r.returncode == 2 and f"{conf}:4:".encode() in r.stderr, r.stderr
    conf.write_text(f'[[dkim]]\ndomain = "{SIGNER}"\nselector = "s"\n')
    r = subprocess.run([PETRELD, "--config", str(conf), "--check-config"], capture_output=True, timeout=10)
    assert r.returncode == 2 and b"key_file" in r.stderr, r.stderr
