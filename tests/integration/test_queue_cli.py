"""`petrel queue ...` against a running petreld (its admin channel), and
ETRN (RFC 1985): what waits can be listed, shown, held, released, flushed
and deleted."""
import json
import os
import subprocess
import time

from harness import LOCAL_DOMAIN, PETRELD, free_port, wait_until

PETREL = os.path.join(os.path.dirname(PETRELD), "petrel")
FAR = "far.test"


def petrel_cli(server, *args):
    r = subprocess.run([PETREL, "queue", "--spool", server.spool, *args], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=30)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def queued(server):
    status, out, err = petrel_cli(server, "--json", "list")
    assert status == 0, err
    return json.loads(out)


def relay_with_a_closed_far_side(start_petrel, *flags, retry="1h"):
    dead = free_port("127.0.0.4")  # nothing listens there: mail for far.test waits
    return start_petrel("--trusted-network", "127.0.0.0/8", "--retry-intervals", retry,
                        "--transport", f"{FAR}=smtp:[127.0.0.4]:{dead}", *flags)


def send(server, recipients):
    import smtplib
    with smtplib.SMTP(server.host, server.port, local_hostname="client.test", timeout=10) as c:
        c.sendmail(f"me@{LOCAL_DOMAIN}", recipients, b"Subject: q\r\n\r\nbody\r\n")


def test_list_shows_each_waiting_message_with_its_recipients_and_error(start_petrel):
    server = relay_with_a_closed_far_side(start_petrel)
    send(server, [f"bob@{FAR}", f"carol@{LOCAL_DOMAIN}"])
    assert wait_until(lambda: queued(server) and queued(server)[0]["attempts"] == 1, 15)
    [m] = queued(server)
    assert m["sender"] == f"me@{LOCAL_DOMAIN}"
    assert {r["address"]: r["state"] for r in m["recipients"]} == {f"bob@{FAR}": "pending",
                                                                  f"carol@{LOCAL_DOMAIN}": "delivered"}
    assert "Connection refused" in m["last_error"]
    status, table, _ = petrel_cli(server, "list")
    assert status == 0 and m["id"] in table and "1 message" in table
    status, shown, _ = petrel_cli(server, "show", m["id"])
    assert status == 0 and "Subject: q" in shown and f"bob@{FAR}" in shown


def test_hold_release_and_delete(start_petrel):
    server = relay_with_a_closed_far_side(start_petrel)
    send(server, [f"bob@{FAR}"])
    assert wait_until(lambda: queued(server) and queued(server)[0]["attempts"] == 1, 15)
    qid = queued(server)[0]["id"]
    assert petrel_cli(server, "hold", qid)[0] == 0
    assert queued(server)[0]["held"] is True
    status, _, err = petrel_cli(server, "hold", "NOSUCHID0000000")
    assert status == 3 and "not in the queue" in err
    assert petrel_cli(server, "release", qid)[0] == 0
    assert wait_until(lambda: queued(server)[0]["attempts"] == 2, 15)  # released means tried now
    assert petrel_cli(server, "delete", qid)[0] == 0
    assert queued(server) == []
    server.stop()
    server.start()
    assert queued(server) == []  # deleted from the spool, not only from memory


def test_a_hold_survives_a_restart_and_is_released_after_it(start_petrel):
    server = relay_with_a_closed_far_side(start_petrel, retry="1s")
    send(server, [f"bob@{FAR}"])
    assert wait_until(lambda: queued(server) and queued(server)[0]["attempts"] >= 1, 15)
    qid = queued(server)[0]["id"]
    assert petrel_cli(server, "hold", qid)[0] == 0
    attempts = queued(server)[0]["attempts"]
    server.stop()
    server.start()
    entry = queued(server)[0]
    assert entry["id"] == qid and entry["held"] is True
    time.sleep(2.5)  # retries are 1 s apart: a message not held would have been tried again
    assert queued(server)[0]["attempts"] == attempts
    assert petrel_cli(server, "release", qid)[0] == 0
    assert wait_until(lambda: queued(server)[0]["attempts"] > attempts, 15)
    server.stop()
    server.start()
    assert queued(server)[0]["held"] is False  # the release was recorded too


def test_flush_and_etrn_retry_now(start_petrel):
    server = relay_with_a_closed_far_side(start_petrel)
    send(server, [f"bob@{FAR}"])
    assert wait_until(lambda: queued(server) and queued(server)[0]["attempts"] == 1, 15)
    status, out, _ = petrel_cli(server, "flush", FAR)
    assert status == 0 and "1 message" in out
    assert wait_until(lambda: queued(server)[0]["attempts"] == 2, 15)
    with server.raw() as s:
        s.command("EHLO client.test")
        r = s.command(f"ETRN {FAR}")
        assert (r.code, r.enhanced) == (250, "2.0.0"), r
        r = s.command("ETRN nothing-waits.test")
        assert r.code == 251, r
    assert wait_until(lambda: queued(server)[0]["attempts"] == 3, 15)


def test_etrn_at_domain_runs_the_domain_and_its_subdomains(start_petrel):
    # "@domain" is the domain and its subdomains (RFC 1985 §3): far.test is below test.
    server = relay_with_a_closed_far_side(start_petrel)
    send(server, [f"bob@{FAR}"])
    assert wait_until(lambda: queued(server) and queued(server)[0]["attempts"] == 1, 15)
    with server.raw() as s:
        s.command("EHLO client.test")
        r = s.command("ETRN test")
        assert r.code == 251, r  # the bare name is that domain only
        r = s.command("ETRN @test")
        assert (r.code, r.enhanced) == (250, "2.0.0"), r
        assert s.command("ETRN @").code == 501
    assert wait_until(lambda: queued(server)[0]["attempts"] == 2, 15)


def test_etrn_from_an_untrusted_client_is_refused(start_petrel):
    server = start_petrel()
    with server.raw() as s:
        s.command("EHLO client.test")
        r = s.command("ETRN example.org")
        assert (r.code, r.enhanced) == (459, "4.7.1"), r


def test_no_server_gives_a_clear_error(tmp_path):
    r = subprocess.run([PETREL, "queue", "--spool", str(tmp_path), "list"], capture_output=True, timeout=30)
    assert r.returncode == 1
    assert b"cannot reach petreld's admin socket" in r.stderr
