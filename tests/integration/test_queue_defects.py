"""Defects of the old queue, one test each, pinned down against the real
petreld and receivers on 127.0.0.7x that record every transaction:

- delete and hold of a message in flight take effect when its attempt ends
  (a waiting one is never sent; a held one waits for `release`);
- a spool read error is retried, never taken for a deletion;
- a bounce that cannot be stored leaves its recipient pending;
- a double bounce that fails is not bounced again;
- a remote 250 is recorded (synced) when it happens, so a crash while
  another destination of the same message stalls does not send it twice.

The receiver answers the first DATA of its life late (it "stalls" until
released or a deadline), which keeps a message on the wire while the test
acts on it; every other transaction is answered at once.
"""
import asyncio
import json
import os
import re
import smtplib
import subprocess
import threading
import time

import pytest

from harness import LOCAL_DOMAIN, PETRELD, free_port, queue_id, wait_until

PETREL = os.path.join(os.path.dirname(PETRELD), "petrel")
ACCEPT = "250 2.0.0 Ok: queued"
TRY_LATER = "451 4.3.0 Try again later"
NO_SUCH_USER = "550 5.1.1 No such user here"


# --------------------------------------------------------------------------
# a receiver that can stall its first transaction

class Receiver:
    """aiosmtpd on HOST:free port. The first DATA gets `first_reply`,
    after waiting up to `stall` seconds (or until release()); every later
    one gets `reply` at once. `rcpt_reply`: every RCPT gets it instead of
    a 250. Records (subject, mail_from, rcpts, content, reply) per
    transaction."""

    def __init__(self, host, stall=0.0, first_reply=ACCEPT, reply=ACCEPT, rcpt_reply=None):
        from aiosmtpd.controller import Controller  # skip cleanly where it is missing

        self.host = host
        self.port = free_port(host)
        self.stall, self.first_reply, self.reply, self.rcpt_reply = stall, first_reply, reply, rcpt_reply
        self.stalling = threading.Event()       # the first DATA is being held
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._data_seen = 0
        self.transactions = []                  # dicts, in order of their final reply
        self.refused_rcpts = []
        self._controller = Controller(self, hostname=host, port=self.port, ready_timeout=5)

    def __enter__(self):
        self._controller.start()
        return self

    def __exit__(self, *exc):
        self._release.set()
        self._controller.stop()

    def route(self):
        return f"smtp:[{self.host}]:{self.port}"

    def release(self):
        self._release.set()

    # -- records ---------------------------------------------------------
    def subjects(self, accepted_only=False):
        with self._lock:
            return [t["subject"] for t in self.transactions if not accepted_only or t["reply"].startswith("250")]

    def contents(self, accepted_only=False):
        with self._lock:
            return [t["content"] for t in self.transactions if not accepted_only or t["reply"].startswith("250")]

    def rcpts(self, accepted_only=True):
        with self._lock:
            return [r for t in self.transactions if not accepted_only or t["reply"].startswith("250")
                    for r in t["rcpts"]]

    def summary(self):
        with self._lock:
            brief = [{k: v for k, v in t.items() if k != "content"} for t in self.transactions]
            return (f"receiver {self.host}:{self.port}: transactions {brief}, "
                    f"refused RCPT {self.refused_rcpts}")

    # -- aiosmtpd handler hooks (its event loop thread) -------------------
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            with self._lock:
                self.refused_rcpts.append(address)
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self._data_seen += 1
            first = self._data_seen == 1
        reply = self.first_reply if first else self.reply
        if first and self.stall > 0:
            self.stalling.set()
            deadline = time.monotonic() + self.stall
            while not self._release.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        m = re.search(rb"^Subject: ([^\r\n]*)", envelope.content or b"", re.M)
        with self._lock:
            self.transactions.append({"subject": m.group(1).decode() if m else "", "reply": reply,
                                      "mail_from": envelope.mail_from, "rcpts": list(envelope.rcpt_tos),
                                      "content": envelope.content or b""})
        return reply


# --------------------------------------------------------------------------
# petreld, its CLI, and a client

def config_file(tmp_path, text):
    path = tmp_path / "petreld.toml"
    path.write_text(text)
    return str(path)


def relay(start_petrel, tmp_path, *flags, config="", retry="1s", **kw):
    """petreld relaying for 127.0.0.0/8, retrying after `retry`, one
    connection per site ([shaping.default] connection_limit = 1) unless
    config says otherwise."""
    text = config or "[shaping.default]\nconnection_limit = 1\n"
    return start_petrel("--config", config_file(tmp_path, text), "--trusted-network", "127.0.0.0/8",
                        "--retry-intervals", retry, *flags, **kw)


def petrel_cli(server, *args):
    if not os.access(PETREL, os.X_OK):
        pytest.fail(f"no petrel CLI at {PETREL} (build the target petrel)")
    r = subprocess.run([PETREL, "queue", "--spool", server.spool, *args], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=30)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def queued(server):
    """`petrel queue --json list`, by queue ID."""
    status, out, err = petrel_cli(server, "--json", "list")
    assert status == 0, err
    return {m["id"]: m for m in json.loads(out)}


def per_id_json(server, command, *ids):
    status, out, err = petrel_cli(server, "--json", command, *ids)
    assert status == 0, (status, out, err)
    return json.loads(out)


def send(server, sender, recipients, subject, body="hello\r\n"):
    """One transaction; returns the queue ID of the 250."""
    with smtplib.SMTP(server.host, server.port, local_hostname="client.test", timeout=20) as c:
        c.ehlo()
        assert c.mail(sender)[0] == 250
        for r in recipients:
            assert c.rcpt(r)[0] == 250, r
        code, text = c.data(f"From: <{sender or 'mailer-daemon@client.test'}>\r\nSubject: {subject}\r\n"
                            f"\r\n{body}".encode())
        assert code == 250, (code, text)
    qid = queue_id(text.decode())
    assert qid, text
    return qid


# --------------------------------------------------------------------------
# delete and hold of a message in flight

def test_deleted_in_flight_message_is_not_delivered_afterwards_and_a_waiting_one_is_never_sent(
        start_petrel, tmp_path):
    with Receiver("127.0.0.71", stall=20, first_reply=TRY_LATER) as mx:
        server = relay(start_petrel, tmp_path, "--transport", f"far.test={mx.route()}")
        on_wire = send(server, f"me@{LOCAL_DOMAIN}", ["bob@far.test"], "on-the-wire")
        assert mx.stalling.wait(10), mx.summary()
        waiting = send(server, f"me@{LOCAL_DOMAIN}", ["bob@far.test"], "waiting")
        send(server, f"me@{LOCAL_DOMAIN}", ["bob@far.test"], "not-deleted")
        # Both are being attempted: one on the wire, one in the site's ready
        # queue behind it (one connection at a time).
        assert wait_until(lambda: all(queued(server).get(q, {}).get("in_flight") for q in (on_wire, waiting)), 10), \
            queued(server)

        answer = per_id_json(server, "delete", on_wire, waiting)
        assert sorted(answer["done"]) == sorted([on_wire, waiting]), answer
        assert sorted(answer["in_flight"]) == sorted([on_wire, waiting]), answer
        assert answer["unknown"] == [], answer

        mx.release()                 # the message on the wire gets its 451 now
        assert wait_until(lambda: "not-deleted" in mx.subjects(accepted_only=True), 15), mx.summary()
        assert wait_until(lambda: queued(server) == {}, 10), queued(server)
        time.sleep(3)                # a retry of the deleted one would come after 1 s
        assert mx.subjects() == ["on-the-wire", "not-deleted"], mx.summary()
        assert mx.subjects(accepted_only=True) == ["not-deleted"], mx.summary()
        assert queued(server) == {}


def test_held_in_flight_message_waits_for_release_and_is_then_delivered(start_petrel, tmp_path):
    with Receiver("127.0.0.72", stall=20, first_reply=TRY_LATER) as mx:
        server = relay(start_petrel, tmp_path, "--transport", f"far.test={mx.route()}")
        on_wire = send(server, f"me@{LOCAL_DOMAIN}", ["bob@far.test"], "on-the-wire")
        assert mx.stalling.wait(10), mx.summary()
        waiting = send(server, f"me@{LOCAL_DOMAIN}", ["bob@far.test"], "waiting")
        assert wait_until(lambda: all(queued(server).get(q, {}).get("in_flight") for q in (on_wire, waiting)), 10), \
            queued(server)

        status, out, err = petrel_cli(server, "hold", on_wire)
        assert status == 0, err
        assert f"{on_wire}: held (being delivered now: takes effect when this attempt ends)" in out, out
        answer = per_id_json(server, "hold", waiting)
        assert answer["done"] == [waiting] and answer["in_flight"] == [waiting], answer

        mx.release()
        assert wait_until(lambda: all(m["held"] and not m["in_flight"] for m in queued(server).values())
                          and len(queued(server)) == 2, 10), queued(server)
        time.sleep(3)                # not retried while held (retry interval 1 s)
        assert mx.subjects() == ["on-the-wire"], mx.summary()
        held = queued(server)
        assert set(held) == {on_wire, waiting} and all(m["held"] for m in held.values()), held
        assert all(r["state"] == "pending" for m in held.values() for r in m["recipients"]), held

        answer = per_id_json(server, "release", on_wire, waiting)
        assert sorted(answer["done"]) == sorted([on_wire, waiting]), answer
        assert wait_until(lambda: sorted(mx.subjects(accepted_only=True)) == ["on-the-wire", "waiting"], 15), \
            mx.summary() + "\n" + json.dumps(queued(server), indent=1)
        assert wait_until(lambda: queued(server) == {}, 10), queued(server)


# --------------------------------------------------------------------------
# spool read errors

# Fails pread() on RocksDB's blob files (where contents of 64 KiB and more
# live once flushed) with EIO while the file named by PETREL_TEST_EIO_FLAG
# exists: a disk that cannot be read, without touching anything else.
EIO_SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static int failing(int fd) {
  const char *flag = getenv("PETREL_TEST_EIO_FLAG");
  if (!flag || access(flag, F_OK) != 0) return 0;
  char link[64], path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n < 6) return 0;
  path[n] = 0;
  return strcmp(path + n - 5, ".blob") == 0;
}

ssize_t pread(int fd, void *buf, size_t count, off_t offset) {
  static ssize_t (*real)(int, void *, size_t, off_t);
  if (!real) real = (ssize_t (*)(int, void *, size_t, off_t))dlsym(RTLD_NEXT, "pread");
  if (failing(fd)) { errno = EIO; return -1; }
  return real(fd, buf, count, offset);
}

ssize_t pread64(int fd, void *buf, size_t count, off64_t offset) {
  static ssize_t (*real)(int, void *, size_t, off64_t);
  if (!real) real = (ssize_t (*)(int, void *, size_t, off64_t))dlsym(RTLD_NEXT, "pread64");
  if (failing(fd)) { errno = EIO; return -1; }
  return real(fd, buf, count, offset);
}
"""


def eio_shim(tmp_path):
    source = tmp_path / "eio_shim.c"
    source.write_text(EIO_SHIM)
    library = tmp_path / "eio_shim.so"
    try:
        r = subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", str(library), str(source), "-ldl"],
                           capture_output=True, timeout=60)
    except FileNotFoundError:
        pytest.skip("no C compiler (cc) to build the EIO fault injector")
    if r.returncode != 0:
        pytest.skip(f"cannot build the EIO fault injector: {r.stderr.decode(errors='replace')}")
    return str(library)


def spool_errors(server):
    status, out, err = petrel_cli(server, "sites")
    assert status == 0, err
    m = re.search(r"spool errors: (\d+) \((.*)\)", out)
    return (int(m.group(1)), m.group(2)) if m else (0, "")


# ~290 KiB: over RocksDB's min_blob_size (64 KiB), so kept in a blob file once flushed
BIG_BODY = "".join(f"line {n:06d} of a message stored in a blob file\r\n" for n in range(6000))


def unreadable_blobs(tmp_path, monkeypatch):
    """petreld started from now on has the EIO shim; returns the flag file
    that turns the errors on while it exists."""
    preload = eio_shim(tmp_path)
    if os.environ.get("PETREL_SANITIZED"):
        # ASan's runtime must come first of all libraries, before the shim.
        asan = subprocess.run(["cc", "-print-file-name=libasan.so"], capture_output=True, text=True).stdout.strip()
        if not os.path.isabs(asan):
            pytest.skip("cannot find libasan.so to preload before the EIO fault injector")
        preload = asan + ":" + preload
    monkeypatch.setenv("LD_PRELOAD", preload)
    flag = tmp_path / "eio-now"
    monkeypatch.setenv("PETREL_TEST_EIO_FLAG", str(flag))
    return flag


def assert_content_in_a_blob_file(server):
    # RocksDB flushes what it recovers from its log at start: the content
    # is now in a blob file, read from disk (no blob cache) when needed.
    blobs = [n for n in os.listdir(server.spool) if n.endswith(".blob")]
    assert blobs, f"no blob file in the spool after the restart: {sorted(os.listdir(server.spool))}"


def test_spool_read_error_is_retried_not_taken_for_a_deletion(start_petrel, tmp_path, monkeypatch):
    # A large message for a local mailbox that cannot be made yet (a file
    # is in its way) waits in the queue; after a restart its content cannot
    # be read for a while.
    flag = unreadable_blobs(tmp_path, monkeypatch)
    maildir = tmp_path / "mail"
    (maildir / LOCAL_DOMAIN).mkdir(parents=True)
    blocker = maildir / LOCAL_DOMAIN / "ed"
    blocker.write_text("not a Maildir")
    server = start_petrel("--retry-intervals", "1s", maildir=maildir)
    qid = send(server, "sender@client.test", [f"ed@{LOCAL_DOMAIN}"], "blob", body=BIG_BODY)
    assert wait_until(lambda: queued(server).get(qid, {}).get("attempts", 0) >= 1, 10), queued(server)

    flag.write_text("")
    server.restart()
    assert_content_in_a_blob_file(server)
    assert wait_until(lambda: spool_errors(server)[0] >= 1, 10), server.log_text()[-3000:]
    count, last = spool_errors(server)
    assert qid in last, last

    # Not a deletion: still queued, recipient pending, never "gone".
    m = queued(server).get(qid)
    assert m and m["recipients"] == [{"address": f"ed@{LOCAL_DOMAIN}", "state": "pending"}], m
    assert "no longer in the spool" not in server.log_text()
    assert "result=delivered" not in server.log_text()

    # The disk reads again and the mailbox can be made: delivered, intact.
    flag.unlink()
    blocker.unlink()
    [delivered] = server.wait_for_messages("ed", 1, timeout=25)
    assert BIG_BODY.encode() in delivered.message
    assert wait_until(lambda: queued(server) == {}, 10), queued(server)


def test_spool_read_error_on_the_way_to_another_server_is_retried_not_taken_for_a_deletion(
        start_petrel, tmp_path, monkeypatch):
    # The same for remote mail, whose content a connection reads from the
    # spool when it takes the job.
    flag = unreadable_blobs(tmp_path, monkeypatch)
    with Receiver("127.0.0.78", first_reply=TRY_LATER) as mx:
        server = relay(start_petrel, tmp_path, "--transport", f"far.test={mx.route()}", retry="1h")
        qid = send(server, f"me@{LOCAL_DOMAIN}", ["bob@far.test"], "blob", body=BIG_BODY)
        assert wait_until(lambda: queued(server).get(qid, {}).get("attempts", 0) >= 1, 10), queued(server)

        flag.write_text("")
        server.restart()
        assert_content_in_a_blob_file(server)
        assert petrel_cli(server, "flush")[0] == 0
        assert wait_until(lambda: "spool read failed" in queued(server).get(qid, {}).get("last_error", ""), 10), \
            queued(server)
        m = queued(server)[qid]
        assert m["recipients"] == [{"address": "bob@far.test", "state": "pending"}], m
        assert mx.subjects() == ["blob"], mx.summary()        # only the first attempt's 451

        flag.unlink()                # the connection's next read works: sent
        assert wait_until(lambda: mx.subjects(accepted_only=True) == ["blob"], 20), \
            mx.summary() + "\n" + json.dumps(queued(server), indent=1)
        assert wait_until(lambda: queued(server) == {}, 10), queued(server)
        assert BIG_BODY.encode() in mx.contents(accepted_only=True)[0]


# --------------------------------------------------------------------------
# a bounce under a full disk

SPOOL_TMPFS_MIB = 160          # RocksDB's WAL preallocation needs ~70 MiB (see test_disk_full.py)


def test_bounce_that_cannot_be_stored_leaves_the_recipient_pending_until_it_can(
        small_tmpfs, start_petrel, tmp_path):
    mnt = small_tmpfs("spool", SPOOL_TMPFS_MIB)
    with Receiver("127.0.0.77", stall=20, first_reply=NO_SUCH_USER, reply=NO_SUCH_USER) as mx:
        server = relay(start_petrel, tmp_path, "--transport", f"far.test={mx.route()}",
                       "--spool-min-free", "16M", spool=mnt / "spool")
        qid = send(server, f"alice@{LOCAL_DOMAIN}", ["bob@far.test"], "to-be-refused")
        assert mx.stalling.wait(10), mx.summary()

        # Below the reserve: the spool stores nothing new, the bounce included.
        st = os.statvfs(str(mnt))
        filler = mnt / "filler"
        with open(filler, "wb") as f:
            os.posix_fallocate(f.fileno(), 0, st.f_bavail * st.f_frsize - (8 << 20))
        with smtplib.SMTP(server.host, server.port, local_hostname="client.test", timeout=20) as c:
            c.ehlo()
            c.mail("probe@client.test")
            c.rcpt(f"probe@{LOCAL_DOMAIN}")
            code, _ = c.data(b"Subject: probe\r\n\r\nprobe\r\n")
        assert code == 452, f"the spool accepted a message below its reserve ({code})"

        mx.release()                 # the 550 comes back now
        assert wait_until(lambda: "DSN not stored" in server.log_text(), 10), server.log_text()[-3000:]
        time.sleep(2)                # a few more refusals, each with a bounce that cannot be stored
        m = queued(server).get(qid)
        assert m, f"the original left the queue without its bounce: {queued(server)}"
        assert m["recipients"] == [{"address": "bob@far.test", "state": "pending"}], m
        assert m["last_error"].startswith("bounce not stored yet"), m
        assert not server.message_files("alice"), "a bounce arrived while the spool was full"
        assert "dsn qid=" not in server.log_text()

        os.unlink(filler)            # room again: the next refusal's bounce is stored
        [bounce] = server.wait_for_messages("alice", 1, timeout=15)
        assert b"bob@far.test" in bounce.message and b"5.1.1" in bounce.message, bounce
        assert wait_until(lambda: queued(server) == {}, 10), queued(server)
        time.sleep(2)
        assert len(server.message_files("alice")) == 1, "the bounce was sent more than once"
        assert server.log_text().count("dsn qid=") == 1


# --------------------------------------------------------------------------
# a failed double bounce

def test_failed_double_bounce_is_not_bounced_again(start_petrel, tmp_path):
    with Receiver("127.0.0.75", rcpt_reply=NO_SUCH_USER) as mx:
        server = relay(start_petrel, tmp_path, "--transport", f"remote.test={mx.route()}",
                       config='[delivery]\ndouble_bounce = "postmaster@remote.test"\n')
        # A bounce (from <>) that fails makes a double bounce to the
        # postmaster, which fails too: that is where it ends.
        send(server, "", ["bob@remote.test"], "a-bounce")
        assert wait_until(lambda: len(mx.refused_rcpts) >= 2, 15), mx.summary()
        assert wait_until(lambda: queued(server) == {}, 10), queued(server)
        time.sleep(3)                # a loop would make one more every second or so
        assert mx.refused_rcpts == ["bob@remote.test", "postmaster@remote.test"], mx.summary()
        log = server.log_text()
        assert log.count("dsn qid=") == 1, log[-3000:]
        assert "a bounce failed and is dropped" in log
        assert queued(server) == {}


# --------------------------------------------------------------------------
# a remote 250 recorded at once

def test_remote_250_is_recorded_at_once_so_a_crash_does_not_send_it_again(start_petrel, tmp_path):
    with Receiver("127.0.0.73") as fast, Receiver("127.0.0.74", stall=25, first_reply=TRY_LATER) as slow:
        server = relay(start_petrel, tmp_path, "--transport", f"fast.test={fast.route()}",
                       "--transport", f"slow.test={slow.route()}")
        qid = send(server, f"me@{LOCAL_DOMAIN}", ["bob@fast.test", "carol@slow.test"], "two-sites")
        assert slow.stalling.wait(10), slow.summary()
        assert wait_until(lambda: fast.rcpts() == ["bob@fast.test"], 10), fast.summary()

        # The spool says so while the other destination still stalls.
        def bob_recorded():
            m = queued(server).get(qid)
            return m and {r["address"]: r["state"] for r in m["recipients"]} == {
                "bob@fast.test": "delivered", "carol@slow.test": "pending"}
        assert wait_until(bob_recorded, 5), queued(server)
        assert queued(server)[qid]["in_flight"]

        server.kill()
        server.restart()
        assert wait_until(lambda: slow.rcpts() == ["carol@slow.test"], 15), slow.summary()
        assert wait_until(lambda: queued(server) == {}, 10), queued(server)
        time.sleep(1)
        assert fast.rcpts() == ["bob@fast.test"], fast.summary()
