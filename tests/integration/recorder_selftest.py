"""A check of recorder.py on its own, without petreld (smtplib and raw
sockets as the sender). Run as root (it binds 127.0.0.x:25):

    /usr/bin/python3 tests/integration/recorder_selftest.py

Not collected by pytest (no test_ prefix): it tests the test tool, and
runs in about three seconds.
"""
import smtplib
import socket
import threading
import time

from recorder import Connection, Recorder, SynCounter, max_concurrency, max_in_window

A = "127.0.0.91"     # addresses no test of the suite uses


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print(f"ok  {what}")


def figures():
    check(max_in_window([]) == 0, "max_in_window of nothing is 0")
    check(max_in_window([0.0, 0.1, 0.2, 1.0, 1.05]) == 4, "max_in_window counts a half-open window")
    check(max_in_window([i * 0.1 for i in range(11)]) == 10, "eleven events 0.1 s apart: ten in a second")
    c = [Connection(1, (), 0.0, 1.0), Connection(2, (), 0.5, 2.0), Connection(3, (), 1.0, 3.0),
         Connection(4, (), 1.005, 1.5)]
    check(max_concurrency(c[:3]) == 2, "a connection ending as the next opens does not overlap it")
    late = Connection(5, (), 0.99, 1.5)           # opened 10 ms before c[0] ended
    check(max_concurrency([c[0], late]) == 2 and max_concurrency([c[0], late], slack=0.02) == 1,
          "slack: shorter overlaps ignored")
    check(max_concurrency([Connection(1, (), 0.0, 1.0), Connection(2, (), 0.5, 0.501)], slack=0.01) == 2,
          "a connection shorter than the slack still counts inside another")
    check(max_concurrency(c) == 3, "three open at 1.2")
    check(max_concurrency([Connection(1, (), 0.0, None)], now=5.0) == 1, "an open connection counts")


def accept_mode():
    with Recorder(A) as mx:
        t0 = time.monotonic()
        for n in range(2):                  # two connections one after the other, three messages each
            with smtplib.SMTP(A, 25, local_hostname="client.test", timeout=5) as c:
                for i in range(3):
                    c.sendmail(f"s{n}@client.test", [f"u{n}{i}@far.test", "other@far.test"],
                               b"Subject: x\r\n\r\n.leading dot\r\nbody\r\n")
        check(mx.message_count() == 6, "six messages recorded")
        check(mx.connection_count() == 2, "two connections recorded")
        m = mx.messages[0]
        check((m.mail_from, m.rcpt_tos) == ("s0@client.test", ["u00@far.test", "other@far.test"]),
              f"envelope recorded: {m}")
        check(m.size == len(b"Subject: x\r\n\r\n..leading dot\r\nbody\r\n"), f"size as sent, dot-stuffed: {m.size}")
        check(t0 <= m.mail_time <= m.time <= time.monotonic(), "monotonic times in order")
        cs = mx.connections
        check(all(c.how == "quit" and c.closed is not None for c in cs), f"closed at QUIT: {cs}")
        check(cs[0].closed <= cs[1].opened, "the first ended before the second opened")
        check(mx.max_concurrency() == 1, "one at a time")
        check(mx.max_messages_in_window(1.0) == 6, "six within a second")
        check(mx.first_message_time() <= mx.last_message_time(), "first and last message times")
        check(len(mx.recipients()) == 12, "recipients listed per message")
        # three at once, held open
        clients = [smtplib.SMTP(A, 25, local_hostname="client.test", timeout=5) for _ in range(3)]
        time.sleep(0.1)
        check(mx.max_concurrency() == 3, "three open at once")
        for c in clients:
            c.quit()
        time.sleep(0.1)
        check(all(c.closed is not None for c in mx.connections), "all closed after QUIT")
        check(mx.max_concurrency() == 3, "the maximum stays 3")
        # pipelined commands, and a client that vanishes mid-session
        with socket.create_connection((A, 25), timeout=5) as s:
            s.recv(1000)
            s.sendall(b"EHLO x\r\nMAIL FROM:<p@x>\r\nRCPT TO:<q@y>\r\nDATA\r\n")
            buf = b""
            while b"354" not in buf:
                buf += s.recv(1000)
            s.sendall(b"hi\r\n.\r\nQUIT\r\n")
            while b"221" not in buf:
                buf += s.recv(1000)
        check(mx.message_count() == 7, "a pipelined transaction recorded")
        s = socket.create_connection((A, 25), timeout=5)
        s.recv(1000)
        s.close()
        time.sleep(0.1)
        check(mx.connections[-1].how == "eof", "a vanished client: closed at EOF")
        print(mx.summary(limit=3))


def quit_then_reconnect():
    """A sender that says QUIT and connects again at once, without waiting
    for the 221: never seen with two connections open."""
    with Recorder(A) as mx:
        for _ in range(200):
            s = socket.create_connection((A, 25), timeout=5)
            buf = b""
            while b"\r\n" not in buf:
                buf += s.recv(1000)
            s.sendall(b"QUIT\r\n")
            s.close()
        time.sleep(0.2)
        check(mx.connection_count() == 200, "200 connections")
        check(mx.max_concurrency() == 1, f"QUIT then connect: one at a time (seen {mx.max_concurrency()})")
        s = socket.create_connection((A, 25), timeout=5)     # and a true overlap is seen
        t = socket.create_connection((A, 25), timeout=5)
        time.sleep(0.05)
        s.close(), t.close()
        time.sleep(0.05)
        check(mx.max_concurrency() == 2, "two open at once are seen as two")


def tarpit_mode():
    threads = threading.active_count()
    mx = Recorder(A, mode="tarpit").start()
    s = socket.create_connection((A, 25), timeout=0.5)
    try:
        s.recv(100)
        check(False, "the tarpit said something")
    except socket.timeout:
        check(True, "the tarpit accepts and says nothing for 0.5 s")
    check(mx.connection_count() == 1 and mx.connections[0].closed is None, "its connection is open")
    t = time.monotonic()
    mx.stop()
    check(time.monotonic() - t < 1.0, f"stop() is quick ({time.monotonic() - t:.3f} s)")
    s.settimeout(2)
    check(s.recv(100) == b"", "stop() closed the held connection (EOF)")
    s.close()
    check(mx.connections[0].how == "stopped", "recorded as closed by stop()")
    check(threading.active_count() == threads, "no thread left behind")
    try:
        socket.create_connection((A, 25), timeout=1).close()
        check(False, "still listening after stop()")
    except ConnectionRefusedError:
        check(True, "nothing listens after stop()")
    # closed by the client
    with Recorder(A, mode="tarpit") as mx:
        socket.create_connection((A, 25), timeout=1).close()
        time.sleep(0.1)
        check(mx.connections[0].how == "eof" and not mx.connections[0].greeted, "a tarpit connection ends at EOF")


def reply_mode():
    tss = "421 4.7.0 [TSS04] Messages from 127.0.0.1 temporarily deferred"
    with Recorder(A, reply=tss, reply_at="MAIL", reply_first=1) as mx:
        with smtplib.SMTP(A, 25, local_hostname="client.test", timeout=5) as c:
            try:
                c.sendmail("a@client.test", ["b@far.test"], b"Subject: 1\r\n\r\n1\r\n")
                check(False, "the first transaction was accepted")
            except smtplib.SMTPSenderRefused as e:
                check(e.smtp_code == 421 and b"[TSS04]" in e.smtp_error, f"421 [TSS04] at MAIL: {e}")
            except smtplib.SMTPServerDisconnected:
                check(True, "421 at MAIL (smtplib saw the close)")
        check(mx.connections[0].how == "421", "the 421 closed the connection")
        with smtplib.SMTP(A, 25, local_hostname="client.test", timeout=5) as c:
            c.sendmail("a@client.test", ["b@far.test"], b"Subject: 2\r\n\r\n2\r\n")
        check(mx.message_count() == 1, "the second transaction accepted")
        [r] = mx.refusals
        check(r.verb == "MAIL" and r.reply == tss, "the refusal recorded")

    with Recorder(A, reply="450 4.2.0 Mailbox busy", reply_at="RCPT", reply_for=0.5) as mx:
        with smtplib.SMTP(A, 25, local_hostname="client.test", timeout=5) as c:
            try:
                c.sendmail("a@client.test", ["b@far.test", "c@far.test"], b"Subject: 1\r\n\r\n1\r\n")
                check(False, "accepted during the window")
            except smtplib.SMTPRecipientsRefused as e:
                check(all(v[0] == 450 for v in e.recipients.values()), "450 at RCPT during the window")
            c.rset()
            time.sleep(0.6)
            c.sendmail("a@client.test", ["b@far.test"], b"Subject: 3\r\n\r\n3\r\n")
        check(mx.message_count() == 1 and len(mx.refusals) == 2, "accepted after the window, same connection")

    with Recorder(A, reply="554 5.7.1 Go away", reply_at="CONNECT", reply_first=1) as mx:
        with socket.create_connection((A, 25), timeout=2) as s:
            data = s.recv(100)
            check(data.startswith(b"554 5.7.1"), f"554 instead of the greeting: {data!r}")
            check(s.recv(100) == b"", "then closed")
        with smtplib.SMTP(A, 25, local_hostname="client.test", timeout=5) as c:
            c.noop()
        check(mx.connections[1].greeted and not mx.connections[0].greeted, "the second connection greeted")

    with Recorder(A) as mx:                     # switched at run time
        mx.set_mode("reply", reply="452 4.3.1 Full", reply_at="DATA")
        with smtplib.SMTP(A, 25, local_hostname="client.test", timeout=5) as c:
            try:
                c.sendmail("a@client.test", ["b@far.test"], b"x\r\n")
                check(False, "accepted")
            except smtplib.SMTPDataError as e:
                check(e.smtp_code == 452, "452 after the content")
            mx.set_mode("accept")
            c.sendmail("a@client.test", ["b@far.test"], b"x\r\n")
        check(mx.message_count() == 1, "accepted after set_mode('accept')")


def reset_and_refuse():
    with Recorder(A, mode="reset") as mx:
        try:   # the reset may come before connect() has returned
            with socket.create_connection((A, 25), timeout=2) as s:
                got = s.recv(100)
                check(got == b"", f"reset mode: EOF or reset, got {got!r}")
        except ConnectionResetError:
            check(True, "reset mode: the connection is reset")
        time.sleep(0.05)
        check(mx.connection_count() == 1 and mx.connections[0].how == "rst-sent", "the reset recorded")
    with Recorder(A, mode="refuse") as mx, SynCounter(A) as syns:
        for _ in range(3):
            try:
                socket.create_connection((A, 25), timeout=1).close()
                check(False, "refuse mode listens")
            except ConnectionRefusedError:
                pass
        check(True, "refuse mode: connection refused")
        check(mx.connection_count() == 0, "refuse mode records nothing")
        if syns.available:
            check(syns.count() == 3, f"SynCounter counted 3 attempts ({syns.count()})")
        else:
            print(f"--  SynCounter unavailable here: {syns.error}")
    import subprocess
    out = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    check("petrel_syn_" not in out, "SynCounter's table is gone")


def two_at_once():
    threads = threading.active_count()
    with Recorder(A) as one, Recorder("127.0.0.92", mode="tarpit") as two:
        check(threading.active_count() == threads + 1, "two recorders share one loop thread")
        smtplib.SMTP(A, 25, timeout=5).quit()
        socket.create_connection(("127.0.0.92", 25), timeout=1).close()
        time.sleep(0.1)
        check(one.connection_count() == 1 and two.connection_count() == 1, "each records its own")
    check(threading.active_count() == threads, "the loop thread ends with the last recorder")


if __name__ == "__main__":
    start = time.monotonic()
    figures()
    accept_mode()
    quit_then_reconnect()
    tarpit_mode()
    reply_mode()
    reset_and_refuse()
    two_at_once()
    print(f"all recorder checks passed in {time.monotonic() - start:.1f} s")
