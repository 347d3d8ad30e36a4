"""Clients that send too much, too long or nonsense get bounded answers, and
the server goes on serving everyone else."""
import os
import random
import socket
import threading

from harness import Closed, LOCAL_DOMAIN


def test_command_line_of_exactly_512_octets_is_accepted(petrel):
    line = b"NOOP " + b"x" * (512 - 5 - 2)          # + CRLF = 512 (RFC 5321 4.5.3.1.4)
    with petrel.raw() as s:
        assert s.command(line).code == 250


def test_overlong_command_line_gets_500_5_5_2_and_session_continues(petrel):
    with petrel.raw() as s:
        assert s.command("EHLO client.test").code == 250
        s.send(b"NOOP " + b"x" * 600 + b"\r\nNOOP\r\n")
        r = s.reply()
        assert (r.code, r.enhanced) == (500, "5.5.2"), r
        # one reply for the long line: its tail was not taken as a command
        assert s.reply().code == 250
        assert s.command("MAIL FROM:<sender@client.test>").code == 250
        assert s.command(f"RCPT TO:<user@{LOCAL_DOMAIN}>").code == 250
    petrel.send_ok()


def test_endless_line_gets_a_reply_or_close_not_a_hang(petrel):
    s = petrel.raw()
    blob = b"A" * (1 << 20)                   # 1 MiB, no LF
    sent = [0]

    def push():
        try:
            for i in range(0, len(blob), 65536):
                s.sock.sendall(blob[i:i + 65536])
                sent[0] += 65536
        except OSError:
            pass                              # the server closed on us: fine

    t = threading.Thread(target=push, daemon=True)
    t.start()
    s.sock.settimeout(10)
    try:
        r = s.reply()
        assert r.code in (500, 421), r
    except (Closed, ConnectionResetError):
        pass                                  # closed without a reply: also bounded
    except socket.timeout:
        raise AssertionError(f"no reply and no close 10 s into an endless line "
                             f"({sent[0]} bytes sent)")
    finally:
        t.join(15)
        s.close()
    petrel.send_ok()


def test_max_errors_gets_421_4_7_0_and_close(start_petrel):
    petrel = start_petrel("--max-errors", "5")
    with petrel.raw() as s:
        s.send(b"".join(b"BOGUS %d\r\n" % i for i in range(20)))
        replies = []
        try:
            while True:
                replies.append(s.reply())
                if replies[-1].code == 421:
                    break
        except Closed:
            pass
        assert replies and replies[-1].code == 421, replies
        assert replies[-1].enhanced == "4.7.0", replies
        assert len(replies) <= 6, replies
        assert all(r.code == 500 for r in replies[:-1]), replies
        assert s.is_closed()
    petrel.send_ok()


def test_garbage_flood_is_cut_off_and_the_server_keeps_serving(petrel):
    rnd = random.Random(5321)
    garbage = bytes(rnd.getrandbits(8) for _ in range(256 * 1024))
    s = petrel.raw()
    s.sock.settimeout(10)

    def push():
        try:
            s.sock.sendall(garbage)
        except OSError:
            pass

    t = threading.Thread(target=push, daemon=True)
    t.start()
    try:
        assert s.is_closed(timeout=10), "server still reading garbage after 10 s"
    finally:
        t.join(15)
        s.close()
    petrel.send_ok()


def test_random_binary_commands_from_many_clients_do_not_break_the_server(petrel):
    rnd = random.Random(2821)
    for _ in range(20):
        with petrel.connect(timeout=5) as s:
            try:
                s.send(os.urandom(rnd.randint(1, 3000)) + b"\r\n" + b"\x00\xff\r\n" * 3)
                s.is_closed(timeout=0.2)
            except OSError:
                pass
    petrel.send_ok()


def test_client_that_disconnects_mid_data_gets_nothing_delivered(petrel):
    with petrel.raw() as s:
        assert s.command("EHLO client.test").code == 250
        assert s.command("MAIL FROM:<sender@client.test>").code == 250
        assert s.command(f"RCPT TO:<half@{LOCAL_DOMAIN}>").code == 250
        assert s.command("DATA").code == 354
        s.send(b"Subject: cut\r\n\r\nthis message never ends")
    petrel.send_ok(user="half", text="complete one")
    [only] = petrel.messages("half")
    assert b"never ends" not in only.message
