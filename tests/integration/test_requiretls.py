"""REQUIRETLS (RFC 8689): the server side (offered only after STARTTLS,
refused in the clear) and the delivery side (only over authenticated TLS
to a next hop that offers REQUIRETLS, else returned with 5.7.10 or
5.7.30). The next hops are on the signed zones of dnssec_zone.py:
dane.test's TLSA matches the test certificate (an authenticated path),
plain.test is unsigned (a configured `verify` policy is its only way)."""
import smtplib
import socketserver
import ssl
import threading

import pytest

from dnssec_zone import ADDRESSES
from harness import LOCAL_DOMAIN, message, wait_until

SENDER = f"me@{LOCAL_DOMAIN}"


def client_context():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def submit(relay, to, requiretls=True, headers=""):
    """A message to the relay over STARTTLS, with MAIL FROM ... REQUIRETLS."""
    with smtplib.SMTP(relay.host, relay.port, local_hostname="client.test", timeout=10) as c:
        c.starttls(context=client_context())
        c.ehlo("client.test")
        assert c.has_extn("requiretls")
        c.sendmail(SENDER, [to], message(subject="requiretls", headers=headers),
                   mail_options=["REQUIRETLS"] if requiretls else [])


class StartTlsReceiver:
    """A minimal SMTP server with STARTTLS on ADDR:25 that records the MAIL
    commands it gets; offers REQUIRETLS after STARTTLS when told to."""

    def __init__(self, host, cert, key, offer_requiretls):
        self.mail_commands = []
        self.messages = 0
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                self.wfile.write(b"220 next-hop.test ESMTP\r\n")
                tls = False
                while True:
                    line = self.rfile.readline(1000)
                    if not line:
                        return
                    verb = line[:4].upper()
                    if verb == b"EHLO":
                        extensions = [b"PIPELINING", b"8BITMIME"] + ([] if tls else [b"STARTTLS"])
                        if tls and offer_requiretls:
                            extensions.append(b"REQUIRETLS")
                        lines = [b"next-hop.test"] + extensions
                        for i, ext in enumerate(lines):
                            self.wfile.write(b"250" + (b" " if i == len(lines) - 1 else b"-") + ext + b"\r\n")
                    elif verb == b"STAR":
                        self.wfile.write(b"220 2.0.0 go ahead\r\n")
                        self.wfile.flush()
                        conn = context.wrap_socket(self.connection, server_side=True)
                        self.connection = conn
                        self.rfile = conn.makefile("rb")
                        self.wfile = conn.makefile("wb", buffering=0)
                        tls = True
                        continue
                    elif verb == b"MAIL":
                        outer.mail_commands.append(line.decode().strip())
                        self.wfile.write(b"250 2.1.0 ok\r\n")
                    elif verb == b"DATA":
                        self.wfile.write(b"354 go on\r\n")
                        while self.rfile.readline(100000) not in (b".\r\n", b""):
                            pass
                        outer.messages += 1
                        self.wfile.write(b"250 2.0.0 queued\r\n")
                    elif verb == b"QUIT":
                        self.wfile.write(b"221 2.0.0 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 2.0.0 ok\r\n")

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer((host, 25), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def next_hop(tls_files):
    started = []

    def start(offer_requiretls):
        r = StartTlsReceiver(ADDRESSES["dane"], tls_files.cert, tls_files.key, offer_requiretls)
        started.append(r)
        return r
    yield start
    for r in started:
        r.stop()


def relay_for(servers, tls_files, zones, tmp_path, extra=""):
    config = tmp_path / "relay.toml"
    config.write_text(f'[delivery]\ntls_ca_file = "{tls_files.ca}"\n{extra}')
    return servers("relay", "--config", str(config), "--trusted-network", "127.0.0.0/8",
                   "--tls-cert", tls_files.cert, "--tls-key", tls_files.key, "--resolver", zones.upstream,
                   "--trust-anchor-file", zones.ta, "--retry-intervals", "1h")


def smtp_sessions(server):
    """The sessions that said EHLO/HELO (the harness's port check does not)."""
    return [x for x in server.log_text().splitlines() if "session client=" in x and "helo=- " not in x]


def bounce_to_sender(relay):
    files = relay.message_files("me")
    return open(files[0], "rb").read().decode(errors="replace") if files else ""


# ---- the server side

def test_requiretls_is_offered_only_after_starttls(start_secure):
    server = start_secure()
    with server.raw() as s:
        clear = s.command("EHLO client.test")
        assert "REQUIRETLS" not in clear.text
        refused = s.command(f"MAIL FROM:<{SENDER}> REQUIRETLS")
        assert refused.code == 530 and refused.enhanced == "5.7.10", refused
        encrypted = s.starttls(client_context())
        assert "REQUIRETLS" in encrypted.text
        accepted = s.command(f"MAIL FROM:<{SENDER}> REQUIRETLS")
        assert accepted.code == 250, accepted


# ---- the delivery side

def test_requiretls_over_dane_reaches_a_petrel_next_hop(servers, tls_files, signed_zones, tmp_path):
    receiver = servers("mx", "--local-domain", "dane.test", "--tls-cert", tls_files.cert, "--tls-key", tls_files.key,
                       host=ADDRESSES["dane"], port=25)
    relay = relay_for(servers, tls_files, signed_zones, tmp_path)
    submit(relay, "bob@dane.test")
    assert wait_until(lambda: receiver.message_files("bob", "dane.test"), 20), relay.log_text()
    line = [x for x in relay.log_text().splitlines() if "delivery qid=" in x][-1]
    assert "tls_policy=dane" in line and "result=delivered" in line, line


def test_the_next_hop_sees_requiretls_on_mail_from(next_hop, servers, tls_files, signed_zones, tmp_path):
    hop = next_hop(offer_requiretls=True)
    relay = relay_for(servers, tls_files, signed_zones, tmp_path)
    submit(relay, "bob@dane.test")
    assert wait_until(lambda: hop.messages == 1, 20), relay.log_text()
    assert hop.mail_commands[-1].endswith(" REQUIRETLS"), hop.mail_commands


def test_a_next_hop_without_requiretls_gets_nothing_and_the_message_returns_5_7_30(
        next_hop, servers, tls_files, signed_zones, tmp_path):
    hop = next_hop(offer_requiretls=False)
    relay = relay_for(servers, tls_files, signed_zones, tmp_path)
    submit(relay, "bob@dane.test")
    assert wait_until(lambda: bounce_to_sender(relay), 20), relay.log_text()
    dsn = bounce_to_sender(relay)
    assert "Status: 5.7.30" in dsn and "REQUIRETLS support required" in dsn, dsn
    assert hop.mail_commands == [] and hop.messages == 0


def test_an_unverifiable_certificate_returns_the_message_with_5_7_10(servers, tls_files, signed_zones, tmp_path):
    # plain.test is unsigned: `verify` is its authenticated policy, and the
    # receiver's certificate names mail.petrel.test, not mx.plain.test.
    receiver = servers("mx", "--local-domain", "plain.test", "--tls-cert", tls_files.cert, "--tls-key", tls_files.key,
                       host=ADDRESSES["plain"], port=25)
    relay = relay_for(servers, tls_files, signed_zones, tmp_path, 'tls_policy = { "plain.test" = "verify" }\n')
    submit(relay, "bob@plain.test")
    assert wait_until(lambda: bounce_to_sender(relay), 20), relay.log_text()
    dsn = bounce_to_sender(relay)
    assert "Status: 5.7.10" in dsn and "TLS handshake failed" in dsn, dsn
    assert not receiver.message_files("bob", "plain.test")


def test_without_an_authenticated_policy_requiretls_is_returned_unsent(servers, tls_files, signed_zones, tmp_path):
    receiver = servers("mx", "--local-domain", "plain.test", "--tls-cert", tls_files.cert, "--tls-key", tls_files.key,
                       host=ADDRESSES["plain"], port=25)
    relay = relay_for(servers, tls_files, signed_zones, tmp_path)  # plain.test: opportunistic TLS only
    submit(relay, "bob@plain.test")
    assert wait_until(lambda: bounce_to_sender(relay), 20), relay.log_text()
    assert "Status: 5.7.10" in bounce_to_sender(relay)
    assert not smtp_sessions(receiver)


def test_tls_required_no_sends_despite_a_tlsa_mismatch(servers, tls_files, signed_zones, tmp_path):
    receiver = servers("mx", "--local-domain", "wrong.test", "--tls-cert", tls_files.cert, "--tls-key", tls_files.key,
                       host=ADDRESSES["wrong"], port=25)
    relay = relay_for(servers, tls_files, signed_zones, tmp_path)
    submit(relay, "bob@wrong.test", requiretls=False, headers="TLS-Required: No\r\n")
    assert wait_until(lambda: receiver.message_files("bob", "wrong.test"), 20), relay.log_text()
    line = [x for x in relay.log_text().splitlines() if "delivery qid=" in x][-1]
    assert "tls_policy=tls-required-no" in line, line


def test_requiretls_wins_over_tls_required_no(servers, tls_files, signed_zones, tmp_path):
    receiver = servers("mx", "--local-domain", "wrong.test", "--tls-cert", tls_files.cert, "--tls-key", tls_files.key,
                       host=ADDRESSES["wrong"], port=25)
    relay = relay_for(servers, tls_files, signed_zones, tmp_path)
    submit(relay, "bob@wrong.test", headers="TLS-Required: No\r\n")  # RFC 8689 §4.1: the header is ignored
    assert wait_until(lambda: "result=" in relay.log_text(), 20), relay.log_text()
    assert not receiver.message_files("bob", "wrong.test")


def test_a_plain_session_cannot_ask_for_requiretls(start_secure):
    server = start_secure()
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        with smtplib.SMTP(server.host, server.port, local_hostname="client.test", timeout=10) as c:
            c.sendmail(SENDER, ["x@" + LOCAL_DOMAIN], message(), mail_options=["REQUIRETLS"])
    assert refused.value.smtp_code == 530

