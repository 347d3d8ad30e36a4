"""The submission listener (RFC 6409, port 587 semantics): AUTH before MAIL,
the sender must be the user's own address, missing Message-ID: and Date:
are added, and authenticated users may send anywhere."""
import re

from harness import LOCAL_DOMAIN, PASSWORDS, message, queue_id, swaks, unfold

ALICE = f"alice@{LOCAL_DOMAIN}"
BOB = f"bob@{LOCAL_DOMAIN}"


def send(s, sender, rcpt, data):
    """MAIL, RCPT, DATA on an open session; returns the reply to the end of data."""
    r = s.command(f"MAIL FROM:<{sender}>")
    assert r.code == 250, r
    r = s.command(f"RCPT TO:<{rcpt}>")
    assert r.code == 250, r
    assert s.command("DATA").code == 354
    s.send(data + b".\r\n")
    return s.reply()


def test_mail_before_auth_gets_530_5_7_0(secure):
    with secure.raw_tls(listener="submission") as s:
        r = s.command(f"MAIL FROM:<{ALICE}>")
    assert (r.code, r.enhanced) == (530, "5.7.0"), r


def test_mail_before_auth_without_tls_gets_530_5_7_0(secure):
    with secure.raw(listener="submission") as s:
        s.command("EHLO client.test")
        r = s.command(f"MAIL FROM:<{ALICE}>")
    assert (r.code, r.enhanced) == (530, "5.7.0"), r


def test_ehlo_on_submission_offers_starttls_and_auth_only_after_it(secure):
    with secure.raw(listener="submission") as s:
        before = s.command("EHLO client.test")
        after = s.starttls()
    assert any(l.upper() == "STARTTLS" for l in before.lines[1:]), before
    assert not any(l.upper().startswith("AUTH") for l in before.lines[1:]), before
    assert any(l.upper().startswith("AUTH ") for l in after.lines[1:]), after


def test_authenticated_user_may_send_as_their_own_address(secure):
    with secure.raw_auth(ALICE) as s:
        r = s.command(f"MAIL FROM:<{ALICE}>")
    assert r.code == 250, r


def test_own_address_with_the_domain_in_upper_case_is_still_own(secure):
    with secure.raw_auth(ALICE) as s:
        r = s.command(f"MAIL FROM:<alice@{LOCAL_DOMAIN.upper()}>")
    assert r.code == 250, r


def test_sender_not_owned_by_the_user_gets_553_5_7_1(secure):
    with secure.raw_auth(ALICE) as s:
        r = s.command(f"MAIL FROM:<{BOB}>")
    assert (r.code, r.enhanced) == (553, "5.7.1"), r


def test_foreign_sender_after_auth_gets_553_5_7_1(secure):
    with secure.raw_auth(ALICE) as s:
        r = s.command("MAIL FROM:<ceo@other.example>")
    assert (r.code, r.enhanced) == (553, "5.7.1"), r


def test_message_without_message_id_and_date_gets_both_added(secure):
    sent = b"From: <alice@local.test>\r\nTo: <user@local.test>\r\nSubject: bare\r\n\r\nno id, no date\r\n"
    with secure.raw_auth(ALICE) as s:
        assert send(s, ALICE, f"user@{LOCAL_DOMAIN}", sent).code == 250
    [got] = secure.wait_for_messages("user", 1)
    head = got.data.split(b"\r\n\r\n", 1)[0]
    assert re.search(rb"^Message-ID: *<[^<>@\s]+@[^<>@\s]+>\r?$", head, re.M | re.I), got.data
    assert re.search(rb"^Date: *\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}", head, re.M), got.data
    assert got.data.endswith(b"\r\n\r\nno id, no date\r\n")


def test_message_with_message_id_and_date_keeps_them_and_gets_no_second(secure):
    sent = message("has both", headers="Message-ID: <original.1@client.test>\r\n"
                                       "Date: Mon, 2 Jan 2023 10:00:00 +0100\r\n")
    with secure.raw_auth(ALICE) as s:
        assert send(s, ALICE, f"user@{LOCAL_DOMAIN}", sent).code == 250
    [got] = secure.wait_for_messages("user", 1)
    assert got.message == sent
    head = got.data.split(b"\r\n\r\n", 1)[0]
    assert len(re.findall(rb"^Message-ID:", head, re.M | re.I)) == 1, got.data
    assert len(re.findall(rb"^Date:", head, re.M | re.I)) == 1, got.data


def test_mail_on_the_smtp_port_gets_no_headers_added(secure):
    # the relay port passes messages on as they are: adding headers is for submission
    sent = b"Subject: bare on 25\r\n\r\nbody\r\n"
    with secure.smtp() as c:
        c.sendmail("sender@client.test", [f"user@{LOCAL_DOMAIN}"], sent)
    [got] = secure.wait_for_messages("user", 1)
    assert got.message == sent


def test_authenticated_user_may_send_to_a_foreign_domain_and_it_is_queued(secure):
    with secure.raw_auth(ALICE) as s:
        r = send(s, ALICE, "friend@other.example", message("outbound"))
    assert r.code == 250 and queue_id(r), r
    assert secure.all_message_files() == []


def test_received_header_of_submitted_mail_says_esmtpsa(secure):
    with secure.raw_auth(ALICE) as s:
        version, cipher, bits = s.tls()
        assert send(s, ALICE, f"user@{LOCAL_DOMAIN}", message("esmtpsa")).code == 250
    [got] = secure.wait_for_messages("user", 1)
    received = unfold(got.header("Received"))
    assert " with ESMTPSA " in received, received
    assert f"(using {version} with cipher {cipher} ({bits}/{bits} bits))" in received, received


def test_smtplib_starttls_login_sendmail_delivers(secure):
    with secure.smtp_tls(listener="submission") as c:
        c.login(ALICE, PASSWORDS[ALICE])
        assert c.sendmail(ALICE, [f"user@{LOCAL_DOMAIN}"], message("smtplib submission")) == {}
    [got] = secure.wait_for_messages("user", 1)
    assert b"Subject: smtplib submission" in got.data


def test_swaks_starttls_auth_plain_delivers(secure):
    r = swaks(secure, "--tls", "--auth", "PLAIN", "--auth-user", ALICE, "--auth-password", PASSWORDS[ALICE],
              "--from", ALICE, "--to", f"user@{LOCAL_DOMAIN}", "--header", "Subject: swaks plain",
              listener="submission")
    assert r.returncode == 0, r.out
    assert "235 2.7.0" in r.out, r.out
    [got] = secure.wait_for_messages("user", 1)
    assert b"Subject: swaks plain" in got.data


def test_swaks_starttls_auth_login_delivers(secure):
    r = swaks(secure, "--tls", "--auth", "LOGIN", "--auth-user", ALICE, "--auth-password", PASSWORDS[ALICE],
              "--from", ALICE, "--to", f"user@{LOCAL_DOMAIN}", "--header", "Subject: swaks login",
              listener="submission")
    assert r.returncode == 0, r.out
    [got] = secure.wait_for_messages("user", 1)
    assert b"Subject: swaks login" in got.data


def test_swaks_with_a_wrong_password_fails_and_nothing_is_delivered(secure):
    r = swaks(secure, "--tls", "--auth", "PLAIN", "--auth-user", ALICE, "--auth-password", "wrong",
              "--from", ALICE, "--to", f"user@{LOCAL_DOMAIN}", listener="submission")
    assert r.returncode == 28, r.out            # swaks: 28 = authentication failed
    assert "535 5.7.8" in r.out, r.out
    assert secure.all_message_files() == []
