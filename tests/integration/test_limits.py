"""Timeouts and connection limits: idle or greedy clients are shown the door
with a 421, everyone else is still served."""
import time

from harness import Closed, LOCAL_DOMAIN, wait_until


def test_idle_client_gets_421_4_4_2_after_command_timeout(start_petrel):
    petrel = start_petrel("--command-timeout", "1s")
    with petrel.raw() as s:
        t0 = time.monotonic()
        s.sock.settimeout(6)
        r = s.reply()
        waited = time.monotonic() - t0
        assert (r.code, r.enhanced) == (421, "4.4.2"), r
        assert 0.8 <= waited < 5, waited
        assert s.is_closed()


def test_command_timeout_restarts_with_every_command(start_petrel):
    petrel = start_petrel("--command-timeout", "1s")
    with petrel.raw() as s:
        for _ in range(4):                    # 2.4 s in all, never 1 s idle
            time.sleep(0.6)
            assert s.command("NOOP").code == 250
        s.sock.settimeout(6)
        assert s.reply().code == 421


def test_stalled_data_gets_421_after_data_timeout_and_is_not_delivered(start_petrel):
    petrel = start_petrel("--data-timeout", "1s")
    with petrel.raw() as s:
        assert s.command("EHLO client.test").code == 250
        assert s.command("MAIL FROM:<sender@client.test>").code == 250
        assert s.command(f"RCPT TO:<user@{LOCAL_DOMAIN}>").code == 250
        assert s.command("DATA").code == 354
        s.send(b"Subject: stalled\r\n\r\npart of it\r\n")
        s.sock.settimeout(6)
        r = s.reply()
        assert (r.code, r.enhanced) == (421, "4.4.2"), r
        assert s.is_closed()
    petrel.send_ok()
    assert petrel.message_files("user") == []


def test_sessions_beyond_per_ip_limit_get_421_4_7_0(start_petrel):
    petrel = start_petrel("--max-sessions-per-ip", "3")
    held = [petrel.raw() for _ in range(3)]
    try:
        with petrel.connect() as extra:
            r = extra.reply()
            assert (r.code, r.enhanced) == (421, "4.7.0"), r
            assert extra.is_closed()
        # another address is not affected
        with petrel.raw(source="127.0.0.2") as other:
            assert other.command("NOOP").code == 250
        # the limit counts live sessions: once one ends there is room again
        assert held.pop().command("QUIT").code == 221

        def can_open():
            s = petrel.connect()
            try:
                return s.reply().code == 220
            except Closed:
                return False
            finally:
                s.close()
        assert wait_until(can_open, 5, interval=0.2)
    finally:
        for s in held:
            s.close()


def test_sessions_beyond_max_sessions_get_421(start_petrel):
    petrel = start_petrel("--max-sessions", "2", "--max-sessions-per-ip", "10")
    held = [petrel.raw(), petrel.raw(source="127.0.0.2")]
    try:
        with petrel.connect(source="127.0.0.3") as extra:
            r = extra.reply()
            assert r.code == 421, r
            assert extra.is_closed()
    finally:
        for s in held:
            s.close()
