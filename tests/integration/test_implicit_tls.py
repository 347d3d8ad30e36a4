"""The implicit-TLS submission listener (RFC 8314, port 465): the handshake
comes first, then the greeting; submission rules apply; a client that
fails or abandons the handshake ends only its own session."""
import socket
import time

from harness import LOCAL_DOMAIN, PASSWORDS, TLS_NAME, client_context, message, swaks, unfold, wait_until
from test_starttls import client_hello

ALICE = f"alice@{LOCAL_DOMAIN}"


def test_greeting_comes_after_the_tls_handshake(secure):
    with secure.connect(listener="smtps") as s:
        s.start_tls()
        r = s.reply()
    assert r.code == 220, r


def test_server_sends_nothing_before_the_client_hello(secure):
    with secure.connect(listener="smtps") as s:
        s.sock.settimeout(1.0)
        try:
            data = s.sock.recv(4096)
        except socket.timeout:
            data = None
    assert data is None, f"sent before any ClientHello: {data!r}"


def test_server_presents_the_configured_certificate(secure, tls_files):
    with secure.connect(listener="smtps") as s:
        s.start_tls(client_context(ca=tls_files.ca))
        assert s.reply().code == 220
        assert s.sock.getpeercert()["subject"] == ((("commonName", TLS_NAME),),)


def test_ehlo_offers_auth_and_not_starttls(secure):
    with secure.raw_tls(listener="smtps") as s:
        kw = {line.split()[0].upper(): line for line in s.ehlo.lines[1:]}
    assert "STARTTLS" not in kw, s.ehlo
    assert {"PLAIN", "LOGIN", "SCRAM-SHA-256"} <= set(kw["AUTH"].split()[1:]), s.ehlo


def test_starttls_on_the_implicit_tls_port_gets_503_5_5_1(secure):
    with secure.raw_tls(listener="smtps") as s:
        r = s.command("STARTTLS")
    assert (r.code, r.enhanced) == (503, "5.5.1"), r


def test_mail_before_auth_gets_530_5_7_0(secure):
    with secure.raw_tls(listener="smtps") as s:
        r = s.command(f"MAIL FROM:<{ALICE}>")
    assert (r.code, r.enhanced) == (530, "5.7.0"), r


def test_sender_not_owned_by_the_user_gets_553_5_7_1(secure):
    with secure.raw_auth(ALICE, listener="smtps") as s:
        r = s.command(f"MAIL FROM:<bob@{LOCAL_DOMAIN}>")
    assert (r.code, r.enhanced) == (553, "5.7.1"), r


def test_smtplib_smtp_ssl_login_sendmail_delivers_with_esmtpsa(secure):
    with secure.smtp_tls(listener="smtps") as c:
        version, (cipher, _p, bits) = c.sock.version(), c.sock.cipher()
        c.login(ALICE, PASSWORDS[ALICE])
        assert c.sendmail(ALICE, [f"user@{LOCAL_DOMAIN}"], message("implicit")) == {}
    [got] = secure.wait_for_messages("user", 1)
    received = unfold(got.header("Received"))
    assert " with ESMTPSA " in received, received
    assert f"(using {version} with cipher {cipher} ({bits}/{bits} bits))" in received, received


def test_swaks_tlsc_auth_plain_delivers(secure):
    r = swaks(secure, "--tlsc", "--auth", "PLAIN", "--auth-user", ALICE, "--auth-password", PASSWORDS[ALICE],
              "--from", ALICE, "--to", f"user@{LOCAL_DOMAIN}", "--header", "Subject: swaks tlsc plain",
              listener="smtps")
    assert r.returncode == 0, r.out
    [got] = secure.wait_for_messages("user", 1)
    assert b"Subject: swaks tlsc plain" in got.data


def test_swaks_tlsc_auth_login_delivers(secure):
    r = swaks(secure, "--tlsc", "--auth", "LOGIN", "--auth-user", ALICE, "--auth-password", PASSWORDS[ALICE],
              "--from", ALICE, "--to", f"user@{LOCAL_DOMAIN}", "--header", "Subject: swaks tlsc login",
              listener="smtps")
    assert r.returncode == 0, r.out
    [got] = secure.wait_for_messages("user", 1)
    assert b"Subject: swaks tlsc login" in got.data


def send_ok_smtps(petrel, text):
    """A well-behaved implicit-TLS client still gets a message delivered."""
    before = len(petrel.message_files("check"))
    with petrel.smtp_tls(listener="smtps") as c:
        c.login(ALICE, PASSWORDS[ALICE])
        c.sendmail(ALICE, [f"check@{LOCAL_DOMAIN}"], f"Subject: {text}\r\n\r\n{text}\r\n".encode())
    petrel.wait_for_messages("check", before + 1)


def test_plaintext_smtp_instead_of_a_client_hello_ends_only_that_session(secure):
    with secure.connect(listener="smtps") as s:
        s.send(b"EHLO client.test\r\n")
        assert s.is_closed(), "server kept a session whose first bytes were not TLS"
    send_ok_smtps(secure, "after plaintext")


def test_random_garbage_instead_of_a_client_hello_ends_only_that_session(secure):
    with secure.connect(listener="smtps") as s:
        s.send(bytes(range(256)) * 8)
        assert s.is_closed()
    send_ok_smtps(secure, "after garbage")


def test_client_vanishing_mid_handshake_ends_only_that_session(secure):
    hello = client_hello()
    for n in range(10):
        with secure.connect(listener="smtps") as s:
            s.send(hello[:len(hello) * n // 10])       # from nothing to most of the ClientHello
    send_ok_smtps(secure, "after vanishing clients")


def test_stalled_handshake_is_dropped_after_the_handshake_timeout(start_secure, tmp_path):
    config = tmp_path / "handshake.toml"
    config.write_text('[tls]\nhandshake_timeout = "1s"\n')
    petrel = start_secure("--config", str(config))
    with petrel.connect(listener="smtps") as s:
        t0 = time.monotonic()
        assert s.is_closed(timeout=8), "a silent client held an smtps session for 8 s"
        assert 0.8 <= time.monotonic() - t0 < 5


def test_many_abandoned_handshakes_do_not_stop_service(secure):
    hello = client_hello()
    held = []
    try:
        for _ in range(30):
            s = secure.connect(listener="smtps")
            s.send(hello[:50])
            held.append(s)
        send_ok_smtps(secure, "while 30 handshakes hang")
    finally:
        for s in held:
            s.close()


def test_over_the_limit_the_smtps_port_closes_before_any_handshake(start_secure):
    # One session per IP: a second client is refused before its TLS
    # handshake costs the server anything, and the refusal is logged.
    p = start_secure("--max-sessions-per-ip", "1")
    held = []

    def hold_one():  # the start-up's probe of the port may still count for a moment
        try:
            held.append(p.raw_tls(listener="smtps"))
            return True
        except OSError:
            return False
    assert wait_until(hold_one, 10)
    with held[0]:
        with p.connect(listener="smtps") as s:
            s.sock.settimeout(5.0)
            try:
                s.sock.sendall(client_hello())
                data = s.sock.recv(4096)
            except (ConnectionResetError, BrokenPipeError):
                data = b""  # closed before the hello was read: a reset
        assert data == b"", f"an over-limit client got {data[:20]!r}"
    assert "port=smtps result=refused reason=per_ip" in p.log_text()
