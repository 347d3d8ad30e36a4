"""petreld relaying to other mail software (issue 5 "Tests"): a private
Postfix as the receiving MX, a second petreld as a smarthost that wants
AUTH, and Dovecot's LMTP server. Every peer runs on loopback only, every
wait is bounded, and every peer is stopped at the end."""
import os
import random
import re
import smtplib

import pytest

from dovecot_peer import DovecotPeer
from harness import LOCAL_DOMAIN, PASSWORDS, free_port, wait_until
from postfix_peer import PostfixPeer

TRACE_HEADERS = {b"return-path", b"x-original-to", b"delivered-to", b"received"}


@pytest.fixture(params=["bdat", "data"])
def postfix(request):
    """Postfix on 127.0.0.2 taking pf.test; "bdat": as installed (it offers
    CHUNKING, so petreld sends BDAT); "data": CHUNKING not offered, so
    petreld sends DATA and must dot-stuff."""
    peer = PostfixPeer("pf.test", "127.0.0.2", chunking=request.param == "bdat")
    try:
        yield peer.start()
    finally:
        print(f"--- Postfix maillog\n{peer.log_text() if peer.dir else ''}")
        peer.stop()


@pytest.fixture
def dovecot():
    peer = DovecotPeer()
    try:
        yield peer.start()
    finally:
        print(f"--- Dovecot log\n{peer.log_text() if peer.dir else ''}")
        peer.stop()


def split_trace(data, eol):
    """(names of the leading trace headers, the rest): the Return-Path:,
    X-Original-To: (Postfix), Delivered-To: and Received: fields (with their folded lines) that the
    receiving MTAs put in front of the message."""
    names = []
    rest = data
    while True:
        name = rest.split(b":", 1)[0]
        if b"\n" in name or name.lower() not in TRACE_HEADERS:
            return names, rest
        end = rest.index(eol)
        while rest[end + len(eol):end + len(eol) + 1] in (b" ", b"\t"):
            end = rest.index(eol, end + len(eol))
        names.append(name.decode())
        rest = rest[end + len(eol):]


# --------------------------------------------------------------------------
# 1. Postfix as the receiving MX

SIZES = [120, 900, 1000, 4096, 8191, 8192, 8193, 20000, 65535, 65536,
         65537, 100000, 250000, 500000, 1000000, 1048576, 2000000, 333, 3000, 777777]
ASCII = bytes(range(0x20, 0x7f)) + b"\t"
EIGHT_BIT = ASCII + bytes(range(0x80, 0x100))


def make_message(i, domain):
    """Message i: a header block (ASCII), then a body of about SIZES[i]
    octets. Even i: 8-bit octets (not even UTF-8) in the body. Every body
    has lines that start with a dot, a line that is a lone dot, a line of 998
    octets (the most RFC 5322 allows), an empty line and trailing blanks."""
    rnd = random.Random(i)
    eight = i % 2 == 0
    alphabet = EIGHT_BIT if eight else ASCII
    head = (f"X-Seq: {i}\r\nFrom: <sender@{LOCAL_DOMAIN}>\r\nTo: <user{i}@{domain}>\r\n"
            f"Subject: relay test {i}\r\nMessage-ID: <relay-{i}@client.test>\r\n"
            f"Date: Sun, 23 Nov 2025 05:00:00 +0000\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset={'iso-8859-1' if eight else 'us-ascii'}\r\n"
            f"Content-Transfer-Encoding: {'8bit' if eight else '7bit'}\r\n\r\n").encode()
    lines = [b".", b"..", b".leading dot", b"...three", b"x" * 998, b"", b"trailing blanks \t ",
             (b"\xe9" * 998) if eight else b"y" * 997, b"From the start of a line", b". ", b"."]
    size = sum(len(l) + 2 for l in lines)
    while size < SIZES[i]:
        n = rnd.choice([0, 1, 10, 72, 76, 200, 500, 997, 998, rnd.randint(0, 998)])
        line = bytes(rnd.choice(alphabet) for _ in range(n)) if n < 80 else \
            bytes(rnd.choices(alphabet, k=n))
        if rnd.random() < 0.1:
            line = b"." + line[1:] if line else b"."
        if line.startswith(b"."):    # at most 997: see test_a_998_octet_line_that_starts_with_a_dot...
            line = line[:997]
        lines.append(line)
        size += len(line) + 2
    lines.append(b"end of message " + str(i).encode())
    return head + b"\r\n".join(lines) + b"\r\n", eight


def test_postfix_receives_every_relayed_message_byte_exact(postfix, servers):
    relay = servers("relay", "--trusted-network", "127.0.0.0/8", "--retry-intervals", "1s",
                    "--transport", f"pf.test=smtp:[{postfix.host}]:{postfix.port}")
    sent = {}
    with smtplib.SMTP(relay.host, relay.port, local_hostname="client.test", timeout=30) as c:
        for i in range(len(SIZES)):
            data, eight = make_message(i, "pf.test")
            refused = c.sendmail(f"sender@{LOCAL_DOMAIN}", [f"user{i}@pf.test"], data,
                                 mail_options=["BODY=8BITMIME"] if eight else [])
            assert refused == {}
            sent[i] = data
    n = len(sent)
    got = wait_until(lambda: len(postfix.message_files()) >= n, 90, interval=0.2)
    assert got, (f"{len(postfix.message_files())} of {n} messages in Postfix's Maildir\n"
                 f"{relay.log_text()}\n{postfix.log_text()}")
    assert wait_until(lambda: relay.log_text().count("result=delivered") == n, 10), relay.log_text()
    assert "result=deferred" not in relay.log_text()
    assert postfix.queue_ids() == []                       # nothing left waiting in Postfix

    arrived = {}
    for data in postfix.messages():
        names, rest = split_trace(data, b"\n")
        m = re.match(rb"X-Seq: (\d+)\n", rest)
        assert m, data[:500]
        seq = int(m.group(1))
        assert seq not in arrived, f"message {seq} arrived twice"
        arrived[seq] = (names, rest, data)
    assert sorted(arrived) == list(range(n))
    for i, (names, rest, data) in arrived.items():
        # virtual(8) writes LF line ends; otherwise exactly what the client gave petreld
        expected = sent[i].replace(b"\r\n", b"\n")
        assert rest == expected, (
            f"message {i} ({len(sent[i])} octets sent) differs: got {len(rest)} octets; first difference at "
            f"{next((k for k, (a, b) in enumerate(zip(rest, expected)) if a != b), min(len(rest), len(expected)))}")
        # Return-Path, X-Original-To and Delivered-To from virtual(8), one Received each from Postfix and petreld
        assert names == ["Return-Path", "X-Original-To", "Delivered-To", "Received", "Received"], names
        assert f"Delivered-To: user{i}@pf.test\n".encode() in data
        assert f"Return-Path: <sender@{LOCAL_DOMAIN}>\n".encode() in data
        received = re.findall(rb"^Received:.*?(?=^\S)", data, re.S | re.M)
        assert b"by postfix.peer.test (Postfix) with ESMTP" in received[0], received[0]
        assert b"by petrel.test" in received[1], received[1]
    # the transfer command petreld used, as Postfix counts them at disconnect
    command = "bdat" if postfix.chunking else "data"
    sessions = [l for l in postfix.log_text().splitlines() if "disconnect from" in l and "mail=" in l]
    assert sessions and all(f" {command}=" in l for l in sessions), sessions


def test_a_998_octet_line_that_starts_with_a_dot_is_relayed(postfix, servers):
    """RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets with its CRLF
    "not counting the leading dot duplicated for transparency", so a line of
    998 octets that starts with "." (999 on the wire) is within the limit,
    for petreld receiving it and for Postfix receiving it from petreld."""
    relay = servers("relay", "--trusted-network", "127.0.0.0/8", "--retry-intervals", "1s",
                    "--transport", f"pf.test=smtp:[{postfix.host}]:{postfix.port}")
    body = b"." + b"d" * 997 + b"\r\n" + b".." + b"e" * 996 + b"\r\n"
    data = b"X-Seq: 0\r\nSubject: dotted 998\r\n\r\n" + body
    with smtplib.SMTP(relay.host, relay.port, local_hostname="client.test", timeout=10) as c:
        assert c.sendmail(f"sender@{LOCAL_DOMAIN}", ["dot@pf.test"], data) == {}
    assert wait_until(lambda: postfix.message_files(), 20), relay.log_text() + postfix.log_text()
    [got] = postfix.messages()
    assert split_trace(got, b"\n")[1] == data.replace(b"\r\n", b"\n")


# --------------------------------------------------------------------------
# 2. Relay through a smarthost that requires AUTH

SMARTHOST_USER = f"alice@{LOCAL_DOMAIN}"


def smarthost_and_relay(servers, tmp_path, tls_files, passwd_file, password, *smarthost_flags):
    smarthost = servers("smarthost", "--local-domain", "far.test", *smarthost_flags,
                        "--tls-cert", tls_files.cert, "--tls-key", tls_files.key,
                        "--passwd-file", passwd_file, "--auth-failure-delay", "0s",
                        host="127.0.0.2", listeners=("submission",))
    secret = tmp_path / "relayhost.secret"
    secret.write_text(password + "\n")
    os.chmod(secret, 0o600)
    config = tmp_path / "relay.toml"
    config.write_text(f'[delivery]\nrelayhost = "[127.0.0.2]:{smarthost.ports["submission"]}"\n'
                      f'relayhost_user = "{SMARTHOST_USER}"\n'
                      f'relayhost_password_file = "{secret}"\n'
                      'retry_intervals = ["1s"]\n')
    relay = servers("relay", "--config", str(config), "--trusted-network", "127.0.0.0/8")
    return smarthost, relay


def send_one(petrel, sender, recipients, subject):
    with smtplib.SMTP(petrel.host, petrel.port, local_hostname="client.test", timeout=10) as c:
        data = (f"From: <{sender}>\r\nTo: <{recipients[0]}>\r\nSubject: {subject}\r\n"
                f"Message-ID: <{subject.replace(' ', '-')}@client.test>\r\n"   # with Date and Message-ID, the
                f"Date: Sun, 23 Nov 2025 05:00:00 +0000\r\n"                  # smarthost's submission port adds none
                f"\r\nvia the smarthost\r\n.dot\r\n").encode()
        assert c.sendmail(sender, recipients, data) == {}
    return data


def test_relay_through_a_smarthost_with_auth(servers, tmp_path, tls_files, passwd_file):
    smarthost, relay = smarthost_and_relay(servers, tmp_path, tls_files, passwd_file, PASSWORDS[SMARTHOST_USER])
    data = send_one(relay, SMARTHOST_USER, ["x@far.test"], "smarthost one")
    assert wait_until(lambda: smarthost.message_files("x", "far.test"), 20), \
        f"{relay.log_text()}\n--- smarthost\n{smarthost.log_text()}"
    [msg] = smarthost.messages("x", "far.test")
    names, rest = split_trace(msg.data, b"\r\n")
    assert rest == data
    assert names == ["Return-Path", "Delivered-To", "Received", "Received"], names
    received = re.findall(rb"^Received:.*?(?=^\S)", msg.data, re.S | re.M)
    # the smarthost's own Received: ESMTPSA (RFC 3848: ESMTP + STARTTLS + AUTH),
    # the relay's below it: ESMTP from the test client
    assert re.search(rb"\bwith ESMTPSA\b", received[0]), received[0]
    assert re.search(rb"from petrel\.test\b", received[0]), received[0]
    assert re.search(rb"\bwith ESMTP\b", received[1]), received[1]
    lines = [l for l in relay.log_text().splitlines() if "delivery qid=" in l and "x@far.test" in l]
    assert lines and "result=delivered" in lines[-1] and "127.0.0.2" in lines[-1], relay.log_text()
    assert "tls=" in lines[-1] and "tls=none" not in lines[-1], lines[-1]
    sessions = [l for l in smarthost.log_text().splitlines() if " session client=127.0.0.1" in l]
    assert any(f"auth={SMARTHOST_USER}" in l for l in sessions), smarthost.log_text()


def test_the_smarthost_takes_mail_for_other_domains_from_the_authenticated_relay(
        servers, tmp_path, tls_files, passwd_file):
    # elsewhere.test is not local to the smarthost: it accepts it because the
    # relay authenticated; its route (a closed loopback port, so no DNS is
    # asked) defers it, and it stays queued there
    closed = free_port("127.0.0.3")
    smarthost, relay = smarthost_and_relay(servers, tmp_path, tls_files, passwd_file, PASSWORDS[SMARTHOST_USER],
                                           "--transport", f"elsewhere.test=smtp:[127.0.0.3]:{closed}",
                                           "--retry-intervals", "1s")
    send_one(relay, SMARTHOST_USER, ["y@elsewhere.test"], "smarthost two")
    assert wait_until(lambda: re.search(r"delivery qid=\S+ to=<y@elsewhere\.test> .*result=delivered",
                                        relay.log_text()), 20), \
        f"{relay.log_text()}\n--- smarthost\n{smarthost.log_text()}"
    assert wait_until(lambda: re.search(r"delivery qid=\S+ to=<y@elsewhere\.test> .*result=deferred",
                                        smarthost.log_text()), 10), smarthost.log_text()
    assert "result=bounced" not in smarthost.log_text()


def test_a_wrong_smarthost_password_defers_the_mail(servers, tmp_path, tls_files, passwd_file):
    smarthost, relay = smarthost_and_relay(servers, tmp_path, tls_files, passwd_file, "not-the-password")
    send_one(relay, SMARTHOST_USER, ["x@far.test"], "smarthost wrong")
    # at least two attempts (retry every 1s), each deferred
    assert wait_until(lambda: relay.log_text().count("result=deferred") >= 2, 20), \
        f"{relay.log_text()}\n--- smarthost\n{smarthost.log_text()}"
    log = relay.log_text()
    deferred = [l for l in log.splitlines() if "x@far.test" in l and "result=deferred" in l]
    assert deferred and all("535" in l for l in deferred), log
    assert "result=delivered" not in log and "result=bounced" not in log and "bounce qid=" not in log, log
    assert smarthost.all_message_files() == []
    assert "not-the-password" not in log and "not-the-password" not in smarthost.log_text()
    assert relay.proc.poll() is None


# --------------------------------------------------------------------------
# 3. LMTP to Dovecot

def test_lmtp_to_dovecot_over_a_unix_socket_and_tcp(dovecot, servers):
    relay = servers("relay", "--trusted-network", "127.0.0.0/8", "--retry-intervals", "1s",
                    "--transport", f"sock.test=lmtp:unix:{dovecot.socket}",
                    "--transport", f"tcp.test=lmtp:{dovecot.host}:{dovecot.port}")
    sent = {}
    with smtplib.SMTP(relay.host, relay.port, local_hostname="client.test", timeout=30) as c:
        for i, domain in [(0, "sock.test"), (1, "tcp.test"), (2, "sock.test"), (5, "tcp.test")]:
            data, eight = make_message(i, domain)
            # two recipients at one domain: one LMTP transaction, a reply for each (RFC 2033 §4.2)
            rcpts = [f"user{i}@{domain}", f"other{i}@{domain}"]
            assert c.sendmail(f"sender@{LOCAL_DOMAIN}", rcpts, data,
                              mail_options=["BODY=8BITMIME"] if eight else []) == {}
            sent[(i, domain)] = data
    for (i, domain), data in sent.items():
        for user in (f"user{i}", f"other{i}"):
            assert wait_until(lambda: dovecot.message_files(user, domain), 30), \
                f"nothing for {user}@{domain}\n{relay.log_text()}\n{dovecot.log_text()}"
            [got] = dovecot.messages(user, domain)
            names, rest = split_trace(got, b"\n")
            assert rest == data.replace(b"\r\n", b"\n"), f"{user}@{domain}: {len(rest)} vs {len(data)} octets"
            # Dovecot adds Delivered-To only when the transaction had one recipient
            assert names[0] == "Return-Path" and names.count("Received") == 2, names
            assert b"by dovecot.peer.test with LMTP" in got
    assert wait_until(lambda: relay.log_text().count("result=delivered") == 2 * len(sent), 10), relay.log_text()
    assert "result=deferred" not in relay.log_text()
    assert dovecot.socket in relay.log_text() or "unix:" in relay.log_text(), relay.log_text()
