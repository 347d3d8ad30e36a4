"""SMTP smuggling: only <CRLF>.<CRLF> ends DATA.  A message that hides a
second transaction behind a bare-LF or bare-CR "end of data" is refused with
550 5.6.0 once the real end of data arrives, and the hidden transaction is
never delivered as a message of its own."""
import pytest

from harness import LOCAL_DOMAIN

# what a vulnerable server would take as the end of the first message
FAKE_ENDS = {
    "lf_dot_lf": b"\n.\n",
    "cr_dot_cr": b"\r.\r",
    "lf_dot_crlf": b"\n.\r\n",
    "crlf_dot_cr": b"\r\n.\r",
}

SMUGGLED = (b"MAIL FROM:<admin@client.test>\r\n"
            b"RCPT TO:<victim@local.test>\r\n"
            b"DATA\r\n"
            b"From: <admin@client.test>\r\nSubject: smuggled\r\n\r\nforged\r\n")


def smuggling_message(fake_end):
    return (b"From: <sender@client.test>\r\nSubject: carrier\r\n\r\ninnocent text"
            + fake_end + SMUGGLED + b".\r\n")


def send_carrier(petrel, data):
    """One transaction to user@local.test whose DATA is `data`; returns the
    reply to the end of data."""
    with petrel.raw() as s:
        assert s.command("EHLO client.test").code == 250
        assert s.command("MAIL FROM:<sender@client.test>").code == 250
        assert s.command(f"RCPT TO:<user@{LOCAL_DOMAIN}>").code == 250
        assert s.command("DATA").code == 354
        s.send(data)
        r = s.reply()
        # exactly one reply for the whole thing: the session is back at
        # the command stage and nothing of the smuggled dialogue answered
        assert s.command("NOOP").code == 250
        assert s.command("QUIT").code == 221
        return r


def assert_victim_got_nothing(petrel):
    # a control message to the victim: once it is there, anything queued
    # before it (the smuggled message) would have been delivered too
    petrel.send_ok(user="victim", text="control message")
    [only] = petrel.messages("victim")
    assert b"forged" not in only.message


@pytest.mark.parametrize("fake_end", FAKE_ENDS.values(), ids=FAKE_ENDS.keys())
def test_rejects_bare_line_ending_dot_smuggling_with_550(petrel, fake_end):
    r = send_carrier(petrel, smuggling_message(fake_end))
    assert (r.code, r.enhanced) == (550, "5.6.0"), r
    assert_victim_got_nothing(petrel)
    assert petrel.message_files("user") == []


def test_bare_lf_inside_a_line_is_refused_with_550(petrel):
    r = send_carrier(petrel, b"Subject: lf\r\n\r\nhalf a line\nthe other half\r\n.\r\n")
    assert (r.code, r.enhanced) == (550, "5.6.0"), r
    petrel.send_ok()
    assert petrel.message_files("user") == []


def test_normalize_mode_delivers_a_smuggling_attempt_as_one_message_only(start_petrel):
    petrel = start_petrel("--bare-line-endings", "normalize")
    r = send_carrier(petrel, smuggling_message(b"\n.\n"))
    assert r.code == 250, r
    [got] = petrel.wait_for_messages("user", 1)
    assert b"RCPT TO:<victim@local.test>" in got.message    # carried as text
    assert b"\r\n" in got.message and b"\n" not in got.message.replace(b"\r\n", b"")
    assert_victim_got_nothing(petrel)


def test_smuggling_attempt_in_bdat_is_just_message_text(petrel):
    # BDAT counts bytes: a "fake end" inside a chunk ends nothing
    chunk = smuggling_message(b"\r\n.\r\n")
    with petrel.raw() as s:
        assert s.command("EHLO client.test").code == 250
        assert s.command("MAIL FROM:<sender@client.test>").code == 250
        assert s.command(f"RCPT TO:<user@{LOCAL_DOMAIN}>").code == 250
        s.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        assert s.reply().code == 250
        assert s.command("QUIT").code == 221
    [got] = petrel.wait_for_messages("user", 1)
    assert got.message == chunk
    assert_victim_got_nothing(petrel)
