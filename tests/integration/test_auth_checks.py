"""Inbound SPF, DKIM, DMARC and ARC (docs/auth-checks.md).

dnsmasq serves the test domains' SPF, DKIM and DMARC records; messages are
signed and sealed by Debian's python3-dkim (an implementation that is not
ours) and sent by smtplib and swaks; the Authentication-Results field
petreld adds is read with python3-authres.

    PETRELD=/work/main/build/petreld /usr/bin/python3 -m pytest -q tests/integration/test_auth_checks.py
"""
import base64
import shutil
import smtplib
import subprocess

import pytest

from dns_zone import DnsZone, dnsmasq_binary
from harness import HOSTNAME, LOCAL_DOMAIN, wait_until

dkim = pytest.importorskip("dkim", reason="python3-dkim is not installed")
authres = pytest.importorskip("authres", reason="python3-authres is not installed")
pytestmark = pytest.mark.skipif(dnsmasq_binary() is None, reason="dnsmasq is not installed")

RCPT = f"user@{LOCAL_DOMAIN}"


def rsa_key(tmp_path_factory):
    d = tmp_path_factory.mktemp("dkim")
    key = d / "rsa.pem"
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", str(key), "2048"], check=True, capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"], check=True,
                         capture_output=True).stdout
    return key.read_bytes(), "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def txt_strings(text):
    """A TXT record's text as character-strings of at most 200 octets."""
    return [text[i:i + 200] for i in range(0, len(text), 200)]


@pytest.fixture(scope="module")
def zone(tmp_path_factory):
    key, record = rsa_key(tmp_path_factory)
    z = DnsZone()
    for domain, spf, dmarc in [
            ("pass.test", "v=spf1 ip4:127.0.0.0/8 -all", "v=DMARC1; p=reject"),
            ("mail.pass.test", "v=spf1 ip4:127.0.0.0/8 -all", None),
            ("fail.test", "v=spf1 ip4:192.0.2.1 -all", "v=DMARC1; p=reject"),
            ("soft.test", "v=spf1 ip4:192.0.2.1 ~all", "v=DMARC1; p=quarantine"),
            ("neutral.test", "v=spf1 ?all", "v=DMARC1; p=none"),
            ("nospf.test", None, None),
            ("perm.test", "v=spf1 ip4:999.1.1.1 -all", None),
            ("temp.test", "v=spf1 include:broken.temp.test -all", None),
            ("strict.test", None, "v=DMARC1; p=reject; aspf=s; adkim=s"),
            ("mail.strict.test", "v=spf1 ip4:127.0.0.0/8 -all", None),
            ("forwarder.test", None, None)]:
        if spf:
            z.txt(domain, spf)
        if dmarc:
            z.txt("_dmarc." + domain, dmarc)
    for domain in ("pass.test", "fail.test", "strict.test", "forwarder.test"):
        z.txt("sel._domainkey." + domain, *txt_strings(record))
    # A name whose lookups fail: dnsmasq forwards it to a port where nobody answers.
    z.options.append("--server=/broken.temp.test/127.0.0.1#9")
    z.start()
    z.key = key
    yield z
    z.stop()


@pytest.fixture
def checking(start_petrel, zone):
    def start(*flags):
        return start_petrel("--auth-checks", "--resolver", zone.upstream, *flags)
    return start


def message(from_addr, subject="auth test", body="Hello.\r\n"):
    return (f"From: {from_addr}\r\nTo: {RCPT}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '.')}@test>\r\n\r\n{body}").encode()


def signed(zone, msg, domain):
    return dkim.sign(msg, b"sel", domain.encode(), zone.key,
                     include_headers=[b"from", b"to", b"subject", b"message-id"]) + msg


def send(p, mail_from, msg, helo="client.test"):
    """Sends msg; returns the reply to DATA (code, text)."""
    with smtplib.SMTP(p.host, p.port, local_hostname=helo, timeout=30) as c:
        c.ehlo()
        code, _ = c.mail(mail_from)
        assert code == 250
        code, _ = c.rcpt(RCPT)
        assert code == 250
        return c.data(msg)


def auth_header(mail_bytes):
    """The first Authentication-Results field of a message, unfolded."""
    lines = mail_bytes.split(b"\r\n")
    for i, line in enumerate(lines):
        if line == b"":
            break
        if line.lower().startswith(b"authentication-results:"):
            field = line
            for more in lines[i + 1:]:
                if more[:1] not in (b" ", b"\t"):
                    break
                field += b" " + more.strip()
            return field.decode()
    return None


def parsed(mail_bytes):
    header = auth_header(mail_bytes)
    assert header, mail_bytes[:600]
    h = authres.AuthenticationResultsHeader.parse(header)
    assert h.authserv_id == HOSTNAME
    return {r.method: r for r in h.results}, h


def delivered(p, count):
    return p.wait_for_messages("user", count)[-1].message


def test_spf_dkim_dmarc_pass_is_recorded(checking, zone):
    p = checking()
    msg = signed(zone, message("Alice <alice@pass.test>", "all pass"), "pass.test")
    assert send(p, "alice@pass.test", msg)[0] == 250
    r, _ = parsed(delivered(p, 1))
    assert r["spf"].result == "pass"
    assert r["spf"].properties[0].name == "mailfrom" and r["spf"].properties[0].value == "alice@pass.test"
    assert r["dkim"].result == "pass"
    assert {(x.type, x.name): x.value for x in r["dkim"].properties}[("header", "d")] == "pass.test"
    assert r["dmarc"].result == "pass"
    assert r["arc"].result == "none"
    assert 'auth="spf=pass dkim=pass dmarc=pass arc=none"' in p.log_text()


def test_a_changed_body_is_dkim_fail_and_dmarc_still_passes_on_spf(checking, zone):
    p = checking()
    msg = signed(zone, message("alice@pass.test", "changed"), "pass.test").replace(b"Hello.", b"Hullo.")
    assert send(p, "alice@pass.test", msg)[0] == 250
    r, _ = parsed(delivered(p, 1))
    assert r["dkim"].result == "fail"
    assert r["dmarc"].result == "pass"  # SPF passes and aligns


def test_a_big_message_spilled_to_disk_is_verified_over_its_whole_body(checking, zone, tmp_path):
    # body_in_memory is 16 KiB: the body hash covers the spill file too,
    # and a change deep in it is seen.
    p = checking("--config", str(write_extra(tmp_path, '[limits]\nbody_in_memory = "16KiB"\n')))
    body = "".join(f"line {i:06d} of a big signed body\r\n" for i in range(30000))
    msg = signed(zone, message("alice@pass.test", "big", body), "pass.test")
    assert send(p, "alice@pass.test", msg)[0] == 250
    assert parsed(delivered(p, 1))[0]["dkim"].result == "pass"
    changed = msg.replace(b"line 029000 of", b"line 029000 0f")
    assert send(p, "alice@pass.test", changed)[0] == 250
    assert parsed(delivered(p, 2))[0]["dkim"].result == "fail"


def test_dmarc_reject_refuses_at_end_of_data_with_the_reason(checking, zone):
    p = checking()
    code, text = send(p, "mallory@fail.test", message("CEO <ceo@fail.test>", "forged"))
    assert code == 550, text
    assert text.startswith(b"5.7.1 ") and b"fail.test" in text
    assert p.message_files("user") == []
    assert "result=refused" in p.log_text()


def test_dmarc_reject_is_only_marked_when_not_enforced(checking, zone, tmp_path):
    p = checking("--config", str(write_extra(tmp_path, "[auth_checks]\ndmarc_enforce = false\n")))
    assert send(p, "mallory@fail.test", message("ceo@fail.test", "not enforced"))[0] == 250
    r, _ = parsed(delivered(p, 1))
    assert r["spf"].result == "fail" and r["dmarc"].result == "fail"


def write_extra(tmp_path, text):
    path = tmp_path / "extra.toml"
    path.write_text(text)
    return path


def test_quarantine_marks_and_files_into_the_configured_folder(checking, zone, tmp_path):
    p = checking("--config", str(write_extra(tmp_path, '[auth_checks]\nquarantine_folder = "Junk"\n')))
    assert send(p, "bob@soft.test", message("bob@soft.test", "quarantined"))[0] == 250
    junk = p.mailbox("user") + "/.Junk/new"
    assert wait_until(lambda: len(list_dir(junk)) == 1, 10), p.stderr()
    with open(f"{junk}/{list_dir(junk)[0]}", "rb") as f:
        data = f.read()
    assert b"\r\nX-Spam-Flag: YES\r\n" in data
    r, _ = parsed(data)
    assert r["spf"].result == "softfail" and r["dmarc"].result == "fail"
    assert p.message_files("user") == []


def list_dir(path):
    import os
    try:
        return sorted(os.listdir(path))
    except FileNotFoundError:
        return []


def test_p_none_failure_is_still_dmarc_fail(checking, zone):
    p = checking()
    assert send(p, "x@neutral.test", message("x@neutral.test", "p none"))[0] == 250
    r, _ = parsed(delivered(p, 1))
    assert r["spf"].result == "neutral"
    assert r["dmarc"].result == "fail"


@pytest.mark.parametrize("sender, result", [
    ("a@nospf.test", "none"),
    ("a@perm.test", "permerror"),
    ("a@temp.test", "temperror"),
])
def test_spf_none_permerror_temperror(checking, zone, sender, result):
    p = checking()
    assert send(p, sender, message(sender, "spf " + result))[0] == 250
    r, _ = parsed(delivered(p, 1))
    assert r["spf"].result == result


def test_null_sender_checks_the_helo_name(checking, zone):
    p = checking()
    assert send(p, "<>", message("MAILER-DAEMON@pass.test", "bounce"), helo="pass.test")[0] == 250
    r, _ = parsed(delivered(p, 1))
    assert r["spf"].result == "pass"
    assert r["spf"].properties[0].name == "helo" and r["spf"].properties[0].value == "pass.test"


def test_dmarc_alignment_relaxed_and_strict(checking, zone):
    p = checking()
    # SPF passes for mail.pass.test; From is pass.test: relaxed alignment (the default) holds.
    assert send(p, "bounces@mail.pass.test", message("news@pass.test", "relaxed"))[0] == 250
    r, _ = parsed(delivered(p, 1))
    assert r["spf"].result == "pass" and r["dmarc"].result == "pass"
    # strict.test asks aspf=s adkim=s: the same shape fails, and p=reject refuses it...
    code, _ = send(p, "bounces@mail.strict.test", message("news@strict.test", "strict"))
    assert code == 550
    # ...while a signature by strict.test itself aligns exactly.
    msg = signed(zone, message("news@strict.test", "strict signed"), "strict.test")
    assert send(p, "bounces@mail.strict.test", msg)[0] == 250
    r, _ = parsed(delivered(p, 2))
    assert r["dkim"].result == "pass" and r["dmarc"].result == "pass"


def test_a_valid_signature_passes_dmarc_despite_spf_fail(checking, zone):
    """Forwarded mail: SPF fails at the forwarder's address, DKIM survives."""
    p = checking()
    msg = signed(zone, message("alice@fail.test", "forwarded"), "fail.test")
    assert send(p, "alice@fail.test", msg)[0] == 250
    r, _ = parsed(delivered(p, 1))
    assert r["spf"].result == "fail" and r["dkim"].result == "pass" and r["dmarc"].result == "pass"


def test_spf_fail_refused_on_its_own_only_when_configured(checking, zone, tmp_path):
    p = checking("--config", str(write_extra(tmp_path, "[auth_checks]\nreject_spf_fail = true\n")))
    msg = signed(zone, message("alice@fail.test", "spf refused"), "fail.test")
    code, text = send(p, "alice@fail.test", msg)
    assert code == 550 and text.startswith(b"5.7.23 "), text


def test_arc_chain_sealed_by_python3_dkim_passes(checking, zone):
    p = checking()
    msg = signed(zone, message("alice@pass.test", "arc"), "pass.test")
    msg = b"Authentication-Results: mx.forwarder.test; spf=pass smtp.mailfrom=alice@pass.test\r\n" + msg
    seal = dkim.arc_sign(msg, b"sel", b"forwarder.test", zone.key, b"mx.forwarder.test",
                         include_headers=[b"from", b"to", b"subject"])
    assert send(p, "list@forwarder.test", b"".join(seal) + msg)[0] == 250
    r, _ = parsed(delivered(p, 1))
    assert r["arc"].result == "pass"


def test_forged_results_with_our_id_are_removed_in_any_case(checking, zone):
    p = checking()
    forged = (f"Authentication-Results: {HOSTNAME.upper()}; dmarc=pass header.from=fail.test\r\n"
              f"Authentication-Results: other.example; spf=pass\r\n"
              f"X-Spam-Flag: NO\r\n").encode()
    assert send(p, "a@neutral.test", forged + message("a@neutral.test", "forged results"))[0] == 250
    data = delivered(p, 1)
    header_section = data.split(b"\r\n\r\n")[0].lower()
    assert header_section.count(b"authentication-results: " + HOSTNAME.encode()) == 1
    assert b"authentication-results: other.example" in header_section
    assert b"x-spam-flag" not in header_section
    r, _ = parsed(data)
    assert r["dmarc"].result == "fail"


def test_trusted_clients_are_not_checked(checking, zone):
    p = checking("--trusted-network", "127.0.0.0/8")
    assert send(p, "mallory@fail.test", message("ceo@fail.test", "trusted"))[0] == 250
    assert auth_header(delivered(p, 1)) is None


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks is not installed")
def test_swaks_message_gets_results(checking, zone):
    p = checking()
    r = subprocess.run(["swaks", "--server", f"{p.host}:{p.port}", "--from", "a@pass.test", "--to", RCPT,
                        "--helo", "client.test", "--header", "From: a@pass.test", "--body", "via swaks"],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stdout.decode()[-800:]
    res, _ = parsed(delivered(p, 1))
    assert res["spf"].result == "pass" and res["dkim"].result == "none" and res["dmarc"].result == "pass"
