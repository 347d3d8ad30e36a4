"""Slowloris: clients that hold a session open by saying nothing, by
stopping in the middle of a line, or by dripping one byte at a time.

The command timeout is a limit on silence: it restarts with every read,
however few bytes that read brought (as in Postfix's smtpd_timeout). A
client that stops is cut off after the timeout; a client that drips a byte
more often than that is not, and is held in check by max_sessions_per_ip
instead (docs/robustness.md)."""
import time

from harness import wait_until

TIMEOUT = 2          # seconds, --command-timeout


def wait_for_421_and_close(s, timeout):
    """Seconds until the server's 421 4.4.2; asserts the close after it."""
    t0 = time.monotonic()
    s.sock.settimeout(timeout)
    r = s.reply()
    waited = time.monotonic() - t0
    assert (r.code, r.enhanced) == (421, "4.4.2"), r
    assert s.is_closed(2)
    return waited


def test_client_silent_after_the_greeting_gets_421_4_4_2_after_the_command_timeout(start_petrel):
    petrel = start_petrel("--command-timeout", f"{TIMEOUT}s")
    with petrel.raw() as s:
        waited = wait_for_421_and_close(s, TIMEOUT + 4)
    assert TIMEOUT - 0.2 <= waited < TIMEOUT + 2, waited
    petrel.send_ok()


def test_client_that_stops_mid_line_gets_421_4_4_2_after_the_command_timeout(start_petrel):
    petrel = start_petrel("--command-timeout", f"{TIMEOUT}s")
    with petrel.raw() as s:
        s.send(b"EHLO half.a.comm")          # no CRLF, then nothing more
        waited = wait_for_421_and_close(s, TIMEOUT + 4)
    assert TIMEOUT - 0.2 <= waited < TIMEOUT + 2, waited
    petrel.send_ok()


def test_slow_drip_resets_the_command_timeout_and_is_bounded_by_the_per_ip_limit(start_petrel):
    """A byte every second, with a 2 s command timeout: each byte restarts
    the timer, so the server waits for the whole line (9 s here) and answers
    it. What bounds such clients is the per-address session limit."""
    petrel = start_petrel("--command-timeout", f"{TIMEOUT}s", "--max-sessions-per-ip", "3")
    drippers = [petrel.raw(source="127.0.0.5") for _ in range(3)]
    try:
        line = b"EHLO d.t\r\n"                 # 10 bytes, one a second
        t0 = time.monotonic()
        for i, byte in enumerate(line):
            for s in drippers:
                s.send(bytes([byte]))
            if i == 2:
                # the address has used its 3 sessions: a 4th is refused ...
                with petrel.connect(source="127.0.0.5") as extra:
                    r = extra.reply()
                    assert (r.code, r.enhanced) == (421, "4.7.0"), r
                # ... and everyone else is served
                with petrel.raw(source="127.0.0.6") as other:
                    assert other.command("NOOP").code == 250
            if i < len(line) - 1:
                time.sleep(1)
        for s in drippers:
            s.sock.settimeout(TIMEOUT + 2)
            r = s.reply()
            assert r.code == 250, r             # EHLO answered, 9 s after its first byte
        held = time.monotonic() - t0
        assert held > 4 * TIMEOUT, held
        print(f"\nslow drip: a {len(line)}-byte line at 1 byte/s held a session "
              f"{held:.1f}s with a {TIMEOUT}s command timeout")
        # once it stops dripping, the timeout applies as usual
        waited = wait_for_421_and_close(drippers[0], TIMEOUT + 4)
        assert waited < TIMEOUT + 2, waited
    finally:
        for s in drippers:
            s.close()
    petrel.send_ok()
    # the sessions it held are free again
    assert wait_until(lambda: petrel.sessions_logged() >= 5, 5)
