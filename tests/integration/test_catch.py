"""petrel catch: real clients (smtplib, swaks, a raw socket) are graded by
`petrel catch --once --json`; the report comes on stdout and in reports/,
the messages land in the Maildir byte for byte (docs/petrel-catch.md)."""
import json
import os
import smtplib
import socket
import subprocess
import time

import pytest

from harness import HOST, PETRELD, free_port, run_tool, tool, wait_until

PETREL = os.path.join(os.path.dirname(PETRELD), "petrel")

HEADERS = ("From: Alice <alice@client.test>\r\n"
           "To: bob@example.test\r\n"
           "Date: Mon, 07 Dec 2026 11:00:00 +0000\r\n"
           "Message-ID: <1@client.test>\r\n"
           "Subject: caught\r\n"
           "\r\n")


class Catch:
    """`petrel catch --once --json` on a free port, its Maildir in tmp_path."""

    def __init__(self, tmp_path, *args):
        self.port = free_port()
        self.maildir = tmp_path / "caught"
        self.stderr_path = tmp_path / "catch.stderr"
        self.stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [PETREL, "catch", "--once", "--json", "--listen", f"{HOST}:{self.port}",
             "--maildir", str(self.maildir), "--hostname", "catch.test", *args],
            stdout=subprocess.PIPE, stderr=self.stderr)
        listening = wait_until(lambda: b"listening on" in self.stderr_path.read_bytes()
                               or self.proc.poll() is not None, 10)
        assert listening and self.proc.poll() is None, self.stderr_path.read_text()

    def report(self, timeout=20):
        """Waits for the session to end; returns (exit status, report)."""
        out, _ = self.proc.communicate(timeout=timeout)
        self.stderr.close()
        lines = out.decode().splitlines()
        assert len(lines) == 1, out  # stdout holds the JSON and nothing else
        return self.proc.returncode, json.loads(lines[0])

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.stderr.close()


@pytest.fixture
def catch(tmp_path):
    started = []

    def start(*args):
        c = Catch(tmp_path, *args)
        started.append(c)
        return c

    yield start
    for c in started:
        c.close()


def ids(report):
    return [f["id"] for f in report["findings"]]


def failures(report):
    return [f["id"] for f in report["findings"] if f["level"] == "fail"]


def maildir_files(c):
    new = c.maildir / "new"
    return sorted(new.iterdir())


def test_smtplib_plain_message_passes_and_lands_byte_exact(catch):
    c = catch()
    message = (HEADERS + "Hello.\r\n.A line that starts with a dot.\r\n").encode()
    with smtplib.SMTP(HOST, c.port, local_hostname="client.test", timeout=10) as s:
        s.sendmail("alice@client.test", ["bob@example.test"], message)
    status, report = c.report()
    assert status == 0, report
    assert report["findings"] == []
    assert report["verdict"] == "pass"
    assert report["greeting"] == "EHLO"
    assert "PIPELINING" in report["offered"] and "SIZE" in report["offered"]
    assert report["used"] == ["SIZE"]
    [m] = report["messages"]
    assert m["reply"] == 250 and m["size"] == len(message) and m["declared_size"] == len(message)
    [path] = maildir_files(c)
    assert m["file"] == "new/" + path.name
    assert path.read_bytes() == message
    # The report is kept beside the Maildir's folders, never inside them.
    [kept] = list((c.maildir / "reports").iterdir())
    assert json.loads(kept.read_text()) == report
    assert list((c.maildir / "cur").iterdir()) == [] and list((c.maildir / "tmp").iterdir()) == []


def test_smtplib_8bit_with_body_8bitmime_passes(catch):
    c = catch()
    message = (HEADERS + "Grüße aus Köln.\r\n").encode("utf-8")
    with smtplib.SMTP(HOST, c.port, local_hostname="client.test", timeout=10) as s:
        s.sendmail("alice@client.test", ["bob@example.test"], message, mail_options=["BODY=8BITMIME"])
    status, report = c.report()
    assert status == 0, report
    assert report["findings"] == []
    assert report["used"] == ["SIZE", "8BITMIME"]
    [path] = maildir_files(c)
    assert path.read_bytes() == message


def swaks(c, *args):
    return run_tool([tool("swaks"), "--server", HOST, "--port", str(c.port), "--helo", "client.test",
                     "--timeout", "15", "--from", "alice@client.test", "--to", "bob@example.test", *args])


def test_swaks_pipelining_is_seen_and_is_no_fault(catch):
    c = catch()
    r = swaks(c, "--pipeline")
    assert r.returncode == 0, r.out
    status, report = c.report()
    assert "pipelining-used" in ids(report), report
    assert "PIPELINING" in report["used"]
    assert failures(report) == []
    assert status in (0, 1)


def test_swaks_auth_without_starttls_is_auth_in_clear(catch):
    c = catch("--auth", "alice:secret")
    r = swaks(c, "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "secret")
    assert r.returncode == 0, r.out
    status, report = c.report()
    assert status == 2, report
    assert "auth-in-clear" in failures(report)
    assert report["auth"] == "PLAIN"
    assert report["tls"] is None


def test_swaks_auth_after_starttls_passes(catch):
    c = catch("--auth", "alice:secret", "--self-signed")
    r = swaks(c, "-tls", "--auth", "LOGIN", "--auth-user", "alice", "--auth-password", "secret")
    assert r.returncode == 0, r.out
    status, report = c.report()
    assert failures(report) == [], report
    assert "starttls-not-taken" not in ids(report)
    assert report["tls"] in ("TLSv1.2", "TLSv1.3")
    assert report["auth"] == "LOGIN"
    assert {"tls-version", "auth-mechanism"} <= set(ids(report))
    assert "STARTTLS" in report["used"] and "AUTH" in report["used"]
    assert status in (0, 1)


def curl_send(c, tmp_path, *args):
    """curl's SMTP client sends one message as alice, AUTH PLAIN by default."""
    path = tmp_path / "curl.eml"
    path.write_bytes((HEADERS + "Sent by curl.\r\n").encode())
    return subprocess.run(["curl", "-sS", "--max-time", "20", f"smtp://{HOST}:{c.port}", "--user", "alice:secret",
                           "--mail-from", "alice@client.test", "--mail-rcpt", "bob@example.test",
                           "--upload-file", str(path), *args], capture_output=True, text=True, timeout=30)


def test_curl_over_starttls_with_auth_passes(catch, tmp_path):
    c = catch("--auth", "alice:secret", "--self-signed")
    r = curl_send(c, tmp_path, "--ssl-reqd", "--insecure")
    assert r.returncode == 0, r.stderr
    status, report = c.report()
    assert failures(report) == [], report
    assert report["tls"] in ("TLSv1.2", "TLSv1.3") and report["auth"]
    [path] = maildir_files(c)
    assert path.read_bytes().endswith(b"Sent by curl.\r\n")


def test_curl_auth_without_starttls_is_auth_in_clear(catch, tmp_path):
    c = catch("--auth", "alice:secret")
    r = curl_send(c, tmp_path)
    assert r.returncode == 0, r.stderr
    status, report = c.report()
    assert status == 2, report
    assert "auth-in-clear" in failures(report)


def read_reply(sock):
    """One whole reply (multi-line included), as text."""
    data = b""
    while True:
        chunk = sock.recv(4096)
        assert chunk, data
        data += chunk
        lines = data.split(b"\r\n")
        if len(lines) >= 2 and len(lines[-2]) >= 4 and lines[-2][3:4] == b" ":
            return data.decode("utf-8", "replace")


def test_a_raw_client_that_breaks_the_rules_finds_each_rule(catch):
    c = catch("--offer", "size,8bitmime")
    with socket.create_connection((HOST, c.port), timeout=10) as s:
        read_reply(s)
        s.sendall(b"EHLO raw.test\r\n")
        assert "PIPELINING" not in read_reply(s)
        # Two commands in one write: pipelining, which was not offered.
        s.sendall(b"MAIL FROM:<raw@client.test>\r\nRCPT TO:<bob@example.test>\r\n")
        replies = read_reply(s)
        if replies.count("\r\n") < 2:  # the two replies may come in one read or two
            replies += read_reply(s)
        assert replies.count("250 ") == 2 and "2.1.5" not in replies  # not offered: no enhanced codes
        s.sendall(b"DATA\r\n")
        assert read_reply(s).startswith("354")
        body = (b"From: <raw@client.test>\r\nSubject: rules\r\n\r\n"
                b"bare\nlf\r\n"
                b".not stuffed\r\n"
                b"8-bit: \xe9t\xe9\r\n"
                + b"x" * 1200 + b"\r\n"
                b".\r\n")
        s.sendall(body)
        assert read_reply(s).startswith("550")  # a strict server refuses bare LF, as petreld does
        # ...and the client goes without QUIT.
    status, report = c.report()
    assert status == 2, report
    found = set(ids(report))
    for rule in ("pipelining-without-offer", "bare-lf", "unstuffed-dot", "8bit-without-8bitmime",
                 "line-too-long", "no-quit", "no-size-declared", "no-message-id", "no-date"):
        assert rule in found, (rule, report["findings"])
    assert "pipelining-used" not in found
    [m] = report["messages"]
    assert m["reply"] == 550 and m["file"] is None
    assert maildir_files(c) == []


def test_offer_none_and_a_client_that_falls_back_to_helo(catch):
    c = catch("--offer", "none")
    message = (HEADERS + "Plain.\r\n").encode()
    with smtplib.SMTP(HOST, c.port, local_hostname="client.test", timeout=10) as s:
        s.sendmail("alice@client.test", ["bob@example.test"], message)  # EHLO gets 502, then HELO
    status, report = c.report()
    assert status == 0, report
    assert report["greeting"] == "HELO"
    assert report["offered"] == []
    assert "helo-not-ehlo" not in ids(report)
    [path] = maildir_files(c)
    assert path.read_bytes() == message


def test_helo_to_an_esmtp_server_is_a_warning(catch):
    c = catch()
    with socket.create_connection((HOST, c.port), timeout=10) as s:
        read_reply(s)
        s.sendall(b"HELO old.test\r\n")
        read_reply(s)
        s.sendall(b"QUIT\r\n")
        read_reply(s)
    status, report = c.report()
    assert status == 1, report
    assert ids(report) == ["helo-not-ehlo"]


def test_cannot_listen_exits_3(tmp_path):
    with socket.socket() as busy:
        busy.bind((HOST, 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = subprocess.run([PETREL, "catch", "--once", "--json", "--listen", f"{HOST}:{port}",
                            "--maildir", str(tmp_path / "m")], capture_output=True, timeout=20)
    assert r.returncode == 3, r.stderr
    assert r.stdout == b""
    assert b"cannot listen" in r.stderr


def test_an_unknown_offer_keyword_is_refused(tmp_path):
    r = subprocess.run([PETREL, "catch", "--offer", "PIPELINING,TURBO", "--maildir", str(tmp_path / "m")],
                       capture_output=True, timeout=20)
    assert r.returncode == 3
    assert b"TURBO" in r.stderr


def test_extensions_used_without_the_offer_are_faults(catch):
    c = catch("--offer", "pipelining")
    with socket.create_connection((HOST, c.port), timeout=10) as s:
        read_reply(s)
        s.sendall(b"EHLO raw.test\r\n")
        offered = read_reply(s)
        assert "SIZE" not in offered and "8BITMIME" not in offered
        s.sendall(b"MAIL FROM:<raw@client.test> SIZE=100 BODY=8BITMIME\r\n")
        read_reply(s)
        s.sendall(b"BDAT 10 LAST\r\n0123456789")
        read_reply(s)
        s.sendall(b"QUIT\r\n")
        read_reply(s)
    status, report = c.report()
    assert status == 2, report
    [f] = [f for f in report["findings"] if f["id"] == "extension-without-offer"]
    assert f["level"] == "fail" and f["count"] == 3, f  # SIZE=, BODY=, BDAT
    assert "SIZE=100" in f["text"]


# --- dkim-invalid: signatures checked against keys served by dnsmasq --------

def dkim_zone_and_key(tmp_path):
    from dns_zone import DnsZone, dnsmasq_binary
    if dnsmasq_binary() is None:
        pytest.skip("dnsmasq is not installed (apt-get install dnsmasq-base)")
    r = subprocess.run([PETREL, "dkim", "keygen", "--domain", "client.test", "--selector", "s1", "--algorithm",
                        "ed25519", "--out", str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    import re
    strings = re.findall(r'"([^"]*)"', r.stdout.splitlines()[0])
    zone = DnsZone().txt("s1._domainkey.client.test", *strings)
    zone.start()
    return zone, tmp_path / "s1.client.test.key"


def dkim_signed(key, message):
    r = subprocess.run([PETREL, "dkim", "sign", "--key", str(key), "--domain", "client.test", "--selector", "s1"],
                       input=message, capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_a_dkim_signature_that_verifies_passes_and_one_altered_is_dkim_invalid(catch, tmp_path):
    zone, key = dkim_zone_and_key(tmp_path)
    try:
        c = catch("--resolver", zone.upstream)
        good = dkim_signed(key, (HEADERS + "Signed and intact.\r\n").encode())
        bad = dkim_signed(key, (HEADERS + "Signed, then altered.\r\n").encode()).replace(b"altered", b"changed")
        with smtplib.SMTP(HOST, c.port, local_hostname="client.test", timeout=10) as s:
            s.sendmail("alice@client.test", ["bob@example.test"], good)
            s.sendmail("alice@client.test", ["bob@example.test"], bad)
        status, report = c.report(timeout=30)
    finally:
        zone.stop()
    assert status == 2, report
    first, second = report["messages"]
    assert [d["result"] for d in first["dkim"]] == ["pass"], first
    assert [(d["domain"], d["selector"], d["result"]) for d in second["dkim"]] == [("client.test", "s1", "fail")]
    [f] = [f for f in report["findings"] if f["id"] == "dkim-invalid"]
    assert f["level"] == "fail" and f["count"] == 1 and f["text"].startswith("message 2"), f
