"""The SMTP dialogue: greeting, EHLO, the verbs, their order, and the replies."""
from harness import HOSTNAME, LOCAL_DOMAIN, message, queue_id


def open_transaction(s, rcpt=f"user@{LOCAL_DOMAIN}"):
    assert s.command("EHLO client.test").code == 250
    r = s.command("MAIL FROM:<sender@client.test>")
    assert r.code == 250, r
    r = s.command(f"RCPT TO:<{rcpt}>")
    assert r.code == 250, r


def test_greeting_is_220_with_hostname_and_esmtp(petrel):
    with petrel.connect() as s:
        r = s.reply()
    assert r.code == 220
    assert r.lines[0].split()[:2] == [HOSTNAME, "ESMTP"]


def test_ehlo_advertises_the_extensions(start_petrel):
    petrel = start_petrel("--max-message-size", "123456")
    with petrel.raw() as s:
        r = s.command("EHLO client.test")
    assert r.code == 250
    keywords = {line.split()[0].upper(): line for line in r.lines[1:]}
    for ext in ("PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8",
                "CHUNKING", "BINARYMIME", "DSN"):
        assert ext in keywords, r
    assert keywords["SIZE"].split() == ["SIZE", "123456"]


def test_helo_gets_250_without_extensions(petrel):
    with petrel.raw() as s:
        r = s.command("HELO client.test")
    assert r.code == 250
    assert len(r.lines) == 1


def test_vrfy_gets_252(petrel):
    with petrel.raw() as s:
        s.command("EHLO client.test")
        assert s.command(f"VRFY user@{LOCAL_DOMAIN}").code == 252


def test_expn_gets_502_5_5_1(petrel):
    with petrel.raw() as s:
        s.command("EHLO client.test")
        r = s.command("EXPN staff")
    assert (r.code, r.enhanced) == (502, "5.5.1"), r


def test_turn_gets_502_5_5_1(petrel):
    with petrel.raw() as s:
        s.command("EHLO client.test")
        r = s.command("TURN")
    assert (r.code, r.enhanced) == (502, "5.5.1"), r


def test_help_gets_214(petrel):
    with petrel.raw() as s:
        assert s.command("HELP").code == 214


def test_noop_and_rset_get_250_and_quit_gets_221_and_close(petrel):
    with petrel.raw() as s:
        assert s.command("NOOP").code == 250
        assert s.command("RSET").code == 250
        r = s.command("QUIT")
        assert r.code == 221
        assert s.is_closed()


def test_unknown_command_gets_500_5_5_2(petrel):
    with petrel.raw() as s:
        s.command("EHLO client.test")
        r = s.command("FROB nicate")
    assert (r.code, r.enhanced) == (500, "5.5.2"), r


def test_mail_before_ehlo_gets_503_5_5_1(petrel):
    with petrel.raw() as s:
        r = s.command("MAIL FROM:<sender@client.test>")
        assert (r.code, r.enhanced) == (503, "5.5.1"), r
        assert s.command("EHLO client.test").code == 250
        assert s.command("MAIL FROM:<sender@client.test>").code == 250


def test_rcpt_before_mail_gets_503_5_5_1(petrel):
    with petrel.raw() as s:
        s.command("EHLO client.test")
        r = s.command(f"RCPT TO:<user@{LOCAL_DOMAIN}>")
    assert (r.code, r.enhanced) == (503, "5.5.1"), r


def test_data_before_mail_gets_503(petrel):
    with petrel.raw() as s:
        s.command("EHLO client.test")
        r = s.command("DATA")
    assert r.code == 503, r


def test_data_without_valid_recipient_gets_554_5_5_1(petrel):
    with petrel.raw() as s:
        s.command("EHLO client.test")
        assert s.command("MAIL FROM:<sender@client.test>").code == 250
        assert s.command("RCPT TO:<x@elsewhere.test>").code == 554
        r = s.command("DATA")
        assert (r.code, r.enhanced) == (554, "5.5.1"), r
        # no 354 was given, so this line is a command, not message text
        assert s.command("RSET").code == 250


def test_second_mail_in_a_transaction_gets_503(petrel):
    with petrel.raw() as s:
        s.command("EHLO client.test")
        assert s.command("MAIL FROM:<sender@client.test>").code == 250
        assert s.command("MAIL FROM:<other@client.test>").code == 503


def test_bad_sender_syntax_gets_501_5_1_7(petrel):
    with petrel.raw() as s:
        s.command("EHLO client.test")
        r = s.command("MAIL FROM:<not an address>")
    assert (r.code, r.enhanced) == (501, "5.1.7"), r


def test_bad_recipient_syntax_gets_501_5_1_3(petrel):
    with petrel.raw() as s:
        s.command("EHLO client.test")
        assert s.command("MAIL FROM:<sender@client.test>").code == 250
        r = s.command("RCPT TO:<user@@local.test>")
    assert (r.code, r.enhanced) == (501, "5.1.3"), r


def test_utf8_address_without_smtputf8_is_refused(petrel):
    with petrel.raw() as s:
        s.command("EHLO client.test")
        assert s.command("MAIL FROM:<sender@client.test>").code == 250
        r = s.command(f"RCPT TO:<josé@{LOCAL_DOMAIN}>")
    assert r.code in (553, 501), r
    assert petrel.message_files("josé") == []


def test_recipients_beyond_max_get_452_4_5_3_and_the_rest_is_delivered(start_petrel):
    petrel = start_petrel("--max-recipients", "5")
    with petrel.raw() as s:
        s.command("EHLO client.test")
        assert s.command("MAIL FROM:<sender@client.test>").code == 250
        for i in range(5):
            assert s.command(f"RCPT TO:<u{i}@{LOCAL_DOMAIN}>").code == 250
        r = s.command(f"RCPT TO:<u5@{LOCAL_DOMAIN}>")
        assert (r.code, r.enhanced) == (452, "4.5.3"), r
        assert s.command("DATA").code == 354
        s.send(message("five") + b".\r\n")
        assert s.reply().code == 250
    for i in range(5):
        petrel.wait_for_messages(f"u{i}", 1)
    assert petrel.message_files("u5") == []


def test_data_reply_names_a_16_character_queue_id(petrel):
    with petrel.raw() as s:
        open_transaction(s)
        assert s.command("DATA").code == 354
        s.send(message("id") + b".\r\n")
        r = s.reply()
    assert r.code == 250
    assert queue_id(r) is not None, r


def test_two_transactions_on_one_connection_get_distinct_queue_ids(petrel):
    ids = []
    with petrel.raw() as s:
        open_transaction(s)
        for n in range(2):
            if n:
                assert s.command("MAIL FROM:<sender@client.test>").code == 250
                assert s.command(f"RCPT TO:<user@{LOCAL_DOMAIN}>").code == 250
            assert s.command("DATA").code == 354
            s.send(message(f"msg {n}") + b".\r\n")
            ids.append(queue_id(s.reply()))
    assert None not in ids and ids[0] != ids[1]
    got = petrel.wait_for_messages("user", 2)
    assert sorted(m.message for m in got) == sorted([message("msg 0"), message("msg 1")])


def test_pipelined_commands_get_their_replies_in_order(petrel):
    with petrel.raw() as s:
        assert s.command("EHLO client.test").code == 250
        s.send(b"MAIL FROM:<sender@client.test>\r\n"
               b"RCPT TO:<p1@local.test>\r\n"
               b"RCPT TO:<x@elsewhere.test>\r\n"
               b"RCPT TO:<p2@local.test>\r\n"
               b"DATA\r\n")
        codes = [s.reply().code for _ in range(5)]
        assert codes == [250, 250, 554, 250, 354]
        # message, end of data and the next commands in one write as well
        s.send(message("pipelined") + b".\r\nNOOP\r\nQUIT\r\n")
        assert [s.reply().code for _ in range(3)] == [250, 250, 221]
    for u in ("p1", "p2"):
        [got] = petrel.wait_for_messages(u, 1)
        assert got.message == message("pipelined")


def test_bdat_chunks_are_assembled_into_one_message(petrel):
    part1 = b"Subject: chunked\r\n\r\nfirst chunk "
    part2 = b"second chunk\r\n"
    with petrel.raw() as s:
        open_transaction(s)
        s.send(b"BDAT %d\r\n" % len(part1) + part1)
        r = s.reply()
        assert r.code == 250, r
        s.send(b"BDAT %d\r\n" % len(part2) + part2)
        assert s.reply().code == 250
        r = s.command("BDAT 0 LAST")
        assert r.code == 250, r
        assert queue_id(r) is not None, r
    [got] = petrel.wait_for_messages("user", 1)
    assert got.message == part1 + part2


def test_bdat_last_in_a_pipelined_write_with_no_dot_unstuffing(petrel):
    # BDAT content is counted, not dot-terminated: a "." or ".." line is text
    body = b"Subject: binary\r\n\r\n.\r\n..two\r\nend\r\n"
    with petrel.raw() as s:
        open_transaction(s)
        s.send(b"BDAT %d LAST\r\n" % len(body) + body + b"QUIT\r\n")
        assert s.reply().code == 250
        assert s.reply().code == 221
    [got] = petrel.wait_for_messages("user", 1)
    assert got.message == body


def test_data_after_bdat_in_one_transaction_gets_503(petrel):
    with petrel.raw() as s:
        open_transaction(s)
        s.send(b"BDAT 5\r\nhello")
        assert s.reply().code == 250
        assert s.command("DATA").code == 503
