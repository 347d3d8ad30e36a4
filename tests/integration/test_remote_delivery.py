"""Delivery to other servers (issue 5): a second petreld (or a scripted
aiosmtpd server) on another loopback address receives what the first one
relays, by transport map or by MX records that dnsmasq serves."""
import os
import pathlib
import re
import shutil
import smtplib
import subprocess
import tempfile
import time

import pytest

from dns_zone import DnsZone, dnsmasq_binary
from harness import LOCAL_DOMAIN, PETRELD, free_port, message, wait_until

PETREL = os.path.join(os.path.dirname(PETRELD), "petrel")

REMOTE = "remote.test"


def send(petrel, sender, recipients, body=b"hello\r\n", subject="relay test"):
    with smtplib.SMTP(petrel.host, petrel.port, local_hostname="client.test", timeout=10) as c:
        data = message(subject=subject, body=body.decode())
        return c.sendmail(sender, recipients, data)


def files(petrel, user, domain):
    return petrel.message_files(user, domain)


def test_transport_map_delivers_to_the_named_host_in_one_transaction(servers):
    receiver = servers("b", "--local-domain", REMOTE, host="127.0.0.2")
    relay = servers("a", "--trusted-network", "127.0.0.0/8",
                    "--transport", f"{REMOTE}=smtp:[127.0.0.2]:{receiver.port}", "--retry-intervals", "1s")
    send(relay, f"me@{LOCAL_DOMAIN}", [f"bob@{REMOTE}", f"carol@{REMOTE}"], body=b".leading dot\r\nend\r\n")
    assert wait_until(lambda: files(receiver, "bob", REMOTE) and files(receiver, "carol", REMOTE), 15), relay.log_text()
    with open(files(receiver, "bob", REMOTE)[0], "rb") as f:
        data = f.read()
    assert b"\r\n.leading dot\r\nend\r\n" in data  # dot-stuffing undone on the far side
    assert data.count(b"Received: ") == 2          # each server adds its own
    # both recipients in one session and one transaction
    sessions = [line for line in receiver.log_text().splitlines() if " session " in line and "messages=1" in line]
    assert len(sessions) == 1 and "recipients=2" in sessions[0], receiver.log_text()
    assert wait_until(lambda: relay.log_text().count("result=delivered") == 2, 5)


def test_one_hundred_recipients_at_one_domain_go_in_one_transaction(servers):
    receiver = servers("b", "--local-domain", REMOTE, host="127.0.0.2")
    relay = servers("a", "--trusted-network", "127.0.0.0/8",
                    "--transport", f"{REMOTE}=smtp:[127.0.0.2]:{receiver.port}")
    rcpts = [f"user{i}@{REMOTE}" for i in range(100)]
    send(relay, f"me@{LOCAL_DOMAIN}", rcpts)
    assert wait_until(lambda: all(files(receiver, f"user{i}", REMOTE) for i in range(100)), 20)
    sessions = [line for line in receiver.log_text().splitlines() if " session " in line and "messages=1" in line]
    assert len(sessions) == 1 and "recipients=100" in sessions[0]


def test_a_permanent_refusal_bounces_to_the_sender_with_the_remote_reply(servers, tmp_path):
    config = tmp_path / "strict.toml"
    config.write_text('[local]\nusers = ["bob"]\nunknown_recipient = "reject"\n')
    receiver = servers("b", "--config", str(config), "--local-domain", REMOTE, host="127.0.0.2")
    relay = servers("a", "--trusted-network", "127.0.0.0/8",
                    "--transport", f"{REMOTE}=smtp:[127.0.0.2]:{receiver.port}")
    send(relay, f"sender@{LOCAL_DOMAIN}", [f"bob@{REMOTE}", f"nobody@{REMOTE}"])
    assert wait_until(lambda: files(receiver, "bob", REMOTE), 15)
    # the bounce comes back to the sender, here a local user of the relay
    assert wait_until(lambda: files(relay, "sender", LOCAL_DOMAIN), 15), relay.log_text()
    with open(files(relay, "sender", LOCAL_DOMAIN)[0], "rb") as f:
        dsn = f.read().decode()
    assert "report-type=delivery-status" in dsn
    assert "Final-Recipient: rfc822; nobody@remote.test" in dsn
    assert "Action: failed" in dsn and "Status: 5.1.1" in dsn
    assert re.search(r"Diagnostic-Code: smtp; 550 5\.1\.1", dsn), dsn
    assert "bob@remote.test" not in dsn.split("Content-Type: message/delivery-status")[1].split("--")[0]
    assert "Return-Path: <>" in dsn


def test_a_temporary_failure_is_retried_and_then_delivered(servers, tmp_path):
    from aiosmtpd.controller import Controller

    class FirstRefuses:
        def __init__(self):
            self.calls, self.received = 0, []

        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            self.calls += 1
            if self.calls == 1:
                return "451 4.3.0 Try again later"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            self.received.append(envelope.content)
            return "250 2.0.0 Accepted"

    handler = FirstRefuses()
    port = free_port("127.0.0.3")
    controller = Controller(handler, hostname="127.0.0.3", port=port)
    controller.start()
    try:
        relay = servers("a", "--trusted-network", "127.0.0.0/8", "--retry-intervals", "1s",
                        "--transport", f"{REMOTE}=smtp:[127.0.0.3]:{port}")
        send(relay, f"me@{LOCAL_DOMAIN}", [f"bob@{REMOTE}"])
        assert wait_until(lambda: handler.received, 20), relay.log_text()
        assert handler.calls == 2
        assert "result=deferred" in relay.log_text() and "result=delivered" in relay.log_text()
        assert wait_until(lambda: relay.log_text().count("result=delivered") == 1, 5)
    finally:
        controller.stop()


def test_deferred_mail_survives_a_restart_and_goes_when_the_server_is_back(servers, tmp_path):
    port = free_port("127.0.0.2")
    relay = servers("a", "--trusted-network", "127.0.0.0/8", "--retry-intervals", "1s",
                    "--transport", f"{REMOTE}=smtp:[127.0.0.2]:{port}")
    send(relay, f"me@{LOCAL_DOMAIN}", [f"bob@{REMOTE}"])
    assert wait_until(lambda: "result=deferred" in relay.log_text(), 15), relay.log_text()
    relay.stop()
    relay.start()
    receiver = servers("b", "--local-domain", REMOTE, host="127.0.0.2", port=port)
    assert wait_until(lambda: files(receiver, "bob", REMOTE), 20), relay.log_text()
    time.sleep(1.5)
    assert len(files(receiver, "bob", REMOTE)) == 1


@pytest.fixture
def zone():
    if dnsmasq_binary() is None:
        pytest.skip("dnsmasq is not installed (apt-get install dnsmasq-base)")
    z = (DnsZone()
         .mx("two.test", "mx1.two.test", 10).mx("two.test", "mx2.two.test", 20)
         .host("mx1.two.test", "127.0.0.2").host("mx2.two.test", "127.0.0.3")
         .mx("nullmx.test", ".", 0)
         .start())
    yield z
    z.stop()


def test_mx_records_choose_the_preferred_host_and_fall_back_to_the_next(servers, zone):
    # mx1 (127.0.0.2:25) is down; mx2 (127.0.0.3:25) takes the mail
    backup = servers("mx2", "--local-domain", "two.test", host="127.0.0.3", port=25)
    relay = servers("a", "--trusted-network", "127.0.0.0/8", "--resolver", zone.upstream)
    send(relay, f"me@{LOCAL_DOMAIN}", ["bob@two.test"])
    assert wait_until(lambda: files(backup, "bob", "two.test"), 20), relay.log_text() + zone.log()
    assert "mx2.two.test[127.0.0.3]:25" in relay.log_text()


def test_null_mx_bounces_at_once(servers, zone):
    relay = servers("a", "--trusted-network", "127.0.0.0/8", "--resolver", zone.upstream)
    send(relay, f"sender@{LOCAL_DOMAIN}", ["bob@nullmx.test"])
    assert wait_until(lambda: files(relay, "sender", LOCAL_DOMAIN), 15), relay.log_text()
    with open(files(relay, "sender", LOCAL_DOMAIN)[0], "rb") as f:
        dsn = f.read().decode()
    assert "Status: 5.1.10" in dsn, dsn


def test_notify_success_brings_a_success_report(servers):
    server = servers("a")
    with smtplib.SMTP(server.host, server.port, local_hostname="client.test", timeout=10) as c:
        c.ehlo()
        c.sendmail(f"sender@{LOCAL_DOMAIN}", [f"bob@{LOCAL_DOMAIN}"], message(),
                   rcpt_options=["NOTIFY=SUCCESS,FAILURE"])
    assert wait_until(lambda: files(server, "bob", LOCAL_DOMAIN) and files(server, "sender", LOCAL_DOMAIN), 15)
    with open(files(server, "sender", LOCAL_DOMAIN)[0], "rb") as f:
        dsn = f.read().decode()
    assert "Action: delivered" in dsn and "Status: 2.0.0" in dsn, dsn


def test_a_domain_with_tls_policy_encrypt_is_not_sent_in_the_clear(servers, tmp_path, tls_files):
    plain = servers("b", "--local-domain", REMOTE, host="127.0.0.2")  # offers no STARTTLS
    config = tmp_path / "policy.toml"
    config.write_text(f'[delivery]\ntls_policy = {{ "{REMOTE}" = "encrypt" }}\n')
    relay = servers("a", "--config", str(config), "--trusted-network", "127.0.0.0/8", "--retry-intervals", "1s",
                    "--transport", f"{REMOTE}=smtp:[127.0.0.2]:{plain.port}")
    send(relay, f"me@{LOCAL_DOMAIN}", [f"bob@{REMOTE}"])
    assert wait_until(lambda: "result=deferred" in relay.log_text(), 15), relay.log_text()
    assert "4.7.4" in relay.log_text()
    assert not files(plain, "bob", REMOTE)
    # with a certificate the same policy delivers, over TLS
    secure = servers("c", "--local-domain", REMOTE, "--tls-cert", tls_files.cert, "--tls-key", tls_files.key,
                     host="127.0.0.3")
    relay2 = servers("a2", "--config", str(config), "--trusted-network", "127.0.0.0/8",
                     "--transport", f"{REMOTE}=smtp:[127.0.0.3]:{secure.port}")
    send(relay2, f"me@{LOCAL_DOMAIN}", [f"bob@{REMOTE}"])
    assert wait_until(lambda: files(secure, "bob", REMOTE), 15), relay2.log_text()
    assert "tls=TLSv1.3" in relay2.log_text()


def _sessions_with_messages(receiver):
    """The receiving petreld's session log lines: how many messages each carried."""
    counts = []
    for line in receiver.log_text().splitlines():
        found = re.search(r" session .*messages=(\d+)", line)
        if found and int(found.group(1)) > 0:
            counts.append(int(found.group(1)))
    return counts


def _all_waiting(relay, count):
    """Whether `count` messages wait for a later attempt (none being tried)."""
    import json
    r = subprocess.run([PETREL, "queue", "--spool", relay.spool, "--json", "list"], capture_output=True, timeout=30)
    messages = json.loads(r.stdout) if r.returncode == 0 else []
    return len(messages) == count and all(not m["in_flight"] and m["next_attempt"] > 0 for m in messages)


@pytest.mark.parametrize("per_connection, sessions", [(100, 1), (3, 4)])
def test_waiting_messages_share_a_connection_up_to_messages_per_connection(servers, tmp_path, per_connection,
                                                                           sessions):
    port = free_port("127.0.0.2")
    config = tmp_path / "reuse.toml"
    config.write_text(f"[delivery]\ndestination_concurrency = 1\nmessages_per_connection = {per_connection}\n")
    relay = servers("a", "--config", str(config), "--trusted-network", "127.0.0.0/8", "--retry-intervals", "1h",
                    "--transport", f"{REMOTE}=smtp:[127.0.0.2]:{port}")
    for i in range(10):  # nothing listens yet: all ten wait in the queue
        send(relay, f"me@{LOCAL_DOMAIN}", [f"user{i}@{REMOTE}"])
    # three connections fail, then the site is down and the rest wait untried
    assert wait_until(lambda: "is down after 3 failed connection(s)" in relay.log_text(), 15), relay.log_text()
    assert wait_until(lambda: _all_waiting(relay, 10), 15), relay.log_text()
    receiver = servers("b", "--local-domain", REMOTE, host="127.0.0.2", port=port)
    r = subprocess.run([PETREL, "queue", "--spool", relay.spool, "flush"], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert wait_until(lambda: all(files(receiver, f"user{i}", REMOTE) for i in range(10)), 20), relay.log_text()
    assert wait_until(lambda: sum(_sessions_with_messages(receiver)) == 10, 10), receiver.log_text()
    assert len(_sessions_with_messages(receiver)) == sessions, receiver.log_text()


def test_notify_success_through_a_server_without_dsn_brings_a_relayed_report(servers):
    from aiosmtpd.controller import Controller

    class Accepts:  # aiosmtpd offers no DSN extension
        async def handle_DATA(self, server, session, envelope):
            return "250 2.0.0 Accepted"

    port = free_port("127.0.0.3")
    controller = Controller(Accepts(), hostname="127.0.0.3", port=port)
    controller.start()
    try:
        relay = servers("a", "--trusted-network", "127.0.0.0/8",
                        "--transport", f"{REMOTE}=smtp:[127.0.0.3]:{port}")
        with smtplib.SMTP(relay.host, relay.port, local_hostname="client.test", timeout=10) as c:
            c.ehlo()
            c.sendmail(f"sender@{LOCAL_DOMAIN}", [f"bob@{REMOTE}"], message(), rcpt_options=["NOTIFY=SUCCESS"])
        assert wait_until(lambda: files(relay, "sender", LOCAL_DOMAIN), 15), relay.log_text()
        with open(files(relay, "sender", LOCAL_DOMAIN)[0], "rb") as f:
            dsn = f.read().decode()
        assert "Action: relayed" in dsn and "Status: 2.0.0" in dsn, dsn
        assert "Remote-MTA: dns; 127.0.0.3" in dsn, dsn
    finally:
        controller.stop()


def test_notify_success_through_a_server_with_dsn_is_left_to_it(servers):
    receiver = servers("b", "--local-domain", REMOTE, host="127.0.0.2")  # petreld offers DSN
    relay = servers("a", "--trusted-network", "127.0.0.0/8",
                    "--transport", f"{REMOTE}=smtp:[127.0.0.2]:{receiver.port}")
    with smtplib.SMTP(relay.host, relay.port, local_hostname="client.test", timeout=10) as c:
        c.ehlo()
        c.sendmail(f"sender@{LOCAL_DOMAIN}", [f"bob@{REMOTE}"], message(), rcpt_options=["NOTIFY=SUCCESS"])
    assert wait_until(lambda: files(receiver, "bob", REMOTE), 15)
    # the receiver delivered it and reports success itself, to the sender's domain via its own queue
    assert wait_until(lambda: "result=delivered" in relay.log_text(), 5)
    time.sleep(0.5)
    assert not files(relay, "sender", LOCAL_DOMAIN), "the relay must not send its own success DSN"


@pytest.mark.parametrize("mx_name, with_ca, delivered", [
    ("mail.petrel.test", True, True),     # chain from the configured CA, name of the MX host on the certificate
    ("other.petrel.test", True, False),   # a good chain for another name: not this server's certificate
    ("mail.petrel.test", False, False),   # the system store does not know the test CA
])
def test_tls_policy_verify_checks_the_chain_and_the_mx_name(servers, tmp_path, tls_files, mx_name, with_ca,
                                                            delivered):
    if dnsmasq_binary() is None:
        pytest.skip("dnsmasq is not installed (apt-get install dnsmasq-base)")
    receiver = servers("b", "--local-domain", REMOTE, "--tls-cert", tls_files.cert, "--tls-key", tls_files.key,
                       host="127.0.0.3")
    zone = DnsZone().mx(REMOTE, mx_name, 10).host(mx_name, "127.0.0.3").start()
    try:
        config = tmp_path / "verify.toml"
        ca = f'tls_ca_file = "{tls_files.ca}"\n' if with_ca else ""
        config.write_text(f'[delivery]\ntls_policy = {{ "{REMOTE}" = "verify" }}\n{ca}')
        # smtp:DOMAIN:PORT: the domain's MX hosts, on the receiver's port
        relay = servers("a", "--config", str(config), "--trusted-network", "127.0.0.0/8", "--resolver",
                        zone.upstream, "--retry-intervals", "1h", "--transport",
                        f"{REMOTE}=smtp:{REMOTE}:{receiver.port}")
        send(relay, f"me@{LOCAL_DOMAIN}", [f"bob@{REMOTE}"])
        if delivered:
            assert wait_until(lambda: files(receiver, "bob", REMOTE), 15), relay.log_text()
            assert "tls=TLSv1.3" in relay.log_text()
        else:
            assert wait_until(lambda: "result=deferred" in relay.log_text(), 15), relay.log_text()
            assert "4.7.5" in relay.log_text() and "certificate verify failed" in relay.log_text()
            assert not files(receiver, "bob", REMOTE)
    finally:
        zone.stop()


def test_an_unreadable_tls_ca_file_is_a_configuration_error(tmp_path):
    config = tmp_path / "bad-ca.toml"
    config.write_text(f'[delivery]\ntls = "verify"\ntls_ca_file = "{tmp_path}/missing.pem"\n')
    r = subprocess.run([PETRELD, "--config", str(config), "--check-config"], capture_output=True, timeout=30)
    assert r.returncode == 2 and b"tls_ca_file" in r.stderr, r.stderr


def test_eight_bit_mail_is_converted_for_a_server_without_8bitmime(servers, tmp_path):
    sink = next((p for p in ("/usr/sbin/smtp-sink", "/usr/lib/postfix/sbin/smtp-sink") if os.access(p, os.X_OK)), None)
    if sink is None:
        pytest.skip("Postfix's smtp-sink is not installed")
    # smtp-sink writes as nobody: not under tmp_path, which is mode 0700
    dumps = pathlib.Path(tempfile.mkdtemp(prefix="petrel-sink-"))
    os.chmod(dumps, 0o777)
    port = free_port("127.0.0.3")
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    # -8: no 8BITMIME in the EHLO reply; -d: each message into a file
    p = subprocess.Popen([sink, *user, "-8", "-d", f"{dumps}/%Y%m%d%H%M%S.", f"127.0.0.3:{port}", "10"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        relay = servers("a", "--trusted-network", "127.0.0.0/8",
                        "--transport", f"{REMOTE}=smtp:[127.0.0.3]:{port}")
        body = ("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: 8bit\r\nSubject: 8bit\r\n\r\ncaf\u00e9 cr\u00e8me\r\n").encode()
        with smtplib.SMTP(relay.host, relay.port, local_hostname="client.test", timeout=10) as c:
            c.ehlo()
            c.sendmail(f"me@{LOCAL_DOMAIN}", [f"bob@{REMOTE}"], body, mail_options=["BODY=8BITMIME"])
        assert wait_until(lambda: "result=delivered" in relay.log_text(), 15), relay.log_text()
        assert wait_until(lambda: list(dumps.iterdir()), 5)
        dumped = next(dumps.iterdir()).read_bytes()
        assert all(b < 128 for b in dumped), dumped
        assert b"Content-Transfer-Encoding: quoted-printable" in dumped and b"caf=C3=A9 cr=C3=A8me" in dumped, dumped
        assert b"BODY=8BITMIME" not in dumped
    finally:
        p.terminate()
        p.wait(timeout=10)
        shutil.rmtree(dumps, ignore_errors=True)
