"""`petrel send`: one message to petreld (plain, STARTTLS with AUTH,
implicit TLS), to Postfix's smtp-sink, to aiosmtpd servers that refuse a
recipient or the sender, to nothing at all, and by MX through dnsmasq.
Each test pins one outcome and its exit status (docs/petrel-send.md)."""
import email
import email.policy
import json
import os
import signal
import subprocess
import time

import pytest

from harness import HOST, LOCAL_DOMAIN, PASSWORDS, PETRELD, free_port, wait_until

PETREL = os.path.join(os.path.dirname(PETRELD), "petrel")
SMTP_SINK = "/usr/sbin/smtp-sink"
ALICE = f"alice@{LOCAL_DOMAIN}"


def petrel_send(*args, env=None, timeout=60):
    full_env = dict(os.environ)
    full_env.pop("PETREL_PASSWORD", None)
    full_env.update(env or {})
    r = subprocess.run([PETREL, "send", "--timeout", "10", "--helo", "client.test", *args],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, env=full_env)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def send_json(*args, **kw):
    status, out, err = petrel_send("--json", *args, **kw)
    return status, json.loads(out), err


def parsed(delivered):
    return email.message_from_bytes(delivered.message, policy=email.policy.default)


@pytest.fixture
def aiosmtpd_server():
    """aiosmtpd_server(handler): an aiosmtpd server on 127.0.0.7; its port."""
    from aiosmtpd.controller import Controller
    controllers = []

    def start(handler):
        port = free_port("127.0.0.7")
        c = Controller(handler, hostname="127.0.0.7", port=port)
        c.start()
        controllers.append(c)
        return port

    yield start
    for c in controllers:
        c.stop()


class Recorder:
    def __init__(self, refuse_rcpt=None, refuse_mail=False):
        self.refuse_rcpt, self.refuse_mail, self.received = refuse_rcpt, refuse_mail, []

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.refuse_mail:
            return "550 5.7.1 Sender refused"
        envelope.mail_from = address
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.refuse_rcpt:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.rcpt_tos, envelope.original_content))
        return "250 2.0.0 OK id=1rXyZ-000123-AB"


# --------------------------------------------------------------------------
# petreld


def test_message_with_attachments_lands_in_the_maildir_intact(petrel, tmp_path):
    binary = bytes(range(256)) * 40 + b"\r\n.\r\n\x00end"
    (tmp_path / "data.bin").write_bytes(binary)
    (tmp_path / "résumé.pdf").write_bytes(b"%PDF-1.4 fake")
    body = "Hallo,\nGrüße aus dem Test.\n.\nA line that starts with a dot follows:\n.hidden\n"
    status, out, err = petrel_send(
        "--server", f"{HOST}:{petrel.port}", "--from", "Sender <sender@client.test>", "--to", ALICE,
        "--subject", "Prüfung ✓ of a subject long enough to need folding across more than one line, surely",
        "--header", "X-Petrel-Test: yes", "--body", body,
        "--attach", str(tmp_path / "data.bin"), "--attach", str(tmp_path / "résumé.pdf"))
    assert status == 0, out + err
    delivered = petrel.wait_for_messages("alice", 1)[0]
    msg = parsed(delivered)
    assert msg["Subject"] == "Prüfung ✓ of a subject long enough to need folding across more than one line, surely"
    assert msg["From"] == "Sender <sender@client.test>" and msg["To"] == ALICE
    assert msg["X-Petrel-Test"] == "yes" and msg["MIME-Version"] == "1.0"
    assert msg["Date"] and msg["Message-ID"]
    assert msg.get_content_type() == "multipart/mixed"
    text, data, pdf = list(msg.iter_parts())
    assert text.get_content().replace("\r\n", "\n") == body
    assert text["Content-Transfer-Encoding"] == "quoted-printable"
    assert data.get_filename() == "data.bin" and data.get_content_type() == "application/octet-stream"
    assert data.get_payload(decode=True) == binary
    assert pdf.get_filename() == "résumé.pdf" and pdf.get_content_type() == "application/pdf"
    assert pdf.get_payload(decode=True) == b"%PDF-1.4 fake"
    assert all(len(line) <= 78 for line in delivered.message.split(b"\r\n")), "a line longer than 78"
    assert all(b < 0x80 for b in delivered.message), "the message is 7-bit"
    # the dialogue, with timings, and the queue ID petreld gave
    assert "<- " in out and " -> MAIL FROM:<sender@client.test>" in out and " ms " in out
    qid = out.rsplit("queued as ", 1)[1].split()[0].rstrip(",")
    assert f"qid={qid}" in petrel.log_text()


def test_json_is_one_document_with_outcome_recipients_and_timed_transcript(petrel):
    status, doc, err = send_json("--server", f"{HOST}:{petrel.port}", "--from", "me@client.test",
                                 "--to", ALICE, "--to", f"bob@{LOCAL_DOMAIN}", "--no-starttls")
    assert status == 0, err
    assert doc["status"] == "accepted" and doc["exit_code"] == 0
    assert doc["queue_id"] and f"qid={doc['queue_id']}" in petrel.log_text()
    assert doc["from"] == "me@client.test" and doc["tls"] is None and doc["error"] is None
    assert doc["message_id"].startswith("<") and doc["size"] > 0
    assert doc["endpoint"] == f"{HOST}[{HOST}]:{petrel.port}"
    assert [r["address"] for r in doc["recipients"]] == [ALICE, f"bob@{LOCAL_DOMAIN}"]
    for r in doc["recipients"]:
        assert r["outcome"] == "accepted" and r["reply"]["code"] == 250 and r["reply"]["local"] is False
    lines = doc["transcript"]
    assert {"ms", "direction", "line"} == set(lines[0])
    server = [l for l in lines if l["direction"] == "<"]
    assert server[0]["line"].startswith("220 ")
    assert any(l["direction"] == ">" and l["line"].startswith("EHLO client.test") for l in lines)
    assert [l["ms"] for l in lines] == sorted(l["ms"] for l in lines)


def test_starttls_and_auth_with_the_password_from_the_environment(secure, tls_files):
    status, out, err = petrel_send(
        "--server", f"{HOST}:{secure.ports['submission']}", "--starttls", "--ca-file", tls_files.ca,
        "--auth", ALICE, "--from", ALICE, "--to", f"bob@{LOCAL_DOMAIN}",
        env={"PETREL_PASSWORD": PASSWORDS[ALICE]})
    assert status == 0, out + err
    assert " -> STARTTLS" in out and "TLS: TLSv1." in out and "AUTH PLAIN <credentials>" in out
    assert PASSWORDS[ALICE] not in out + err
    msg = parsed(secure.wait_for_messages("bob", 1)[0])
    assert msg["From"] == ALICE


def test_the_password_is_asked_on_the_terminal_without_echo(secure, tls_files):
    import pty
    import select
    argv = [PETREL, "send", "--timeout", "10", "--server", f"{HOST}:{secure.ports['submission']}",
            "--ca-file", tls_files.ca, "--auth", ALICE, "--from", ALICE, "--to", f"dave@{LOCAL_DOMAIN}", "--quiet"]
    env = {k: v for k, v in os.environ.items() if k != "PETREL_PASSWORD"}
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(PETREL, argv, env)
    seen, answered = b"", False
    try:
        for _ in range(200):                       # at most 20 s
            ready, _, _ = select.select([fd], [], [], 0.1)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:                        # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
            if not answered and b"Password for " + ALICE.encode() in seen:
                os.write(fd, PASSWORDS[ALICE].encode() + b"\n")
                answered = True
    finally:
        for _ in range(100):                       # at most 10 s more, then killed
            done, wait_status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
            _, wait_status = os.waitpid(pid, 0)
        os.close(fd)
    assert answered, seen
    assert os.waitstatus_to_exitcode(wait_status) == 0, seen
    assert PASSWORDS[ALICE].encode() not in seen   # not echoed
    secure.wait_for_messages("dave", 1)


def test_a_wrong_password_is_exit_3(secure, tls_files):
    status, out, err = petrel_send(
        "--server", f"{HOST}:{secure.ports['submission']}", "--ca-file", tls_files.ca,
        "--auth", ALICE, "--from", ALICE, "--to", f"bob@{LOCAL_DOMAIN}", env={"PETREL_PASSWORD": "wrong"})
    assert status == 3, out + err
    assert "535" in out and "Not sent" in out


def test_implicit_tls_on_the_smtps_listener(secure, tls_files):
    status, doc, err = send_json("--server", f"{HOST}:{secure.ports['smtps']}", "--tls", "--ca-file", tls_files.ca,
                                 "--auth", ALICE, "--from", ALICE, "--to", f"carol@{LOCAL_DOMAIN}",
                                 env={"PETREL_PASSWORD": PASSWORDS[ALICE]})
    assert status == 0, err
    assert doc["tls"].startswith("TLSv1.")
    assert not any(l["line"] == "STARTTLS" for l in doc["transcript"])
    secure.wait_for_messages("carol", 1)


def test_a_certificate_the_system_store_does_not_trust_is_exit_3(secure):
    status, out, err = petrel_send("--server", f"{HOST}:{secure.port}", "--tls-verify",
                                   "--from", "me@client.test", "--to", ALICE)
    assert status == 3, out + err
    assert "certificate verify failed" in out
    assert secure.message_files("alice") == []


# --------------------------------------------------------------------------
# other servers


def test_smtp_sink_accepts_without_a_queue_id(tmp_path):
    port = free_port("127.0.0.8")
    sink = subprocess.Popen([SMTP_SINK, "-u", "nobody", f"127.0.0.8:{port}", "10"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import socket
        assert wait_until(lambda: socket.socket().connect_ex(("127.0.0.8", port)) == 0, 5)
        status, doc, err = send_json("--server", f"127.0.0.8:{port}", "--from", "me@client.test",
                                     "--to", "you@sink.test", "--body", "ünïcode")
        assert status == 0, err
        assert doc["queue_id"] is None and doc["recipients"][0]["reply"]["text"] == "250 2.0.0 Ok"
    finally:
        sink.kill()
        sink.wait(timeout=5)


def test_one_recipient_refused_is_exit_1(aiosmtpd_server):
    handler = Recorder(refuse_rcpt="nobody@far.test")
    port = aiosmtpd_server(handler)
    status, doc, err = send_json("--server", f"127.0.0.7:{port}", "--from", "me@client.test",
                                 "--to", "you@far.test", "--to", "nobody@far.test")
    assert status == 1, err
    assert doc["status"] == "partly_refused"
    assert [r["outcome"] for r in doc["recipients"]] == ["accepted", "refused"]
    assert doc["recipients"][1]["reply"]["text"] == "550 5.1.1 No such user here"
    assert doc["queue_id"] == "1rXyZ-000123-AB"  # Exim's form, id=
    assert handler.received[0][0] == ["you@far.test"]


def test_refused_at_mail_is_exit_2(aiosmtpd_server):
    port = aiosmtpd_server(Recorder(refuse_mail=True))
    status, out, err = petrel_send("--server", f"127.0.0.7:{port}", "--from", "me@client.test", "--to", "you@far.test")
    assert status == 2, out + err
    assert "550 5.7.1 Sender refused" in out and "Rejected" in out


def test_nothing_listening_is_exit_3():
    port = free_port("127.0.0.9")
    status, doc, err = send_json("--server", f"127.0.0.9:{port}", "--from", "me@client.test", "--to", "you@far.test")
    assert status == 3, err
    assert doc["status"] == "not_sent" and doc["queue_id"] is None
    assert "refused" in doc["recipients"][0]["reply"]["text"].lower()


def test_bad_header_is_refused_before_connecting():
    status, out, err = petrel_send("--server", "127.0.0.9:1", "--from", "me@client.test", "--to", "you@far.test",
                                   "--header", "Content-Type: text/html")
    assert status == 4 and "Content-Type" in err


def test_a_line_break_in_the_subject_or_a_name_is_refused_before_connecting():
    # It would end the header there and start another one (a Bcc:, say).
    status, _, err = petrel_send("--server", "127.0.0.9:1", "--from", "me@client.test", "--to", "you@far.test",
                                 "--subject", "hi\r\nBcc: someone@far.test")
    assert status == 4 and "--subject" in err and "line break" in err
    status, _, err = petrel_send("--server", "127.0.0.9:1", "--from", "me@client.test",
                                 "--to", "You\nBcc: x <you@far.test>")
    assert status == 4 and "--to" in err


def test_json_survives_a_reply_that_is_not_utf8(tmp_path):
    # A server's reply text may hold any octet; the JSON document must
    # still come out (invalid UTF-8 replaced), with the real outcome.
    import socket
    import threading
    listener = socket.socket()
    listener.bind(("127.0.0.9", 0))
    listener.listen(1)
    listener.settimeout(10)
    port = listener.getsockname()[1]

    def serve():
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(10)
            f = conn.makefile("rb")
            conn.sendall(b"220 caf\xe9 ESMTP\r\n")
            for raw in f:
                verb = raw[:4].upper()
                if verb == b"EHLO":
                    conn.sendall(b"250 caf\xe9\r\n")
                elif verb == b"DATA":
                    conn.sendall(b"354 go\r\n")
                    for body in f:
                        if body == b".\r\n":
                            break
                    conn.sendall(b"250 2.0.0 Ok: queued as Q\xff1\r\n")
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:
                    conn.sendall(b"250 ok\r\n")

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        status, doc, err = send_json("--server", f"127.0.0.9:{port}", "--from", "me@client.test",
                                     "--to", "you@far.test")
    finally:
        t.join(timeout=15)
        listener.close()
    assert status == 0, err
    assert doc["status"] == "accepted"
    assert doc["recipients"][0]["outcome"] == "accepted"


# --------------------------------------------------------------------------
# by MX


@pytest.fixture
def zone():
    from dns_zone import DnsZone, dnsmasq_binary
    if not dnsmasq_binary():
        pytest.skip("dnsmasq is not installed")
    started = []

    def start(z):
        started.append(z.start())
        return z

    yield start
    for z in started:
        z.stop()


def test_by_mx_of_the_first_recipients_domain_falling_back_to_the_next(servers, zone):
    from dns_zone import DnsZone
    dns = zone(DnsZone().mx("send.test", "mx0.send.test", 5).host("mx0.send.test", "127.0.0.5")
               .mx("send.test", "mx1.send.test", 10).host("mx1.send.test", "127.0.0.6"))
    mx = servers("mx", "--local-domain", "send.test", host="127.0.0.6")   # nothing on 127.0.0.5
    status, doc, err = send_json("--resolver", dns.upstream, "--port", str(mx.port), "--from", "me@client.test",
                                 "--to", "bob@send.test")
    assert status == 0, err
    assert doc["mx"] == [{"host": "mx0.send.test", "preference": 5, "address": "127.0.0.5"},
                         {"host": "mx1.send.test", "preference": 10, "address": "127.0.0.6"}]
    assert any(l["line"].startswith(f"connect to mx0.send.test[127.0.0.5]:{mx.port}") for l in doc["transcript"])
    assert doc["endpoint"] == f"mx1.send.test[127.0.0.6]:{mx.port}"
    mx.wait_for_messages("bob", 1, domain="send.test")


def test_an_internationalized_domain_is_looked_up_by_its_a_labels(servers, zone):
    from dns_zone import DnsZone
    dns = zone(DnsZone().mx("xn--bcher-kva.test", "mx.bcher.test", 10).host("mx.bcher.test", "127.0.0.6"))
    mx = servers("mx", "--local-domain", "xn--bcher-kva.test", host="127.0.0.6")
    status, doc, err = send_json("--resolver", dns.upstream, "--port", str(mx.port), "--from", "me@client.test",
                                 "--to", "bob@b\u00fccher.test")
    assert status == 0, err + str(doc)
    assert doc["mx"] == [{"host": "mx.bcher.test", "preference": 10, "address": "127.0.0.6"}]
    assert "SMTPUTF8" in " ".join(l["line"] for l in doc["transcript"] if l["direction"] == ">")


def test_null_mx_is_exit_2(zone):
    from dns_zone import DnsZone
    dns = zone(DnsZone().mx("nomail.test", ".", 0))
    status, out, err = petrel_send("--resolver", dns.upstream, "--from", "me@client.test", "--to", "bob@nomail.test")
    assert status == 2, out + err
    assert "null" in out.lower()
