"""Campaign and tenant (docs/config.md [bulk], docs/admin.md): a trusted
client's X-Campaign and X-Tenant header fields go into the envelope, are
removed from the message, and let an operator list and hold back one
campaign's or one tenant's mail wherever it goes."""
import json
import os
import smtplib
import subprocess
import time

from harness import LOCAL_DOMAIN, PETRELD, free_port, message, wait_until

PETREL = os.path.join(os.path.dirname(PETRELD), "petrel")
REMOTE = "remote.test"


def queue(relay, *args):
    r = subprocess.run([PETREL, "queue", "--spool", relay.spool, *args], capture_output=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr.decode() + r.stdout.decode()
    return r.stdout.decode()


def send(relay, recipient, campaign=None, tenant=None, host=None):
    headers = ""
    if campaign:
        headers += f"X-Campaign: {campaign}\r\n"
    if tenant:
        headers += f"X-Tenant: {tenant}\r\n"
    data = message(subject=f"for {recipient}", headers=headers)
    with smtplib.SMTP(relay.host, relay.port, local_hostname="client.test", timeout=10,
                      source_address=(host, 0) if host else None) as c:
        c.sendmail(f"news@{LOCAL_DOMAIN}", [recipient], data)


class Receiver:
    """An aiosmtpd server on 127.0.0.3 keeping what it receives."""

    def __init__(self):
        from aiosmtpd.controller import Controller
        self.received = []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                outer.received.append((list(envelope.rcpt_tos), envelope.content))
                return "250 2.0.0 Accepted"

        self.port = free_port("127.0.0.3")
        self.controller = Controller(Handler(), hostname="127.0.0.3", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    def to(self, address):
        return [content for rcpts, content in self.received if address in rcpts]


def test_a_suspended_campaign_waits_while_other_mail_goes_and_its_headers_go_no_further(servers):
    with Receiver() as receiver:
        relay = servers("a", "--trusted-network", "127.0.0.0/8", "--retry-intervals", "1s",
                        "--transport", f"{REMOTE}=smtp:[127.0.0.3]:{receiver.port}")
        queue(relay, "suspend", "--campaign", "december")
        send(relay, f"ann@{REMOTE}", campaign="december", tenant="shop1")
        send(relay, f"bob@{REMOTE}", campaign="january", tenant="shop1")
        assert wait_until(lambda: receiver.to(f"bob@{REMOTE}"), 15), relay.log_text()
        time.sleep(1.5)
        assert not receiver.to(f"ann@{REMOTE}"), "a suspended campaign's mail went out"

        listed = json.loads(queue(relay, "--json", "list", "--campaign", "december"))
        assert [m["campaign"] for m in listed] == ["december"] and listed[0]["tenant"] == "shop1", listed
        assert json.loads(queue(relay, "--json", "list", "--tenant", "shop2")) == []
        assert "suspended campaign december until resumed" in queue(relay, "sites")
        assert "campaign=december tenant=shop1" in relay.log_text()

        queue(relay, "resume", "--campaign", "december")
        assert wait_until(lambda: receiver.to(f"ann@{REMOTE}"), 15), relay.log_text()
        content = receiver.to(f"ann@{REMOTE}")[0]
        assert b"X-Campaign" not in content and b"X-Tenant" not in content, content
        assert b"Subject: for ann@remote.test" in content


def test_a_suspended_tenant_with_a_duration_goes_by_itself_when_it_ends(servers):
    with Receiver() as receiver:
        relay = servers("a", "--trusted-network", "127.0.0.0/8", "--retry-intervals", "1s",
                        "--transport", f"{REMOTE}=smtp:[127.0.0.3]:{receiver.port}")
        queue(relay, "suspend", "--tenant", "shop2", "--for", "3s")
        started = time.monotonic()
        send(relay, f"carol@{REMOTE}", tenant="shop2")
        assert wait_until(lambda: receiver.to(f"carol@{REMOTE}"), 20), relay.log_text()
        assert time.monotonic() - started >= 2.5


def test_an_untrusted_client_cannot_name_a_campaign(servers):
    relay = servers("a")  # the loopback is not trusted here: local delivery only
    send(relay, f"alice@{LOCAL_DOMAIN}", campaign="forged", tenant="other")
    assert wait_until(lambda: relay.message_files("alice"), 10), relay.log_text()
    with open(relay.message_files("alice")[0], "rb") as f:
        delivered = f.read()
    assert b"X-Campaign: forged" in delivered  # left as it came: not ours to act on
    assert "campaign=" not in relay.log_text()
