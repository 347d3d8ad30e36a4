"""STARTTLS on the port-25 listener (RFC 3207): what EHLO offers before and
after it, its replies, the session reset it implies, the command-injection
defence (CVE-2011-0411), and what a message received over TLS records."""
import socket
import ssl
import subprocess
import time

import pytest

from harness import (HOST, HOSTNAME, LOCAL_DOMAIN, PETRELD, TLS_NAME, client_context, free_port,
                     message, received_tls_clause, swaks, unfold)


def keywords(ehlo):
    """EHLO keywords (upper-case) -> the whole line, e.g. {"AUTH": "AUTH PLAIN LOGIN"}."""
    return {line.split()[0].upper(): line for line in ehlo.lines[1:]}


def test_ehlo_with_a_certificate_offers_starttls_and_no_auth_before_tls(secure):
    with secure.raw() as s:
        r = s.command("EHLO client.test")
    assert r.code == 250, r
    kw = keywords(r)
    assert "STARTTLS" in kw, r
    assert "AUTH" not in kw, r


def test_ehlo_after_starttls_offers_auth_plain_login_scram_and_no_starttls(secure):
    with secure.raw_tls() as s:
        kw = keywords(s.ehlo)
    assert "STARTTLS" not in kw, s.ehlo
    assert "AUTH" in kw, s.ehlo
    assert set(kw["AUTH"].split()[1:]) >= {"PLAIN", "LOGIN", "SCRAM-SHA-256"}, s.ehlo


def test_starttls_gets_220_2_0_0_ready_to_start_tls(secure):
    with secure.raw() as s:
        s.command("EHLO client.test")
        r = s.command("STARTTLS")
    assert (r.code, r.enhanced) == (220, "2.0.0"), r
    assert "Ready to start TLS" in r.text, r


def test_server_presents_the_configured_certificate(secure, tls_files):
    # verified against the test CA, for the certificate's name
    ctx = client_context(ca=tls_files.ca)
    with secure.raw() as s:
        s.command("EHLO client.test")
        assert s.starttls(ctx).code == 250
        assert s.sock.getpeercert()["subject"] == ((("commonName", TLS_NAME),),)


def test_starttls_after_tls_gets_503_5_5_1(secure):
    with secure.raw_tls() as s:
        r = s.command("STARTTLS")
        assert (r.code, r.enhanced) == (503, "5.5.1"), r
        assert s.command("NOOP").code == 250            # still the same TLS session


def test_starttls_inside_a_transaction_gets_503_5_5_1(secure):
    with secure.raw() as s:
        s.command("EHLO client.test")
        assert s.command("MAIL FROM:<sender@client.test>").code == 250
        r = s.command("STARTTLS")
    assert (r.code, r.enhanced) == (503, "5.5.1"), r


def test_starttls_with_an_argument_gets_501_5_5_4(secure):
    with secure.raw() as s:
        s.command("EHLO client.test")
        r = s.command("STARTTLS now")
    assert (r.code, r.enhanced) == (501, "5.5.4"), r


def test_starttls_without_a_certificate_is_not_offered_and_gets_502_5_5_1(petrel):
    with petrel.raw() as s:
        ehlo = s.command("EHLO client.test")
        assert "STARTTLS" not in keywords(ehlo), ehlo
        r = s.command("STARTTLS")
    assert (r.code, r.enhanced) == (502, "5.5.1"), r


def test_command_pipelined_behind_starttls_is_discarded_not_answered(secure):
    # CVE-2011-0411: "RSET" arrives in the same segment as STARTTLS, before
    # the handshake. Executing it after the handshake would let a man in the
    # middle inject commands into the encrypted session.
    with secure.raw() as s:
        s.command("EHLO client.test")
        s.send(b"STARTTLS\r\nRSET\r\n")
        r = s.reply()
        assert (r.code, r.enhanced) == (220, "2.0.0"), r
        # no plaintext reply to RSET before the handshake...
        s.sock.settimeout(0.5)
        try:
            early = s.sock.recv(4096, socket.MSG_PEEK)
        except socket.timeout:
            early = b""
        s.sock.settimeout(10)
        assert early == b"" and s.buf == b"", f"plaintext after the 220: {s.buf + early!r}"
        s.start_tls()
        # ...and none after it: the first reply over TLS answers our EHLO
        s.send(b"EHLO client.test\r\n")
        first = s.reply()
        assert first.code == 250 and first.lines[0].split()[0] == HOSTNAME, first
        assert len(first.lines) > 1, f"a one-line 250 first: the answer to the injected RSET? {first}"
        assert s.command("NOOP").code == 250


def test_starttls_resets_the_session_so_mail_needs_a_new_ehlo(secure):
    with secure.raw() as s:
        s.command("EHLO client.test")
        assert s.command("STARTTLS").code == 220
        s.start_tls()
        r = s.command("MAIL FROM:<sender@client.test>")
        assert (r.code, r.enhanced) == (503, "5.5.1"), r
        assert s.command("EHLO client.test").code == 250
        assert s.command("MAIL FROM:<sender@client.test>").code == 250


def test_smtplib_starttls_delivers_a_message(secure):
    sent = message("over starttls")
    with secure.smtp_tls() as c:
        assert c.sendmail("sender@client.test", [f"user@{LOCAL_DOMAIN}"], sent) == {}
    [got] = secure.wait_for_messages("user", 1)
    assert got.message == sent


def test_received_header_of_a_tls_message_says_esmtps_with_protocol_and_cipher(secure):
    with secure.raw_tls() as s:
        version, cipher, bits = s.tls()
        assert s.command("MAIL FROM:<sender@client.test>").code == 250
        assert s.command(f"RCPT TO:<user@{LOCAL_DOMAIN}>").code == 250
        assert s.command("DATA").code == 354
        s.send(message("tls trace") + b".\r\n")
        assert s.reply().code == 250
    [got] = secure.wait_for_messages("user", 1)
    received = unfold(got.header("Received"))
    assert " with ESMTPS " in received, received
    assert received_tls_clause(version, cipher, bits) in received, received


def test_received_header_names_tls_1_2_when_the_client_limits_itself_to_it(secure):
    # the clause is read from the session, not written for TLS 1.3 only
    ctx = client_context(maximum=ssl.TLSVersion.TLSv1_2)
    with secure.smtp_tls(context=ctx) as c:
        version, (cipher, _p, bits) = c.sock.version(), c.sock.cipher()
        assert version == "TLSv1.2"
        c.sendmail("sender@client.test", [f"user@{LOCAL_DOMAIN}"], message("tls 1.2"))
    [got] = secure.wait_for_messages("user", 1)
    received = unfold(got.header("Received"))
    assert received_tls_clause(version, cipher, bits) in received, received


def test_received_header_of_a_plaintext_message_says_esmtp_without_tls_clause(secure):
    with secure.smtp() as c:
        c.sendmail("sender@client.test", [f"user@{LOCAL_DOMAIN}"], message("plain"))
    [got] = secure.wait_for_messages("user", 1)
    received = unfold(got.header("Received"))
    assert " with ESMTP " in received and "using TLS" not in received, received


def test_swaks_tls_delivers_to_a_local_user(secure):
    r = swaks(secure, "--tls", "--from", "sender@client.test", "--to", f"user@{LOCAL_DOMAIN}",
              "--header", "Subject: swaks over starttls")
    assert r.returncode == 0, r.out
    assert "TLS started with cipher" in r.out, r.out
    [got] = secure.wait_for_messages("user", 1)
    assert b"Subject: swaks over starttls" in got.message


def test_garbage_instead_of_a_client_hello_ends_only_that_session(secure):
    with secure.raw() as s:
        s.command("EHLO client.test")
        assert s.command("STARTTLS").code == 220
        s.send(b"EHLO this is not a ClientHello\r\n" * 4)
        assert s.is_closed(), "server still holds a session whose handshake failed"
    secure.send_ok()


def test_client_vanishing_after_starttls_ends_only_that_session(secure):
    for _ in range(5):
        with secure.raw() as s:
            s.command("EHLO client.test")
            assert s.command("STARTTLS").code == 220
            # no handshake at all: close right away
    secure.send_ok()


def test_client_vanishing_in_the_middle_of_the_handshake_ends_only_that_session(secure):
    hello = client_hello()
    for _ in range(5):
        with secure.raw() as s:
            s.command("EHLO client.test")
            assert s.command("STARTTLS").code == 220
            s.send(hello[:len(hello) // 2])
    secure.send_ok()


def test_stalled_handshake_is_dropped_after_the_handshake_timeout(start_secure, tmp_path):
    # a slowloris that sends part of a ClientHello and waits must not hold a session for ever
    config = tmp_path / "handshake.toml"
    config.write_text('[tls]\nhandshake_timeout = "1s"\n')
    petrel = start_secure("--config", str(config))
    with petrel.raw() as s:
        s.command("EHLO client.test")
        assert s.command("STARTTLS").code == 220
        s.send(client_hello()[:20])
        t0 = time.monotonic()
        assert s.is_closed(timeout=8), "part of a handshake held the session for 8 s"
        assert 0.8 <= time.monotonic() - t0 < 5
    petrel.send_ok()


def start_must_fail(tmp_path, *flags):
    """Run petreld with flags that must stop it at start; returns (status, stderr)."""
    argv = [PETRELD, "--listen", f"{HOST}:{free_port()}", "--spool", str(tmp_path / "spool"),
            "--maildir", str(tmp_path / "maildir"), *flags]
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"petreld started and served with {flags}")
    return r.returncode, r.stdout.decode(errors="replace")


def test_missing_certificate_file_stops_petreld_naming_the_file(tmp_path, tls_files):
    status, err = start_must_fail(tmp_path, "--tls-cert", str(tmp_path / "nowhere.pem"),
                                  "--tls-key", tls_files.key)
    assert status != 0, err
    assert "nowhere.pem" in err, err


def test_key_not_matching_the_certificate_stops_petreld(tmp_path, tls_files):
    status, err = start_must_fail(tmp_path, "--tls-cert", tls_files.cert, "--tls-key", tls_files.ca_key)
    assert status != 0, err


def test_check_config_rejects_a_missing_certificate_with_status_2(tmp_path, tls_files):
    # --check-config is how an operator tests a change before a restart:
    # "configuration ok" for a server that then cannot start is a trap
    r = subprocess.run([PETRELD, "--listen", f"{HOST}:{free_port()}", "--tls-cert", str(tmp_path / "nowhere.pem"),
                        "--tls-key", tls_files.key, "--check-config"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 2, out
    assert "nowhere.pem" in out, out


def client_hello():
    """The first flight of a real TLS client (a ClientHello record)."""
    ctx = client_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=TLS_NAME)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    data = outgoing.read()
    assert data[:1] == b"\x16" and len(data) > 100
    return data
