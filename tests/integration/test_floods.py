"""Floods over loopback: thousands of idle sessions cost little memory and
do not stop a normal client, and ten thousand connections opened and dropped
leave no descriptor or memory behind.

Every loop here is bounded in connections and in time; one Python thread
drives all the sockets through a selector."""
import os
import errno
import resource
import selectors
import socket
import time

import pytest

from harness import LOCAL_DOMAIN, wait_until

IDLE_SESSIONS = 5000
IDLE_BUDGET_BYTES = 16 * 1024           # per idle session, beyond kernel socket buffers
CHURN_RATE = 1000                       # connections per second
CHURN_SECONDS = 10
SOURCES = [f"127.0.0.{i}" for i in range(2, 10)]   # spread client ports over 8 addresses


def raise_fd_limit(want):
    """Raise this process's RLIMIT_NOFILE toward want (petreld inherits it).
    Returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Conn:
    """One client connection driven by the selector loop: it runs a script
    of (expect reply code prefix, then send bytes) steps and then either
    stays open (idle) or closes."""

    def __init__(self, sock, script, keep_open):
        self.sock = sock
        self.script = list(script)         # [(expected code prefix, bytes to send after it)]
        self.keep_open = keep_open
        self.buf = b""
        self.done = False
        self.error = None


def open_conn(sel, host, port, source, script, keep_open):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.bind((source, 0))
    err = s.connect_ex((host, port))
    if err not in (0, errno.EINPROGRESS):
        s.close()
        raise OSError(err, f"connect: {errno.errorcode.get(err, err)}")
    c = Conn(s, script, keep_open)
    sel.register(s, selectors.EVENT_READ, c)
    if not c.script:                       # nothing to say or hear: just drop it
        finish(sel, c)
    return c


def finish(sel, c):
    c.done = True
    if not c.keep_open:
        sel.unregister(c.sock)
        c.sock.close()


def close_conn(sel, c):
    c.done = True
    sel.unregister(c.sock)
    c.sock.close()


def on_readable(sel, c):
    """Read what the server sent; on each complete reply (its last line is
    "NNN text"), check the code and send the script's next bytes."""
    try:
        chunk = c.sock.recv(65536)
    except (ConnectionResetError, BrokenPipeError) as e:
        chunk, c.error = b"", e
    if not chunk:
        c.error = c.error or "closed by the server"
        close_conn(sel, c)
        return
    c.buf += chunk
    while c.script and b"\r\n" in c.buf:
        line, c.buf = c.buf.split(b"\r\n", 1)
        if line[3:4] == b"-":
            continue                        # a continuation line of a multi-line reply
        want, then = c.script.pop(0)
        if not line.startswith(want):
            c.error = f"expected {want.decode()}, got {line[:80]!r}"
            close_conn(sel, c)
            return
        if then:
            try:
                c.sock.sendall(then)
            except OSError as e:
                c.error = e
        if not c.script:
            finish(sel, c)
            return


def pump(sel, conns, timeout):
    """Run the selector until every conn is done or timeout passes."""
    deadline = time.monotonic() + timeout
    while any(not c.done for c in conns) and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.1):
            if not key.data.done:
                on_readable(sel, key.data)


def test_5000_idle_sessions_cost_little_and_a_normal_client_is_still_served(start_petrel):
    limit = raise_fd_limit(2 * IDLE_SESSIONS + 1000)
    n = min(IDLE_SESSIONS, limit - 500)   # petreld inherits the same limit
    if n < 1000:
        pytest.skip(f"RLIMIT_NOFILE is {limit} here: too few descriptors for a flood")
    petrel = start_petrel("--max-sessions", str(n + 100), "--max-sessions-per-ip", str(n + 100),
                          "--command-timeout", "5m")
    sel = selectors.DefaultSelector()
    ehlo = [(b"220", b"EHLO flood.client.test\r\n"), (b"250", b"")]

    # warm up the allocator and the I/O thread, then take the baseline
    warm = [open_conn(sel, petrel.host, petrel.port, SOURCES[i % len(SOURCES)], ehlo, False)
            for i in range(200)]
    pump(sel, warm, 10)
    time.sleep(0.5)
    rss0, fd0 = petrel.rss_kib(), petrel.fd_count()

    t0 = time.monotonic()
    held = []
    for batch in range(0, n, 500):
        conns = [open_conn(sel, petrel.host, petrel.port, SOURCES[i % len(SOURCES)], ehlo, True)
                 for i in range(batch, min(n, batch + 500))]
        pump(sel, conns, 20)
        held.extend(conns)
        assert time.monotonic() - t0 < 25, f"only {len(held)} sessions opened in 25 s"
    ready = [c for c in held if c.done and c.error is None]
    opened_in = time.monotonic() - t0
    assert len(ready) == n, f"{n - len(ready)} of {n} sessions did not get to EHLO; " \
                            f"e.g. {[c.error for c in held if c.error][:3]}"
    time.sleep(0.5)
    rss1, fd1 = petrel.rss_kib(), petrel.fd_count()

    # a normal client, meanwhile, is served promptly
    t1 = time.monotonic()
    petrel.send_ok(text="served during an idle flood")
    served_in = time.monotonic() - t1

    per_session = (rss1 - rss0) * 1024 / n
    print(f"\nidle flood: {n} sessions (EHLO done) opened in {opened_in:.1f}s; "
          f"petreld VmRSS {rss0} KiB -> {rss1} KiB = {per_session:.0f} bytes per idle session; "
          f"descriptors {fd0} -> {fd1}; a normal client sent and got delivery in {served_in:.2f}s")
    assert fd1 - fd0 == n, (fd0, fd1, n)
    assert served_in < 5, served_in
    # Under ASan (make test-asan) every allocation carries redzones: the
    # figure is printed but only the release build is held to the budget.
    if not os.environ.get("PETREL_SANITIZED"):
        assert per_session <= IDLE_BUDGET_BYTES, f"{per_session:.0f} bytes per idle session"

    for c in held:
        sel.unregister(c.sock)
        c.sock.close()
    sel.close()
    assert wait_until(lambda: petrel.fd_count() <= fd0, 20, interval=0.2), \
        f"descriptors still {petrel.fd_count()} (baseline {fd0}) 20 s after the idle clients left"
    print(f"after they left: descriptors {petrel.fd_count()}, VmRSS {petrel.rss_kib()} KiB")
    assert petrel.proc.poll() is None
    assert petrel.stop() == 0


def churn_script(i):
    """Three kinds of short-lived connection, in turn: one that says QUIT,
    one that drops straight after connecting, one that drops in the middle
    of a message."""
    kind = i % 3
    if kind == 0:
        return [(b"220", b"QUIT\r\n"), (b"221", b"")]
    if kind == 1:
        return []
    return [(b"220", b"EHLO churn.client.test\r\nMAIL FROM:<churn@client.test>\r\n"
                     b"RCPT TO:<churn@" + LOCAL_DOMAIN.encode() + b">\r\nDATA\r\n"),
            (b"250", b""), (b"250", b""), (b"250", b""),
            (b"354", b"Subject: cut short\r\n\r\nthis message never ends"), ]


def churn(petrel, seconds, rate):
    """Open rate connections per second for seconds; returns (opened, errors,
    seconds it took)."""
    sel = selectors.DefaultSelector()
    opened, errors = 0, []
    t0 = time.monotonic()
    for second in range(seconds):
        start = t0 + second
        conns = [open_conn(sel, petrel.host, petrel.port, SOURCES[i % len(SOURCES)], churn_script(i), False)
                 for i in range(rate)]
        opened += len(conns)
        pump(sel, conns, max(0.2, start + 1 - time.monotonic()))
        pump(sel, conns, 5)                 # the stragglers, bounded
        for c in conns:
            if not c.done:
                sel.unregister(c.sock)
                c.sock.close()
                errors.append("no reply in time")
            elif c.error and c.script:
                errors.append(c.error)
        pause = start + 1 - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    sel.close()
    return opened, errors, time.monotonic() - t0


def test_10000_connections_opened_and_dropped_leave_no_descriptor_or_memory_behind(start_petrel):
    raise_fd_limit(8192)
    petrel = start_petrel("--max-sessions", "5000", "--max-sessions-per-ip", "5000")
    churn(petrel, 2, CHURN_RATE)           # warm-up round: allocator arenas, listen queue
    time.sleep(1)
    fd0, rss0 = petrel.fd_count(), petrel.rss_kib()

    opened, errors, took = churn(petrel, CHURN_SECONDS, CHURN_RATE)
    assert petrel.proc.poll() is None, "petreld died in the churn"
    drained = wait_until(lambda: petrel.fd_count() <= fd0, 15, interval=0.2)
    time.sleep(0.5)
    fd1, rss1 = petrel.fd_count(), petrel.rss_kib()
    print(f"\nchurn: {opened} connections in {took:.1f}s ({opened / took:.0f}/s), "
          f"{len(errors)} without the expected replies; descriptors {fd0} -> {fd1}; "
          f"VmRSS {rss0} KiB -> {rss1} KiB ({rss1 - rss0:+d} KiB)")
    assert opened == CHURN_SECONDS * CHURN_RATE
    assert took < CHURN_SECONDS + 10
    assert len(errors) <= opened // 100, errors[:5]
    assert drained and fd1 == fd0, f"descriptors {fd0} before, {fd1} after the churn"
    # ASan keeps freed memory in quarantine (256 MiB by default), so RSS says
    # nothing there; LeakSanitizer checks for leaks when petreld exits.
    if not os.environ.get("PETREL_SANITIZED"):
        assert rss1 - rss0 <= 4096, f"VmRSS grew by {rss1 - rss0} KiB over {opened} connections"
    petrel.send_ok(text="served after the churn")
    assert petrel.message_files("churn") == []        # nothing cut short was delivered
    assert petrel.stop() == 0
