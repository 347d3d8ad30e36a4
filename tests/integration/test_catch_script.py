"""petrel catch --script (docs/petrel-catch.md, SCRIPTED FAULTS): each
action and condition against smtplib on loopback, bad scripts refused with
FILE:LINE and exit 3, and real clients under injected faults: Postfix
relaying to catch and retrying after a 451, petrel campaign reconnecting
after a 421."""
import json
import os
import signal
import smtplib
import subprocess
import time

import pytest

from harness import HOST, PETRELD, free_port, wait_until
from postfix_peer import PostfixPeer
from test_catch import HEADERS, catch, ids  # noqa: F401 (catch is a fixture)

PETREL = os.path.join(os.path.dirname(PETRELD), "petrel")
MESSAGE = (HEADERS + "Hello.\r\n").encode()


def script(tmp_path, text, name="script.toml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


class CatchServer:
    """`petrel catch --json` serving many sessions; each report is a line
    of its stdout."""

    def __init__(self, tmp_path, *args):
        self.port = free_port()
        self.maildir = tmp_path / "caught"
        self.out_path = tmp_path / "catch.out"
        self.err_path = tmp_path / "catch.err"
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [PETREL, "catch", "--json", "--listen", f"{HOST}:{self.port}", "--maildir", str(self.maildir),
                 "--hostname", "catch.test", *args], stdout=out, stderr=err)
        assert wait_until(lambda: b"listening on" in self.err_path.read_bytes() or self.proc.poll() is not None, 10)
        assert self.proc.poll() is None, self.err_path.read_text()

    def reports(self):
        return [json.loads(line) for line in self.out_path.read_text().splitlines() if line.strip()]

    def messages(self):
        new = self.maildir / "new"
        return [p.read_bytes() for p in sorted(new.iterdir())] if new.exists() else []

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture
def catch_server(tmp_path):
    started = []

    def start(*args):
        c = CatchServer(tmp_path, *args)
        started.append(c)
        return c

    yield start
    for c in started:
        c.stop()


def scripted(report):
    return [(a["rule"], a["command"], a["action"]) for a in report["scripted"]]


# --------------------------------------------------------------------------
# each action and condition

def test_reply_to_the_first_rcpt_only_and_a_retry_in_the_session(catch, tmp_path):
    c = catch("--script", script(tmp_path, '[[rule]]\ncommand = "RCPT"\nnth = 1\nreply = "451 4.7.1 try later"\n'))
    with smtplib.SMTP(HOST, c.port, local_hostname="client.test", timeout=10) as s:
        s.ehlo()
        assert s.mail("alice@client.test")[0] == 250
        assert s.rcpt("bob@example.test") == (451, b"4.7.1 try later")
        assert s.rcpt("bob@example.test")[0] == 250
        assert s.data(MESSAGE)[0] == 250
    status, report = c.report()
    assert scripted(report) == [(1, "RCPT", "reply 451 4.7.1 try later")]
    assert report["scripted"][0]["line"] == 1
    assert ids(report) == ["no-size-declared"], report   # s.mail() gave no SIZE=
    assert status == 1


def test_a_4xx_never_retried_is_retry_ignored(catch, tmp_path):
    c = catch("--script", script(tmp_path, '[[rule]]\ncommand = "RCPT"\nreply = "451 4.7.1 try later"\n'))
    with smtplib.SMTP(HOST, c.port, local_hostname="client.test", timeout=10) as s:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            s.sendmail("alice@client.test", ["bob@example.test"], MESSAGE)
    status, report = c.report()
    [finding] = [f for f in report["findings"] if f["id"] == "retry-ignored"]
    assert finding["level"] == "warn" and "RCPT TO:<bob@example.test> got 451" in finding["text"]
    assert status == 1


def test_delay_then_the_normal_reply(catch, tmp_path):
    c = catch("--script", script(tmp_path, '[[rule]]\ncommand = "EHLO"\ndelay = "300ms"\n'))
    with smtplib.SMTP(HOST, c.port, local_hostname="client.test", timeout=10) as s:
        code, _ = s.ehlo()
        assert code == 250 and s.has_extn("pipelining")
        s.sendmail("alice@client.test", ["bob@example.test"], MESSAGE)
    status, report = c.report()
    assert scripted(report) == [(1, "EHLO", "delay 300ms")]
    assert status == 0, report


def test_close_drops_the_connection_without_a_reply(catch, tmp_path):
    c = catch("--script", script(tmp_path, '[[rule]]\ncommand = "MAIL"\nclose = true\n'))
    with smtplib.SMTP(HOST, c.port, local_hostname="client.test", timeout=10) as s:
        s.ehlo()
        with pytest.raises(smtplib.SMTPServerDisconnected):
            s.mail("alice@client.test")
    _, report = c.report()
    assert scripted(report) == [(1, "MAIL", "close")]
    assert report["close_reason"] == "scripted"
    assert report["messages"] == []


def test_require_tls_answers_530_in_the_clear(catch, tmp_path):
    c = catch("--script", script(tmp_path, '[[rule]]\ncommand = "MAIL"\nrequire_tls = true\n'))
    with smtplib.SMTP(HOST, c.port, local_hostname="client.test", timeout=10) as s:
        s.ehlo()
        assert s.mail("alice@client.test") == (530, b"5.7.0 Must issue a STARTTLS command first")
    _, report = c.report()
    assert scripted(report) == [(1, "MAIL", "require_tls")]


def test_require_tls_lets_a_client_over_tls_through(catch, tmp_path):
    c = catch("--self-signed", "--script", script(tmp_path, '[[rule]]\nrequire_tls = true\n'))
    import ssl
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP(HOST, c.port, local_hostname="client.test", timeout=10) as s:
        s.starttls(context=context)
        s.sendmail("alice@client.test", ["bob@example.test"], MESSAGE)
    status, report = c.report()
    assert report["scripted"] == [] and len(report["messages"]) == 1
    assert status == 0, report


def test_mail_and_rcpt_globs_are_case_insensitive(catch, tmp_path):
    c = catch("--script", script(tmp_path, """
[[rule]]
mail = "spam*@*"
reply = "550 5.7.1 no spam"
[[rule]]
rcpt = "*@SLOW.test"
reply = "450 4.2.1 mailbox busy"
"""))
    with smtplib.SMTP(HOST, c.port, local_hostname="client.test", timeout=10) as s:
        s.ehlo()
        assert s.mail("Spammer@client.test")[0] == 550
        assert s.mail("alice@client.test")[0] == 250
        assert s.rcpt("bob@slow.test")[0] == 450
        assert s.rcpt("bob@fast.test")[0] == 250
        assert s.data(MESSAGE)[0] == 250
    _, report = c.report()
    assert scripted(report) == [(1, "MAIL", "reply 550 5.7.1 no spam"), (2, "RCPT", "reply 450 4.2.1 mailbox busy")]
    assert report["messages"][0]["to"] == ["<bob@fast.test>"]


def test_a_421_after_messages_closes_the_session(catch, tmp_path):
    c = catch("--script", script(tmp_path, '[[rule]]\ncommand = "MAIL"\nafter_messages = 2\n'
                                           'reply = "421 4.7.0 [TSS04] busy"\n'))
    with smtplib.SMTP(HOST, c.port, local_hostname="client.test", timeout=10) as s:
        s.sendmail("alice@client.test", ["bob@example.test"], MESSAGE)
        s.sendmail("alice@client.test", ["bob@example.test"], MESSAGE)
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            s.sendmail("alice@client.test", ["bob@example.test"], MESSAGE)
        assert refused.value.smtp_code == 421
    _, report = c.report()
    assert len(report["messages"]) == 2
    assert scripted(report) == [(1, "MAIL", "reply 421 4.7.0 [TSS04] busy")]
    assert "retry-ignored" not in ids(report)   # a 421: only another connection can retry


def test_a_refusal_at_connect(catch, tmp_path):
    c = catch("--script", script(tmp_path, '[[rule]]\ncommand = "connect"\nreply = "554 5.7.1 not welcome"\n'))
    with pytest.raises(smtplib.SMTPConnectError) as refused:
        smtplib.SMTP(HOST, c.port, local_hostname="client.test", timeout=10)
    assert refused.value.smtp_code == 554
    _, report = c.report()
    assert scripted(report) == [(1, "connect", "reply 554 5.7.1 not welcome")]


def test_probability_zero_never_and_one_always(catch, tmp_path):
    c = catch("--script", script(tmp_path, """
[[rule]]
command = "RCPT"
probability = 0
reply = "550 5.1.1 never"
[[rule]]
command = "RCPT"
probability = 1.0
reply = "452 4.5.3 always"
"""))
    with smtplib.SMTP(HOST, c.port, local_hostname="client.test", timeout=10) as s:
        s.ehlo()
        s.mail("alice@client.test")
        for i in range(5):
            assert s.rcpt(f"r{i}@example.test")[0] == 452
    _, report = c.report()
    assert {a["rule"] for a in report["scripted"]} == {2} and len(report["scripted"]) == 5


def test_first_attempt_only_greylists_each_triple_once(catch_server, tmp_path):
    c = catch_server("--script", script(tmp_path, '[[rule]]\ncommand = "RCPT"\nfirst_attempt_only = true\n'
                                                  'reply = "451 4.7.1 Greylisted, please try again later"\n'))
    with smtplib.SMTP(HOST, c.port, local_hostname="client.test", timeout=10) as s:
        s.ehlo()
        s.mail("alice@client.test")
        assert s.rcpt("bob@example.test")[0] == 451
    with smtplib.SMTP(HOST, c.port, local_hostname="client.test", timeout=10) as s:
        s.ehlo()
        s.mail("alice@client.test")
        assert s.rcpt("bob@example.test")[0] == 250     # the same triple: let through
        assert s.rcpt("carol@example.test")[0] == 451   # a new one
        assert s.data(MESSAGE)[0] == 250
    assert wait_until(lambda: len(c.reports()) == 2, 10)
    first, second = c.reports()
    assert "retry-ignored" in ids(first)
    assert "retry-ignored" in ids(second) and len(second["messages"]) == 1
    assert len(c.messages()) == 1


def test_provider_like_greylists_the_first_try(catch, tmp_path):
    c = catch("--script", "provider-like")
    with smtplib.SMTP(HOST, c.port, local_hostname="client.test", timeout=10) as s:
        s.ehlo()
        s.mail("alice@client.test")
        assert s.rcpt("bob@example.test") == (451, b"4.7.1 Greylisted, please try again later")
    _, report = c.report()
    assert scripted(report) == [(1, "RCPT", "reply 451 4.7.1 Greylisted, please try again later")]


# --------------------------------------------------------------------------
# bad scripts

def refused_script(tmp_path, text):
    path = script(tmp_path, text, "bad.toml")
    r = subprocess.run([PETREL, "catch", "--listen", f"{HOST}:{free_port()}", "--maildir", str(tmp_path / "c"),
                        "--script", path], stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
    return r.returncode, r.stderr.decode(errors="replace"), path


@pytest.mark.parametrize("text, line, words", [
    ('[[rule]]\ncommand = "RCPT"\nreplay = "451 x"\n', 3, 'unknown key "replay"'),
    ('[[rule]]\ncommand = "QUIT"\nclose = true\n', 2, 'command "QUIT" is not one of'),
    ('[[rule]]\nreply = "351 go on"\n', 2, "2xx, 4xx or 5xx"),
    ('[[rule]]\nreply = "451 5.7.1 x"\n', 2, "not of the class"),
    ('[[rule]]\nclose = true\nreply = "451 x"\n', 3, "more than one action"),
    ('[[rule]]\ncommand = "RCPT"\n', 1, "no action"),
    ('[[rule]]\nprobability = 2\nclose = true\n', 2, "probability"),
    ('[[rule]]\nclose = \n', 2, ""),
])
def test_a_bad_script_names_file_and_line_with_exit_3(tmp_path, text, line, words):
    status, err, path = refused_script(tmp_path, text)
    assert status == 3, err
    assert f"{path}:{line}:" in err and words in err, err


def test_a_missing_script_is_exit_3(tmp_path):
    r = subprocess.run([PETREL, "catch", "--listen", f"{HOST}:{free_port()}", "--maildir", str(tmp_path / "c"),
                        "--script", str(tmp_path / "none.toml")], stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=20)
    assert r.returncode == 3 and "none.toml: cannot read the script" in r.stderr.decode(), r.stderr


# --------------------------------------------------------------------------
# Postfix as the client

class PostfixRelay(PostfixPeer):
    """A private Postfix that relays everything it is given to catch, and
    retries deferred mail within a second or two."""

    def __init__(self, catch_port):
        super().__init__("unused.test", "127.0.0.3")
        self.catch_port = catch_port

    def prepare(self):
        super().prepare()
        with open(os.path.join(self.conf, "main.cf"), "a") as f:
            f.write(f"""\
relayhost = [{HOST}]:{self.catch_port}
smtp_tls_security_level = none
minimal_backoff_time = 1s
maximal_backoff_time = 2s
queue_run_delay = 1s
smtp_destination_concurrency_limit = 1
""")

    def flush(self):
        subprocess.run(["/usr/sbin/postqueue", "-c", self.conf, "-f"], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=20)


@pytest.fixture
def postfix_to(request):
    started = []

    def start(catch_port):
        p = PostfixRelay(catch_port).start()
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop()


def submit(postfix, message, rcpt="bob@example.test", **options):
    with smtplib.SMTP(postfix.host, postfix.port, local_hostname="client.test", timeout=20) as s:
        s.sendmail("alice@client.test", [rcpt], message, **options)


def test_postfix_relays_with_pipelining_and_8bitmime(catch_server, postfix_to, tmp_path):
    c = catch_server()
    postfix = postfix_to(c.port)
    message = (HEADERS + "Grüße aus Köln, über Postfix.\r\n.A dot-stuffed line.\r\n").encode("utf-8")
    submit(postfix, message, mail_options=["BODY=8BITMIME"])
    assert wait_until(lambda: c.messages() and c.reports(), 30), postfix.log_text()
    [report] = c.reports()
    assert [f for f in report["findings"] if f["level"] == "fail"] == [], report
    assert "8BITMIME" in report["used"] and report["messages"][0]["body"] == "8BITMIME"
    if "PIPELINING" in report["used"]:
        assert "pipelining-used" in ids(report)
    [caught] = c.messages()
    # What Postfix sent: its Received: field, then the message byte for byte.
    assert caught.startswith(b"Received: ") and caught.endswith(message), caught


def test_a_451_to_the_first_rcpt_makes_postfix_retry_later(catch_server, postfix_to, tmp_path):
    c = catch_server("--script", script(tmp_path, '[[rule]]\ncommand = "RCPT"\nfirst_attempt_only = true\n'
                                                  'reply = "451 4.7.1 Greylisted, please try again later"\n'))
    postfix = postfix_to(c.port)
    submit(postfix, MESSAGE)

    def delivered():
        if not c.messages():
            postfix.flush()
            return False
        return True
    assert wait_until(delivered, 60, interval=1.0), postfix.log_text()
    assert wait_until(lambda: len(c.reports()) >= 2, 10)
    reports = c.reports()
    first, last = reports[0], reports[-1]
    assert scripted(first) == [(1, "RCPT", "reply 451 4.7.1 Greylisted, please try again later")]
    assert first["messages"] == [] or all(m["reply"] != 250 for m in first["messages"])
    assert last["scripted"] == [] and [m["reply"] for m in last["messages"]] == [250]
    assert len(c.messages()) == 1 and c.messages()[0].endswith(MESSAGE)
    assert "status=deferred" in postfix.log_text() and "451 4.7.1 Greylisted" in postfix.log_text()


# --------------------------------------------------------------------------
# petrel campaign as the client

def test_campaign_reconnects_after_a_421_and_finishes(catch_server, tmp_path):
    c = catch_server("--script", script(tmp_path, '[[rule]]\ncommand = "MAIL"\nafter_messages = 3\n'
                                                  'reply = "421 4.7.0 [TSS04] Messages from 127.0.0.1 temporarily '
                                                  'deferred due to unexpected volume"\n'))
    listing = tmp_path / "list.csv"
    listing.write_text("email,name\r\n" + "".join(f"u{i}@example.test,User {i}\r\n" for i in range(10)))
    template = tmp_path / "msg.eml"
    template.write_text("From: news@example.org\nTo: {{email}}\nSubject: Hello {{name}}\n\nHi {{name}}.\n")
    r = subprocess.run([PETREL, "campaign", "send", "--server", f"{HOST}:{c.port}", "--recipients", str(listing),
                        "--template", str(template), "--envelope-sender", "news@example.org", "--helo", "client.test",
                        "--concurrency", "1", "--json"], stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    doc = json.loads(r.stdout)
    assert doc["accepted"] == 10 and doc["deferred"] == 0, doc
    assert wait_until(lambda: len(c.reports()) >= 4, 10)
    messages = c.messages()
    assert len(messages) == 10
    subjects = sorted(m.split(b"Subject: ")[1].split(b"\r\n")[0] for m in messages)
    assert subjects == sorted(f"Hello User {i}".encode() for i in range(10))   # each once
    reports = c.reports()
    assert all(len(r["messages"]) <= 3 for r in reports)
    assert sum(1 for r in reports if r["scripted"]) >= 3
