"""A full disk under the spool or under the Maildir: new mail is refused with
a temporary error (never a 250 the server cannot keep), nothing that was
acknowledged is lost or damaged, and service comes back by itself once
there is room again.

Each test mounts its own small tmpfs (root only; skipped otherwise) and
fills it with a filler file while petreld runs on it."""
import errno
import hashlib
import os
import re
import time

import pytest

from harness import Closed, LOCAL_DOMAIN, RawSession, wait_until

# RocksDB preallocates its WAL in blocks of 1.1 x write_buffer_size and,
# after a no-space error, resumes writing only once write_buffer_size is
# free again: the spool file system must hold both. 160 MiB was chosen when
# write_buffer_size was 64 MiB (~70 MiB blocks); it is 16 MiB now
# (src/spool/rocksdb_spool.cpp), which leaves room to spare.
SPOOL_TMPFS_MIB = 160
MAILDIR_TMPFS_MIB = 8


def fill(directory):
    """Write one file until the file system is full (ENOSPC); return its path."""
    path = os.path.join(directory, "filler")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for chunk in (1 << 20, 4096, 1):
            block = b"\0" * chunk
            while True:
                try:
                    if os.write(fd, block) < chunk:
                        break
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    return path


def free_bytes(directory):
    st = os.statvfs(directory)
    return st.f_bavail * st.f_frsize


def numbered_message(tag, n, size=16 * 1024):
    """A message whose body is derived from (tag, n) and carries its own
    checksum, so a delivered copy can be checked byte for byte."""
    seed = f"{tag}-{n}".encode()
    lines = [hashlib.sha256(seed + str(i).encode()).hexdigest() for i in range(size // 66 + 1)]
    body = "\r\n".join(lines).encode() + b"\r\n"
    return (f"Subject: {tag}-{n}\r\nX-Body-SHA256: {digest(body)}\r\n\r\n").encode() + body


def digest(data):
    return hashlib.sha256(data).hexdigest()


def send(petrel, user, data):
    """One transaction in its own session; the final reply (250, 452, ...)."""
    with RawSession(petrel.host, petrel.port, timeout=20) as s:
        assert s.reply().code == 220
        assert s.command("EHLO client.test").code == 250
        assert s.command("MAIL FROM:<sender@client.test>").code == 250
        assert s.command(f"RCPT TO:<{user}@{LOCAL_DOMAIN}>").code == 250
        assert s.command("DATA").code == 354
        s.send(data + b".\r\n")
        r = s.reply()
        try:
            s.command("QUIT")
        except (Closed, OSError):
            pass
        return r


def check_delivered_intact(petrel, user, acked):
    """Every acknowledged message is in the Maildir exactly once, byte-exact."""
    msgs = petrel.wait_for_messages(user, len(acked), timeout=30)
    by_subject = {}
    for m in msgs:
        s = re.search(rb"^Subject: (\S+)\r\n", m.message, re.M)
        assert s, m
        by_subject.setdefault(s.group(1).decode(), []).append(m)
    missing = sorted(set(acked) - set(by_subject))
    assert not missing, f"acknowledged but not delivered: {missing}"
    twice = {k: len(v) for k, v in by_subject.items() if len(v) > 1}
    assert not twice, f"delivered more than once: {twice}"
    unacked = sorted(set(by_subject) - set(acked))
    assert not unacked, f"delivered without a 250: {unacked}"
    for subject, [m] in by_subject.items():
        assert digest(m.message) == acked[subject], f"{subject} delivered damaged"


# "16M": refusals start when the reserve is reached, before the spool's
# database meets ENOSPC. "0": no reserve, RocksDB runs into the full disk
# itself and petreld must survive that and recover (it reopens the spool).
@pytest.mark.parametrize("reserve", ["16M", "0"], ids=["with_reserve", "without_reserve"])
def test_full_spool_gets_452_4_3_1_loses_nothing_and_recovers(small_tmpfs, start_petrel, reserve):
    mnt = small_tmpfs("spool", SPOOL_TMPFS_MIB)
    petrel = start_petrel("--spool-min-free", reserve, spool=mnt / "spool")
    acked = {}                                   # subject -> sha256 of what was sent
    for n in range(5):
        data = numbered_message("before", n)
        r = send(petrel, "disk", data)
        assert r.code == 250, r
        acked[f"before-{n}"] = digest(data)
    petrel.wait_for_messages("disk", 5)

    filler = fill(str(mnt))
    assert free_bytes(str(mnt)) < 64 * 1024, free_bytes(str(mnt))

    # RocksDB still has room in the WAL block it preallocated, so send
    # until the first refusal (bounded); each 250 must be kept.
    refusals = []
    for n in range(150):
        data = numbered_message("full", n, size=1 << 20)
        r = send(petrel, "disk", data)
        if r.code == 250:                     # went into space RocksDB had reserved
            acked[f"full-{n}"] = digest(data)
            continue
        refusals.append((r.code, r.enhanced, r.text))
        if len(refusals) == 5:
            break
    print(f"spool full: {len(acked) - 5} message(s) still accepted, then refusals {refusals[:2]}")
    assert refusals, "150 messages of 1 MiB accepted on a full spool"
    for code, enhanced, text in refusals:
        assert (code, enhanced) == (452, "4.3.1"), (code, enhanced, text)
    assert petrel.proc.poll() is None, "petreld died on a full spool"
    with petrel.raw() as s:                       # commands that need no disk still work
        assert s.command("EHLO client.test").code == 250
        assert s.command("NOOP").code == 250

    os.unlink(filler)
    t0 = time.monotonic()
    attempts = []

    def accepted_again():
        n = len(attempts)
        data = numbered_message("after", n)
        try:
            r = send(petrel, "disk", data)
        except (Closed, OSError):
            if wait_until(lambda: petrel.proc.poll() is not None, 5):
                return "died"                 # closed because the process went away
            raise
        attempts.append(r.code)
        if r.code == 250:
            acked[f"after-{n}"] = digest(data)
            return True
        assert r.code in (451, 452), r
        return False

    outcome = wait_until(accepted_again, 20, interval=0.5)
    if outcome == "died":
        status = petrel.proc.returncode
        petrel.restart()                      # same spool: is anything acknowledged lost?
        check_delivered_intact(petrel, "disk", acked)
        pytest.fail(f"petreld died (exit status {status}) on the first message after the space "
                    f"came back; after a restart all {len(acked)} acknowledged messages were "
                    f"delivered intact")
    assert outcome, f"still refused 20 s after the space came back: {attempts}"
    print(f"space back: first 250 after {time.monotonic() - t0:.1f}s, replies {attempts}")
    for n in range(len(attempts), len(attempts) + 5):
        data = numbered_message("after", n)
        r = send(petrel, "disk", data)
        assert r.code == 250, r
        acked[f"after-{n}"] = digest(data)

    check_delivered_intact(petrel, "disk", acked)
    log = petrel.log_text()
    assert "result=not-stored" in log
    assert petrel.stop() == 0


def test_full_maildir_defers_delivery_and_delivers_everything_once_there_is_room(
        small_tmpfs, start_petrel, tmp_path):
    mnt = small_tmpfs("mail", MAILDIR_TMPFS_MIB)
    config = tmp_path / "retry.toml"
    config.write_text('[delivery]\nretry_intervals = ["1s"]\n')
    petrel = start_petrel("--config", str(config), maildir=mnt / "maildir")
    filler = fill(str(mnt))

    acked = {}
    for n in range(5):
        data = numbered_message("deferred", n, size=32 * 1024)
        r = send(petrel, "full", data)
        assert r.code == 250, r                  # the spool has room: accepted
        acked[f"deferred-{n}"] = digest(data)
    assert wait_until(lambda: petrel.log_text().count("result=deferred") >= 10, 15), \
        "no two rounds of deferred deliveries within 15 s"
    deferred = [ln for ln in petrel.log_text().splitlines() if "result=deferred" in ln]
    print(f"maildir full: {len(deferred)} deferred attempts, e.g. {deferred[0]}")
    assert petrel.message_files("full") == []   # nothing half-written in new/
    assert petrel.proc.poll() is None

    os.unlink(filler)
    t0 = time.monotonic()
    check_delivered_intact(petrel, "full", acked)
    print(f"space back: all delivered within {time.monotonic() - t0:.1f}s")
    tmp = os.path.join(petrel.mailbox("full"), "tmp")
    assert not os.path.isdir(tmp) or os.listdir(tmp) == [], os.listdir(tmp)
    assert petrel.stop() == 0
