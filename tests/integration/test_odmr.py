"""On-Demand Mail Relay (RFC 2645): mail for an [odmr] domain is held in
the queue, never sent by MX, until its customer connects to the ODMR port,
authenticates and says ATRN; the roles then reverse on that connection and
petreld delivers the mail. The customer here is Debian's fetchmail in
--protocol ODMR mode, relaying into a local aiosmtpd receiver; raw sockets
pin down the dialogue and its errors."""
import base64
import hashlib
import hmac
import os
import re
import shutil
import socket
import subprocess
import threading

import pytest

from harness import (HOST, LOCAL_DOMAIN, PASSWORDS, PETRELD, Closed, RawSession, free_port,
                     wait_until, write_passwd_file)

PETREL = os.path.join(os.path.dirname(PETRELD), "petrel")
ALICE = f"alice@{LOCAL_DOMAIN}"
BOB = f"bob@{LOCAL_DOMAIN}"
FETCHED = "fetch.example"        # alice's
SECOND = "second.example"        # alice's too
OTHERS = "others.example"        # bob's


def message(n, subject="held"):
    return (f"From: sender@outside.test\r\nTo: user@{FETCHED}\r\nSubject: {subject} {n}\r\n"
            f"Message-ID: <held-{n}@outside.test>\r\n\r\nbody {n}\r\n.leading dot line\r\n").encode()


# --------------------------------------------------------------------------
# the customer's side: a local SMTP receiver that keeps every message whole

class Receiver:
    """aiosmtpd on a loopback port; messages are (mail_from, rcpt_tos, content bytes)."""

    def __init__(self):
        from aiosmtpd.controller import Controller
        self.messages = []
        self.lock = threading.Lock()
        self.port = free_port()
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                with outer.lock:
                    outer.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
                return "250 2.0.0 Ok: kept"

        self.controller = Controller(Handler(), hostname=HOST, port=self.port, decode_data=False)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    def received(self):
        with self.lock:
            return list(self.messages)


@pytest.fixture
def receiver_smtp():
    with Receiver() as r:
        yield r


# --------------------------------------------------------------------------
# the provider: petreld with an ODMR listener

@pytest.fixture(scope="module")
def odmr_users(tmp_path_factory):
    d = tmp_path_factory.mktemp("odmr")
    passwd = write_passwd_file(d / "users", {
        ALICE: "{PLAIN}" + PASSWORDS[ALICE],
        BOB: "{PLAIN}" + PASSWORDS[BOB],
    })
    config = d / "petreld.toml"
    config.write_text(f'[odmr]\ndomains = {{ "{ALICE}" = ["{FETCHED}", "{SECOND}"], "{BOB}" = ["{OTHERS}"] }}\n'
                      f'claim_batch = 2\n')
    return passwd, str(config)


@pytest.fixture
def provider(start_petrel, tls_files, odmr_users):
    passwd, config = odmr_users
    return start_petrel("-c", config, "--tls-cert", tls_files.cert, "--tls-key", tls_files.key,
                        "--passwd-file", passwd, "--auth-failure-delay", "0s", "--retry-intervals", "1s",
                        listeners=("odmr",))


def inject(petrel, rcpt, data, sender="sender@outside.test"):
    """An unauthenticated client sends mail for an ODMR domain: petreld is its MX."""
    with petrel.raw() as s:
        s.command("EHLO outside.test")
        r = s.command(f"MAIL FROM:<{sender}>")
        assert r.code == 250, r
        for to in ([rcpt] if isinstance(rcpt, str) else rcpt):
            r = s.command(f"RCPT TO:<{to}>")
            assert r.code == 250, r
        assert s.command("DATA").code == 354
        s.send(data.replace(b"\r\n.", b"\r\n..") + b".\r\n")
        r = s.reply()
        assert r.code == 250, r
        s.command("QUIT")


def queue_list(petrel, *args):
    r = subprocess.run([PETREL, "queue", "--spool", petrel.spool, "list", *args], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout.decode()


def queued_ids(petrel):
    return [line.split()[0] for line in queue_list(petrel).splitlines() if re.match(r"^[A-Z0-9]{16}\s", line)]


def fetchmail(tmp_path, petrel, receiver, user, password, domains, auth="cram-md5", extra=""):
    """fetchmail --protocol ODMR, once, into the receiver; returns the completed process."""
    home = tmp_path / "fetchmail"
    home.mkdir(exist_ok=True)
    rc = home / "fetchmailrc"
    rc.write_text(f'set no bouncemail\nset no syslog\n'
                  f'poll {HOST} protocol ODMR port {petrel.ports["odmr"]} auth {auth} {extra}\n'
                  f'  user "{user}" password "{password}"\n'
                  f'  fetchdomains {",".join(domains)}\n'
                  f'  smtphost {HOST}/{receiver.port}\n')
    rc.chmod(0o600)
    env = dict(os.environ, HOME=str(home), FETCHMAILHOME=str(home))
    return subprocess.run(["fetchmail", "-f", str(rc), "-v", "--nodetach", "-d0"], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=60)


def cram_md5(s, user, password):
    r = s.command("AUTH CRAM-MD5")
    assert r.code == 334, r
    challenge = base64.b64decode(r.lines[0])
    digest = hmac.new(password.encode(), challenge, hashlib.md5).hexdigest()
    return s.command(base64.b64encode(f"{user} {digest}".encode()).decode())


needs_fetchmail = pytest.mark.skipif(shutil.which("fetchmail") is None, reason="fetchmail is not installed")


# --------------------------------------------------------------------------
# fetchmail, the usual ODMR client

@needs_fetchmail
def test_fetchmail_gets_every_held_message_byte_exact_and_once(tmp_path, provider, receiver_smtp):
    sent = {n: message(n) for n in range(5)}  # more than claim_batch: several claims in one session
    for n, data in sent.items():
        inject(provider, f"user{n}@{FETCHED}", data)
    assert wait_until(lambda: len(queued_ids(provider)) == 5, 10)
    r = fetchmail(tmp_path, provider, receiver_smtp, ALICE, PASSWORDS[ALICE], [FETCHED])
    assert r.returncode == 0, (r.stdout + r.stderr).decode()
    got = receiver_smtp.received()
    assert len(got) == 5, got
    for n, data in sent.items():
        matches = [m for m in got if m[1] == [f"user{n}@{FETCHED}"]]
        assert len(matches) == 1, (n, got)
        mail_from, _, content = matches[0]
        assert mail_from == "sender@outside.test"
        # petreld's own Received: line on top, then the message as it came.
        assert content.endswith(data), content
        assert content.count(b"Subject: held") == 1
    assert wait_until(lambda: queued_ids(provider) == [], 10), queue_list(provider)


@needs_fetchmail
def test_mail_for_other_domains_stays_where_it_is(tmp_path, provider, receiver_smtp):
    inject(provider, f"user@{FETCHED}", message(1))
    inject(provider, f"user@{OTHERS}", message(2))
    r = fetchmail(tmp_path, provider, receiver_smtp, ALICE, PASSWORDS[ALICE], [FETCHED])
    assert r.returncode == 0, (r.stdout + r.stderr).decode()
    assert [m[1] for m in receiver_smtp.received()] == [[f"user@{FETCHED}"]]
    assert wait_until(lambda: len(queued_ids(provider)) == 1, 10)
    assert OTHERS in queue_list(provider, "--domain", OTHERS)


@needs_fetchmail
def test_fetchmail_with_nothing_waiting_is_told_453_and_succeeds(tmp_path, provider, receiver_smtp):
    r = fetchmail(tmp_path, provider, receiver_smtp, ALICE, PASSWORDS[ALICE], [FETCHED])
    out = (r.stdout + r.stderr).decode()
    assert "You have no mail" in out, out
    assert receiver_smtp.received() == []


@needs_fetchmail
def test_fetchmail_asking_for_another_users_domain_is_refused(tmp_path, provider, receiver_smtp):
    inject(provider, f"user@{OTHERS}", message(3))
    r = fetchmail(tmp_path, provider, receiver_smtp, ALICE, PASSWORDS[ALICE], [OTHERS])
    out = (r.stdout + r.stderr).decode()
    assert r.returncode != 0, out
    assert "ATRN request refused" in out, out
    assert receiver_smtp.received() == []
    assert len(queued_ids(provider)) == 1


# --------------------------------------------------------------------------
# the dialogue, by hand

def odmr_session(petrel):
    s = RawSession(HOST, petrel.ports["odmr"])
    greeting = s.reply()
    assert greeting.code == 220, greeting
    return s


def test_ehlo_offers_auth_cram_md5_and_atrn_in_the_clear(provider):
    with odmr_session(provider) as s:
        r = s.command("EHLO customer.test")
    keywords = [l.upper() for l in r.lines[1:]]
    assert "ATRN" in keywords, r
    assert "AUTH CRAM-MD5" in keywords, r
    assert "STARTTLS" in keywords, r


def test_atrn_before_auth_gets_530(provider):
    with odmr_session(provider) as s:
        s.command("EHLO customer.test")
        r = s.command(f"ATRN {FETCHED}")
    assert (r.code, r.enhanced) == (530, "5.7.0"), r


def test_auth_plain_in_the_clear_is_refused_cram_md5_accepted(provider):
    with odmr_session(provider) as s:
        s.command("EHLO customer.test")
        plain = base64.b64encode(f"\0{ALICE}\0{PASSWORDS[ALICE]}".encode()).decode()
        r = s.command(f"AUTH PLAIN {plain}")
        assert (r.code, r.enhanced) == (538, "5.7.11"), r
        r = cram_md5(s, ALICE, PASSWORDS[ALICE])
        assert r.code == 235, r


def test_wrong_cram_md5_digest_is_535(provider):
    with odmr_session(provider) as s:
        s.command("EHLO customer.test")
        r = cram_md5(s, ALICE, "not-the-password")
    assert r.code == 535, r


def test_auth_plain_over_starttls_is_accepted(provider):
    with odmr_session(provider) as s:
        s.command("EHLO customer.test")
        after = s.starttls()
        assert any(l.upper().startswith("AUTH ") and "PLAIN" in l.upper() for l in after.lines[1:]), after
        r = s.auth_plain(ALICE, PASSWORDS[ALICE])
        assert r.code == 235, r


def test_mail_is_not_accepted_on_the_odmr_port(provider):
    with odmr_session(provider) as s:
        s.command("EHLO customer.test")
        r = s.command("MAIL FROM:<a@outside.test>")
        assert (r.code, r.enhanced) == (530, "5.7.0"), r
        assert cram_md5(s, ALICE, PASSWORDS[ALICE]).code == 235
        r = s.command("MAIL FROM:<a@outside.test>")
        assert (r.code, r.enhanced) == (502, "5.5.1"), r


def test_turn_is_still_refused(provider):
    with odmr_session(provider) as s:
        s.command("EHLO customer.test")
        assert cram_md5(s, ALICE, PASSWORDS[ALICE]).code == 235
        r = s.command("TURN")
    assert r.code == 502, r


def test_atrn_for_a_domain_not_the_users_gets_450(provider):
    with odmr_session(provider) as s:
        s.command("EHLO customer.test")
        assert cram_md5(s, ALICE, PASSWORDS[ALICE]).code == 235
        r = s.command(f"ATRN {FETCHED},{OTHERS}")
    assert r.code == 450 and "ATRN request refused" in r.text, r


def test_atrn_with_nothing_waiting_gets_453(provider):
    with odmr_session(provider) as s:
        s.command("EHLO customer.test")
        assert cram_md5(s, ALICE, PASSWORDS[ALICE]).code == 235
        r = s.command("ATRN")
        assert r.code == 453 and "You have no mail" in r.text, r
        assert s.command("QUIT").code == 221


def reply_as_server(s, reply):
    s.send(reply.encode() + b"\r\n")


def test_reversed_dialogue_by_hand(provider):
    data = message(7)
    inject(provider, [f"a@{SECOND}", f"b@{SECOND}"], data)
    with odmr_session(provider) as s:
        s.command("EHLO customer.test")
        assert cram_md5(s, ALICE, PASSWORDS[ALICE]).code == 235
        r = s.command(f"ATRN {SECOND}")
        assert r.code == 250, r
        reply_as_server(s, "220 customer.test ESMTP ready")
        assert s.readline().upper().startswith(b"EHLO ")
        reply_as_server(s, "250 customer.test")
        assert s.readline() == b"MAIL FROM:<sender@outside.test>"
        reply_as_server(s, "250 2.1.0 Ok")
        # Both recipients in one transaction (lock-step: no PIPELINING offered).
        assert s.readline() == f"RCPT TO:<a@{SECOND}>".encode()
        reply_as_server(s, "250 2.1.5 Ok")
        assert s.readline() == f"RCPT TO:<b@{SECOND}>".encode()
        reply_as_server(s, "550 5.1.1 no such user")
        assert s.readline() == b"DATA"
        reply_as_server(s, "354 go ahead")
        content = b""
        while not content.endswith(b"\r\n.\r\n"):
            content += s.readline() + b"\r\n"
        assert content.endswith(data.replace(b"\r\n.", b"\r\n..") + b".\r\n")
        reply_as_server(s, "250 2.0.0 kept")
        assert s.readline() == b"QUIT"
        reply_as_server(s, "221 bye")
    # a@ delivered, b@ refused for good: bounced to the sender, not kept.
    assert wait_until(lambda: all(f"@{SECOND}" not in line for line in queue_list(provider).splitlines()), 10), \
        queue_list(provider)
    assert "result=delivered" in provider.log_text() and "result=bounced" in provider.log_text()


def test_connection_cut_mid_transfer_leaves_the_rest_queued(provider):
    for n in range(3):
        inject(provider, f"user{n}@{FETCHED}", message(n))
    with odmr_session(provider) as s:
        s.command("EHLO customer.test")
        assert cram_md5(s, ALICE, PASSWORDS[ALICE]).code == 235
        assert s.command(f"ATRN {FETCHED}").code == 250
        reply_as_server(s, "220 customer.test ESMTP ready")
        s.readline()
        reply_as_server(s, "250 customer.test")
        assert s.readline().startswith(b"MAIL FROM:")
        reply_as_server(s, "250 2.1.0 Ok")
        assert s.readline().startswith(b"RCPT TO:")
        reply_as_server(s, "250 2.1.5 Ok")
        assert s.readline() == b"DATA"
        reply_as_server(s, "354 go ahead")
        content = b""
        while not content.endswith(b"\r\n.\r\n"):
            content += s.readline() + b"\r\n"
        reply_as_server(s, "250 2.0.0 kept")
        assert s.readline().startswith(b"MAIL FROM:")
        # Cut before answering the second message.
    assert wait_until(lambda: len(queued_ids(provider)) == 2, 10), queue_list(provider)
    # And they are held still, claimable by the next session.
    with odmr_session(provider) as s:
        s.command("EHLO customer.test")
        assert cram_md5(s, ALICE, PASSWORDS[ALICE]).code == 235
        r = s.command(f"ATRN {FETCHED}")
        assert r.code == 250, r


def test_queue_list_by_domain_shows_held_mail(provider):
    inject(provider, f"user@{FETCHED}", message(1))
    out = queue_list(provider, "--domain", FETCHED)
    assert f"user@{FETCHED}" in out, out
    assert queue_list(provider, "--domain", OTHERS).count("@") == 0


# --------------------------------------------------------------------------
# petrel probe

def test_probe_reports_atrn_on_the_odmr_port(provider):
    r = subprocess.run([PETREL, "probe", f"{HOST}:{provider.port}", "--odmr-port", str(provider.ports["odmr"]),
                        "--json", "--timeout", "5"], stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    import json
    report = json.loads(r.stdout)
    odmr = [f for f in report["findings"] if f["id"] == "odmr"]
    assert len(odmr) == 1, report["findings"]
    assert "offers ATRN" in odmr[0]["title"] and "CRAM-MD5" in odmr[0]["detail"], odmr


def test_probe_without_odmr_says_nothing_of_it(provider):
    r = subprocess.run([PETREL, "probe", f"{HOST}:{provider.port}", "--json", "--timeout", "5"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    import json
    assert not [f for f in json.loads(r.stdout)["findings"] if f["id"] == "odmr"]


# --------------------------------------------------------------------------
# petrel shell: ATRN by hand, the shell as the customer's server

def shell_script(petrel, text, *args):
    r = subprocess.run([PETREL, "shell", *args, f"{HOST}:{petrel.ports['odmr']}"], input=text.encode(),
                       capture_output=True, timeout=60, env={**os.environ, "NO_COLOR": "1"})
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def test_petrel_shell_takes_the_held_mail_with_atrn_and_the_queue_empties(tmp_path, provider):
    sent = {n: message(n) for n in range(3)}  # more than claim_batch: two claims
    for n, data in sent.items():
        inject(provider, f"user{n}@{FETCHED}", data)
    inject(provider, f"user@{OTHERS}", message(9))  # bob's: stays
    assert wait_until(lambda: len(queued_ids(provider)) == 4, 10)
    saved = tmp_path / "saved"
    saved.mkdir()
    status, out, err = shell_script(provider, f"EHLO customer.test\n.auth cram-md5 {ALICE}\n{PASSWORDS[ALICE]}\n"
                                              f"ATRN {FETCHED}\n", "--save-dir", str(saved))
    assert status == 0, out + err
    assert "> AUTH CRAM-MD5" in out and re.search(r"^235 ", out, re.M), out
    assert PASSWORDS[ALICE] not in out, out
    assert re.search(r"^250 .*reversing", out, re.M), out
    # The reversed dialogue: the shell's replies after "> ", petreld's commands as they come.
    assert re.search(r"^> 220 .*ODMR", out, re.M), out
    assert re.search(r"^EHLO ", out, re.M) and re.search(r"^> 250 SIZE \d+$", out, re.M), out
    assert out.count("MAIL FROM:<sender@outside.test>") == 3, out
    assert re.search(r"^> 354 ", out, re.M) and re.search(r"^> 250 OK: received$", out, re.M), out
    for n in sent:
        assert re.search(rf"^message \d: from <sender@outside\.test> to <user{n}@{FETCHED}> \(\d+ octets\)$",
                         out, re.M), out
    assert re.search(r"^QUIT$", out, re.M) and re.search(r"^> 221 ", out, re.M), out
    assert "3 messages received." in out, out
    files = sorted(saved.iterdir())
    assert len(files) == 3, files
    contents = [f.read_bytes() for f in files]
    for data in sent.values():
        # petreld's Received: line on top, then the message byte for byte.
        assert sum(c.endswith(data) for c in contents) == 1, contents
    assert all(oct(f.stat().st_mode & 0o777) == "0o600" for f in files)
    # Delivered, so gone from the queue; bob's mail stays.
    assert wait_until(lambda: len(queued_ids(provider)) == 1, 10), queue_list(provider)
    assert OTHERS in queue_list(provider, "--domain", OTHERS)


def test_petrel_shell_stays_the_client_when_there_is_no_mail(provider):
    status, out, err = shell_script(provider, f"EHLO customer.test\n.auth cram-md5 {ALICE}\n{PASSWORDS[ALICE]}\n"
                                              f"ATRN {FETCHED}\nNOOP\n")
    assert status == 0, out + err
    assert re.search(r"^453 ", out, re.M), out
    assert "roles reverse" not in out, out
    assert "> NOOP" in out and re.search(r"^221 ", out, re.M), out


def test_petrel_shell_atrn_for_another_users_domain_gets_450(provider):
    status, out, err = shell_script(provider, f"EHLO customer.test\n.auth cram-md5 {ALICE}\n{PASSWORDS[ALICE]}\n"
                                              f"ATRN {OTHERS}\n")
    assert status == 0, out + err
    assert re.search(r"^450 ", out, re.M), out
