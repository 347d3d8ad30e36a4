"""Mail for a local domain ends up, byte for byte, in the recipient's Maildir."""
import smtplib
import subprocess

import pytest

from harness import LOCAL_DOMAIN, message


def test_delivers_a_message_to_the_recipients_maildir_byte_exact(petrel):
    # a line starting with "." is dot-stuffed on the wire and must arrive unstuffed
    sent = message("plain", body="line one\r\n.hidden dot line\r\n..two dots\r\nlast\r\n")
    with petrel.smtp() as c:
        refused = c.sendmail("sender@client.test", [f"user@{LOCAL_DOMAIN}"], sent)
    assert refused == {}

    [got] = petrel.wait_for_messages("user", 1)
    assert got.message == sent
    assert got.header("Return-Path") == "<sender@client.test>"
    assert got.header("Delivered-To") == f"user@{LOCAL_DOMAIN}"
    assert got.header("Received") is not None
    assert got.data.startswith(b"Return-Path: <sender@client.test>\r\nDelivered-To: user@local.test\r\nReceived: ")


def test_null_reverse_path_is_delivered_with_empty_return_path(petrel):
    with petrel.smtp() as c:
        c.sendmail("<>", [f"user@{LOCAL_DOMAIN}"], message("bounce"))
    [got] = petrel.wait_for_messages("user", 1)
    assert got.header("Return-Path") == "<>"


def test_maildir_path_lower_cases_domain_and_user(petrel):
    with petrel.smtp() as c:
        c.sendmail("sender@client.test", ["Mixed.Case@LOCAL.Test"], message("case"))
    [got] = petrel.wait_for_messages("mixed.case", 1)
    assert got.message == message("case")


def test_one_message_to_50_recipients_reaches_each_maildir_once(petrel):
    users = [f"u{i:02d}" for i in range(50)]
    sent = message("fifty")
    with petrel.smtp() as c:
        refused = c.sendmail("sender@client.test", [f"{u}@{LOCAL_DOMAIN}" for u in users], sent)
    assert refused == {}
    for u in users:
        [got] = petrel.wait_for_messages(u, 1)
        assert got.message == sent
        assert got.header("Delivered-To") == f"{u}@{LOCAL_DOMAIN}"


def test_8bit_body_with_body_8bitmime_is_delivered_unchanged(petrel):
    body = "Grüße aus Köln, 10 € — naïve café\r\n".encode("utf-8") + bytes(range(0x80, 0x100)) + b"\r\n"
    sent = b"Subject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body
    with petrel.smtp() as c:
        assert c.has_extn("8bitmime")
        c.sendmail("sender@client.test", [f"user@{LOCAL_DOMAIN}"], sent, mail_options=["BODY=8BITMIME"])
    [got] = petrel.wait_for_messages("user", 1)
    assert got.message == sent


def test_smtputf8_address_and_body_are_delivered(petrel):
    sent = "Subject: Grüße\r\nFrom: <jörg@client.test>\r\n\r\nПривет, 世界\r\n".encode("utf-8")
    with petrel.smtp() as c:
        assert c.has_extn("smtputf8")
        c.sendmail("jörg@client.test", [f"josé@{LOCAL_DOMAIN}"], sent, mail_options=["SMTPUTF8"])
    [got] = petrel.wait_for_messages("josé", 1)
    assert got.message == sent
    assert got.header("Return-Path") == "<jörg@client.test>"
    assert got.header("Delivered-To") == f"josé@{LOCAL_DOMAIN}"


def test_non_local_recipient_is_refused_as_relay_with_554(petrel):
    with petrel.smtp() as c:
        c.mail("sender@client.test")
        code, text = c.rcpt("someone@elsewhere.test")
    assert code == 554
    assert text.startswith(b"5.7.1")


def test_message_just_under_size_limit_is_accepted(start_petrel):
    petrel = start_petrel("--max-message-size", "20000")
    sent = message("near", body="z" * 76 + "\r\n")
    sent += (b"z" * 76 + b"\r\n") * ((20000 - 100 - len(sent)) // 78)
    assert 19800 < len(sent) <= 19900
    with petrel.smtp() as c:
        assert c.has_extn("size") and c.esmtp_features["size"] == "20000"
        c.sendmail("sender@client.test", [f"user@{LOCAL_DOMAIN}"], sent)   # sends SIZE=len
    [got] = petrel.wait_for_messages("user", 1)
    assert got.message == sent


def test_size_parameter_over_limit_is_refused_at_mail_with_552(start_petrel):
    petrel = start_petrel("--max-message-size", "20000")
    with petrel.smtp() as c:
        code, text = c.mail("sender@client.test", options=["SIZE=20001"])
    assert code == 552
    assert text.startswith(b"5.3.4")


def test_message_over_size_limit_is_refused_after_the_final_dot_with_552(start_petrel):
    petrel = start_petrel("--max-message-size", "20000")
    with petrel.raw() as s:
        assert s.command("EHLO client.test").code == 250
        assert s.command("MAIL FROM:<sender@client.test>").code == 250    # no SIZE= given
        assert s.command(f"RCPT TO:<user@{LOCAL_DOMAIN}>").code == 250
        assert s.command("DATA").code == 354
        s.send(b"Subject: big\r\n\r\n" + (b"x" * 98 + b"\r\n") * 250)   # 25 kB: no reply yet
        s.send(b".\r\n")
        r = s.reply()
        assert (r.code, r.enhanced) == (552, "5.3.4"), r
        # the session goes on: the rest of the body was not read as commands
        assert s.command("RSET").code == 250
        assert s.command("QUIT").code == 221
    petrel.send_ok()
    assert petrel.message_files("user") == []


def test_swaks_sends_a_message_and_exits_0(petrel):
    r = subprocess.run(
        ["swaks", "--server", petrel.host, "--port", str(petrel.port), "--helo", "client.test",
         "--from", "swaks@client.test", "--to", f"user@{LOCAL_DOMAIN}",
         "--header", "Subject: sent by swaks", "--body", "swaks body line\n.leading dot\n"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    assert r.returncode == 0, r.stdout.decode(errors="replace")
    [got] = petrel.wait_for_messages("user", 1)
    assert got.header("Return-Path") == "<swaks@client.test>"
    assert b"Subject: sent by swaks\r\n" in got.message
    assert b"\r\nswaks body line\r\n.leading dot\r\n" in got.message


def test_swaks_with_pipelining_sends_a_message(petrel):
    r = subprocess.run(
        ["swaks", "--pipeline", "--server", petrel.host, "--port", str(petrel.port),
         "--helo", "client.test", "--from", "swaks@client.test", "--to", f"user@{LOCAL_DOMAIN}",
         "--header", "Subject: pipelined swaks"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    assert r.returncode == 0, r.stdout.decode(errors="replace")
    [got] = petrel.wait_for_messages("user", 1)
    assert b"Subject: pipelined swaks\r\n" in got.message


def test_smtplib_raises_for_relay_attempt_but_session_continues(petrel):
    with petrel.smtp() as c:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            c.sendmail("sender@client.test", ["x@elsewhere.test"], message("relay"))
        c.sendmail("sender@client.test", [f"user@{LOCAL_DOMAIN}"], message("after relay"))
    [got] = petrel.wait_for_messages("user", 1)
    assert b"Subject: after relay" in got.message
