"""`petrel probe` and `petrel send` against Postfix as the reference MX (a
private instance from postfix_peer.py): what the tools say of the most
common MTA must be right, not only what they say of petreld.

    PETRELD=/work/main/build/petreld /usr/bin/python3 -m pytest -q tests/integration/test_cli_postfix.py
"""
import json
import os
import subprocess

import pytest

from harness import PETRELD, wait_until
from postfix_peer import PostfixPeer, postfix_available

PETREL = os.path.join(os.path.dirname(PETRELD), "petrel")


@pytest.fixture(scope="module")
def postfix():
    why_not = postfix_available()
    if why_not:
        pytest.skip(why_not)
    peer = PostfixPeer("pf.test", "127.0.0.2")
    try:
        yield peer.start()
    finally:
        print(f"--- Postfix maillog\n{peer.log_text() if peer.dir else ''}")
        peer.stop()


def petrel(*args):
    r = subprocess.run([PETREL, *args], stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def test_probe_reads_postfix_as_postfix_presents_itself(postfix):
    status, out, err = petrel("probe", "--json", "--timeout", "5", f"127.0.0.2:{postfix.port}")
    doc = json.loads(out)
    host = doc["hosts"][0]
    assert host["greeting_reply"]["code"] == 220, err
    grades = {f["id"]: f["grade"] for f in doc["findings"]}
    assert grades["connect"] == "pass" and grades["greeting"] == "pass" and grades["ehlo"] == "pass"
    keywords = {e["keyword"] for e in host["extensions"]}
    assert {"PIPELINING", "SIZE", "8BITMIME", "DSN", "ENHANCEDSTATUSCODES", "SMTPUTF8"} <= keywords
    assert grades["pipelining"] == "pass" and grades["size"] == "pass"
    # This Postfix trusts 127.0.0.0/8 (mynetworks): from here it relays, and
    # the probe must say so without sending a message.
    assert host["checks"]["relay_rcpt"]["code"] == 250
    assert grades["open_relay"] == "fail" and status == 2
    assert not postfix.message_files()


def test_send_through_postfix_reports_its_queue_id(postfix):
    before = len(postfix.message_files())
    status, out, err = petrel("send", "--json", "--timeout", "10", "--helo", "client.test",
                              "--server", f"127.0.0.2:{postfix.port}", "--from", "me@client.test",
                              "--to", "someone@pf.test", "--subject", "through postfix", "--body", "hello postfix")
    assert status == 0, err + out
    doc = json.loads(out)
    assert doc["status"] == "accepted" and doc["queue_id"], doc
    assert wait_until(lambda: len(postfix.message_files()) == before + 1, 30), postfix.log_text()
    data = postfix.messages()[-1]
    assert b"Subject: through postfix" in data and b"hello postfix" in data
    assert f"{doc['queue_id']}:".encode() in postfix.log_text().encode()  # Postfix logs "QUEUEID: ..."
