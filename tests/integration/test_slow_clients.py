"""Slowloris: clients that hold a session open by saying nothing, by
stopping in the middle of a line, or by dripping one byte at a time.

Between commands the command timeout is a limit on silence. Once a command
line has begun it is a deadline for the whole line, however many reads
bring it: a client that drips a byte more often than the timeout is cut off
all the same (docs/robustness.md)."""
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


def test_slow_drip_is_cut_off_when_the_command_timeout_runs_out(start_petrel):
    """A byte every 0.5 s, with a 2 s command timeout: every byte arrives
    well within the timeout, but the line does not; 421 4.4.2 comes about
    2 s after the line began, and others are served meanwhile."""
    petrel = start_petrel("--command-timeout", f"{TIMEOUT}s")
    with petrel.raw() as s:
        line = b"EHLO a.slow.drip.client.test\r\n"
        t0 = time.monotonic()
        cut_off = None
        s.sock.settimeout(0.5)
        for byte in line:
            try:
                s.send(bytes([byte]))
            except OSError:
                break
            try:
                r = s.reply()
            except Exception:           # noqa: BLE001  (no reply yet: the timeout in settimeout)
                continue
            cut_off = time.monotonic() - t0
            assert (r.code, r.enhanced) == (421, "4.4.2"), r
            break
        assert cut_off is not None, "the whole line was dripped in without a 421"
        assert TIMEOUT - 0.2 <= cut_off < TIMEOUT + 2, cut_off
        print(f"\nslow drip: cut off {cut_off:.1f}s after its first byte ({TIMEOUT}s command timeout)")
    petrel.send_ok()
