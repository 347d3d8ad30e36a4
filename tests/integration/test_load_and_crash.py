"""Many messages at once, a crash in the middle of them, and shutdown: every
acknowledged message ends up in the Maildir exactly once."""
import os
import re
import signal
import subprocess
import threading
import time

from harness import Closed, LOCAL_DOMAIN, RawSession, free_port, queue_id, wait_until

SMTP_SOURCE = "/usr/sbin/smtp-source"

# smtp-source -l N sends N bytes of payload (CRLFs included) in lines of a
# digit and 77 X's, after its own From/To/Date/Message-Id header block
SOURCE_HEADERS = re.compile(
    rb"^From: <from@x\.test>\r\nTo: <user@local\.test>\r\nDate: [^\r\n]+\r\n"
    rb"Message-Id: <([^>\r\n]+)>\r\n\r\n")


def source_payload_ok(body, length):
    lines = body.split(b"\r\n")
    return (body.endswith(b"\r\n") and len(body) == length + 2
            and all(re.fullmatch(rb"[0-9]X{77}", ln) for ln in lines[:-2])
            and re.fullmatch(rb"[0-9X]X{0,77}", lines[-2]) is not None)


def run_smtp_source(petrel, *args, timeout=120):
    argv = [SMTP_SOURCE, *args, "-M", "client.test", "-f", "from@x.test",
            "-t", f"user@{LOCAL_DOMAIN}", f"{petrel.host}:{petrel.port}"]
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    assert r.returncode == 0, f"{' '.join(argv)}: {r.stdout.decode(errors='replace')[-2000:]}"


def check_source_messages(petrel, count, length):
    msgs = petrel.wait_for_messages("user", count, timeout=60)
    assert len(msgs) == count
    ids, bodies = set(), set()
    for m in msgs:
        assert m.header("Return-Path") == "<from@x.test>"
        h = SOURCE_HEADERS.match(m.message)
        assert h, m
        ids.add(h.group(1))
        bodies.add(m.message[h.end():])
    assert len(ids) == count, f"{count - len(ids)} duplicate Message-Ids"
    assert len(bodies) == 1, "smtp-source bodies are all the same, delivered ones differ"
    body = bodies.pop()
    assert source_payload_ok(body, length), body[:200]


def test_smtp_source_2000_messages_in_20_sessions_all_delivered_byte_exact(petrel):
    run_smtp_source(petrel, "-s", "20", "-m", "2000", "-l", "4096")
    check_source_messages(petrel, 2000, 4096)


def test_smtp_source_reusing_connections_all_delivered(petrel):
    run_smtp_source(petrel, "-d", "-s", "5", "-m", "500", "-l", "1000")
    check_source_messages(petrel, 500, 1000)


# --------------------------------------------------------------------------

class AckingClient(threading.Thread):
    """Sends numbered messages over one connection after another and records
    each one the server acknowledged with 250 ... queued as ID."""

    def __init__(self, petrel, index, stop):
        super().__init__(daemon=True)
        self.petrel, self.index, self.stop = petrel, index, stop
        self.acked = {}          # subject -> queue id
        self.error = None

    def run(self):
        n = 0
        try:
            s = RawSession(self.petrel.host, self.petrel.port, timeout=10)
            assert s.reply().code == 220
            assert s.command("EHLO client.test").code == 250
            while not self.stop.is_set():
                subject = f"crash-{self.index}-{n}"
                n += 1
                s.send(f"MAIL FROM:<c{self.index}@client.test>\r\nRCPT TO:<crash@{LOCAL_DOMAIN}>\r\nDATA\r\n")
                if [s.reply().code for _ in range(3)] != [250, 250, 354]:
                    raise AssertionError("transaction refused")
                s.send(f"Subject: {subject}\r\n\r\n{'body line ' * 40}\r\n.\r\n")
                r = s.reply()
                if r.code == 250:
                    self.acked[subject] = queue_id(r)
        except (Closed, OSError) as e:
            self.error = e           # the server went away: expected


def test_every_acknowledged_message_survives_kill_9(petrel):
    stop = threading.Event()
    clients = [AckingClient(petrel, i, stop) for i in range(4)]
    for c in clients:
        c.start()
    acked = lambda: sum(len(c.acked) for c in clients)  # noqa: E731
    wait_until(lambda: acked() >= 400 or not any(c.is_alive() for c in clients), 20)
    assert acked() >= 400, f"only {acked()} messages acknowledged in 20 s; client errors: " \
                           f"{[repr(c.error) for c in clients]}"
    petrel.proc.send_signal(signal.SIGKILL)
    petrel.proc.wait(5)
    stop.set()
    for c in clients:
        c.join(15)
    acknowledged = {}
    for c in clients:
        acknowledged.update(c.acked)

    petrel.port = None
    petrel.start()                          # same spool and Maildir

    def delivered():
        out = {}
        for m in petrel.messages("crash"):
            s = re.search(rb"\r\nSubject: (crash-\d+-\d+)\r\n", b"\r\n" + m.message)
            if s:
                out.setdefault(s.group(1).decode(), []).append(m.path)
        return out

    wait_until(lambda: set(acknowledged) <= set(delivered()), 30, interval=0.2)
    time.sleep(1)                           # let any duplicate show up too
    got = delivered()
    lost = sorted(set(acknowledged) - set(got))
    duplicates = {k: v for k, v in got.items() if len(v) > 1}
    print(f"acknowledged {len(acknowledged)}, delivered {len(got)} distinct, "
          f"{len(lost)} lost, {len(duplicates)} duplicated, "
          f"{len(set(got) - set(acknowledged))} unacknowledged but delivered")
    assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged messages lost, e.g. " \
                     f"{[(s, acknowledged[s]) for s in lost[:5]]}"
    assert not duplicates, f"{len(duplicates)} messages delivered more than once, e.g. " \
                           f"{list(duplicates.items())[:3]}"


def test_sigterm_exits_0_and_closes_open_sessions(petrel):
    s = petrel.raw()
    assert s.command("EHLO client.test").code == 250
    petrel.proc.send_signal(signal.SIGTERM)
    try:
        petrel.proc.wait(10)
    except subprocess.TimeoutExpired:
        raise AssertionError("petreld still running 10 s after SIGTERM")
    assert petrel.proc.returncode == 0
    s.sock.settimeout(2)
    try:
        r = s.reply()
        assert r.code == 421, r
    except (Closed, OSError):
        pass                                 # closed without a word: acceptable
    s.close()


def test_message_accepted_before_sigterm_is_delivered_by_the_next_start(petrel):
    with petrel.raw() as s:
        assert s.command("EHLO client.test").code == 250
        assert s.command("MAIL FROM:<sender@client.test>").code == 250
        assert s.command(f"RCPT TO:<late@{LOCAL_DOMAIN}>").code == 250
        assert s.command("DATA").code == 354
        s.send(b"Subject: just before shutdown\r\n\r\nhi\r\n.\r\n")
        assert s.reply().code == 250
    assert petrel.stop() == 0
    petrel.port = None
    petrel.start()
    [got] = petrel.wait_for_messages("late", 1)
    assert b"Subject: just before shutdown" in got.message


def logged_queue_ids(petrel):
    """Queue IDs petreld logged as queued. The line is written before the 250
    goes out, so it covers every message a client was told 250 for."""
    ids = set()
    for path in petrel.logs:
        with open(path, "rb") as f:
            ids.update(m.decode() for m in re.findall(rb"message qid=([0-9A-Z]{16}) .*result=queued", f.read()))
    return ids


def delivered_queue_ids(petrel, user):
    """Queue ID -> number of Maildir files for it (names are <t>.P<qid>R<n>.<host>)."""
    counts = {}
    for path in petrel.message_files(user):
        m = re.search(r"\.P([0-9A-Z]{16})R0\.", os.path.basename(path))
        if m:
            counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    return counts


def test_kill_9_during_smtp_source_runs_loses_and_duplicates_nothing(petrel):
    """Three rounds: smtp-source floods, petreld is killed with SIGKILL in the
    middle, restarts on the same spool and Maildir. Every message it queued
    (so every one any client got a 250 for) ends up delivered exactly once."""
    for round_ in range(3):
        before = len(logged_queue_ids(petrel))
        source = subprocess.Popen(
            [SMTP_SOURCE, "-s", "20", "-m", "20000", "-l", "4096", "-M", "client.test",
             "-f", "from@x.test", "-t", f"user@{LOCAL_DOMAIN}", f"{petrel.host}:{petrel.port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            assert wait_until(lambda: len(logged_queue_ids(petrel)) >= before + 1000, 30), \
                "petreld queued fewer than 1000 messages in 30 s"
            petrel.kill()
        finally:
            source.kill()
            source.wait(10)
        petrel.port = free_port()
        petrel.start()
    queued = logged_queue_ids(petrel)
    assert wait_until(lambda: queued <= set(delivered_queue_ids(petrel, "user")), 60, interval=0.2)
    time.sleep(1)                           # let any duplicate show up too
    delivered = delivered_queue_ids(petrel, "user")
    lost = queued - set(delivered)
    duplicated = {q: n for q, n in delivered.items() if n > 1}
    print(f"queued {len(queued)}, delivered {len(delivered)}, lost {len(lost)}, "
          f"duplicated {len(duplicated)}, delivered but never acknowledged {len(set(delivered) - queued)}")
    assert not lost, f"{len(lost)} queued messages lost, e.g. {sorted(lost)[:5]}"
    assert not duplicated, f"{len(duplicated)} delivered twice, e.g. {list(duplicated.items())[:3]}"
