"""The HTTP injection API (docs/api.md): POST /api/v1/messages renders one
message per recipient from templates, stores them durably, and replies
with their queue IDs; bad requests get RFC 9457 problems naming the field."""
import base64
import email
import email.policy
import os
import signal
import socket
import subprocess
import time

import pytest

from api_client import SHOP_TOKEN, Api, write_config, write_tokens
from harness import HOST, LOCAL_DOMAIN, PETRELD, free_port, wait_until


@pytest.fixture
def api(start_petrel, tmp_path):
    """api(http_extra="", extra=""): a petreld whose [http] listens on
    loopback, and an Api client for it."""
    def start(http_extra="", extra=""):
        d = tmp_path / f"cfg{len(os.listdir(tmp_path))}"
        d.mkdir()
        path, port = write_config(d, http_extra, extra)
        p = start_petrel("--config", path)
        assert wait_until(lambda: port_open(port), 10), p.stderr()
        return p, Api(port)
    return start


def port_open(port):
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def parsed(delivered):
    return email.message_from_bytes(delivered.message, policy=email.policy.default)


def builder(recipients, **kw):
    body = {"envelope_sender": f"bounces@{LOCAL_DOMAIN}",
            "from": {"email": "news@example.org", "name": "Example News"},
            "recipients": recipients,
            "subject": "Hello {{first}}",
            "text": "Your code is {{code}}",
            "html": "<p>Your code is <b>{{code}}</b></p>"}
    body.update(kw)
    return body


def test_builder_request_renders_a_message_per_recipient(api):
    p, client = api()
    status, headers, reply, raw = client.inject(builder(
        [{"email": f"ann@{LOCAL_DOMAIN}", "name": "Ann", "vars": {"first": "Ann", "code": "A<1>"}},
         {"email": f"bob@{LOCAL_DOMAIN}", "vars": {"first": "Bob", "code": "B2"}}],
        headers={"Reply-To": "help@example.org", "X-Greeting": "hi {{first}}"}))
    assert status == 200, raw
    assert reply["accepted"] == 2 and reply["rejected"] == []
    assert [m["email"] for m in reply["messages"]] == [f"ann@{LOCAL_DOMAIN}", f"bob@{LOCAL_DOMAIN}"]
    assert all(len(m["queue_id"]) == 16 for m in reply["messages"])

    ann = parsed(p.wait_for_messages("ann", 1)[0])
    assert ann["Subject"] == "Hello Ann"
    assert ann["To"] == f"Ann <ann@{LOCAL_DOMAIN}>"
    assert ann["From"] == "Example News <news@example.org>"
    assert ann["Reply-To"] == "help@example.org" and ann["X-Greeting"] == "hi Ann"
    assert ann["Message-ID"].endswith("@example.org>") and ann["Date"]
    assert ann.get_content_type() == "multipart/alternative"
    text = ann.get_body(("plain",)).get_content()
    html = ann.get_body(("html",)).get_content()
    assert "Your code is A<1>" in text                       # text: as is
    assert "<b>A&lt;1&gt;</b>" in html                        # html: escaped
    bob = parsed(p.wait_for_messages("bob", 1)[0])
    assert bob["Subject"] == "Hello Bob" and bob["To"] == f"bob@{LOCAL_DOMAIN}"
    log = p.log_text()
    assert f"qid={reply['messages'][0]['queue_id']} client=api:ops" in log


def test_raw_message_with_variables_gets_date_and_message_id(api):
    p, client = api()
    raw = "From: news@example.org\nTo: {{email}}\nSubject: raw for {{name}}\n\nHello {{name}}, {{{code}}}\n"
    status, _, reply, body = client.inject({"envelope_sender": f"bounces@{LOCAL_DOMAIN}", "raw": raw,
                                            "recipients": [{"email": f"ann@{LOCAL_DOMAIN}", "name": "Ann",
                                                            "vars": {"code": "<x>"}}]})
    assert status == 200, body
    m = p.wait_for_messages("ann", 1)[0]
    assert b"Subject: raw for Ann\r\n" in m.message and b"Hello Ann, <x>\r\n" in m.message
    msg = parsed(m)
    assert msg["Date"] and msg["Message-ID"]


def test_attachments_are_carried_as_base64_parts(api):
    p, client = api()
    data = bytes(range(256))
    status, _, _, body = client.inject(builder(
        [f"ann@{LOCAL_DOMAIN}"], html="",
        attachments=[{"filename": "a.bin", "content_type": "application/octet-stream",
                      "data_base64": base64.b64encode(data).decode()}]))
    assert status == 200, body
    msg = parsed(p.wait_for_messages("ann", 1)[0])
    parts = [part for part in msg.iter_attachments()]
    assert len(parts) == 1 and parts[0].get_filename() == "a.bin"
    assert parts[0].get_content() == data


def test_no_token_or_a_wrong_one_gets_401_even_from_loopback(api):
    p, client = api()
    status, headers, reply, _ = client.inject(builder([f"ann@{LOCAL_DOMAIN}"]), token="")
    assert status == 401 and headers.get("WWW-Authenticate", "").startswith("Bearer")
    assert headers["Content-Type"] == "application/problem+json" and reply["status"] == 401
    status, _, _, _ = client.inject(builder([f"ann@{LOCAL_DOMAIN}"]), token="wrong-token-0123456789")
    assert status == 401
    time.sleep(0.3)
    assert p.message_files("ann") == []


def test_bad_requests_get_a_problem_with_a_pointer_to_the_field(api):
    p, client = api()
    status, headers, reply, _ = client.inject("{not json")
    assert status == 400 and headers["Content-Type"] == "application/problem+json"
    assert "malformed JSON" in reply["detail"]
    status, _, reply, _ = client.inject(builder([{"email": 42}]))
    assert status == 400 and reply["pointer"] == "/recipients/0/email", reply
    status, _, reply, _ = client.inject(builder([f"ann@{LOCAL_DOMAIN}"], subjcet="typo"))
    assert status == 400 and reply["pointer"] == "/subjcet", reply
    status, _, reply, _ = client.inject(builder([f"ann@{LOCAL_DOMAIN}"], envelope_sender="not an address"))
    assert status == 400 and reply["pointer"] == "/envelope_sender", reply
    status, _, reply, _ = client.inject(builder([f"ann@{LOCAL_DOMAIN}"], headers={"X-A": "a\r\nBcc: x@y.test"}))
    assert status == 400 and reply["pointer"] == "/headers/X-A", reply
    nested = '{"vars": ' * 40 + "1" + "}" * 40
    status, _, reply, _ = client.inject(nested)
    assert status == 400 and "deeper" in reply["detail"], reply
    status, _, reply, _ = client.inject(builder([f"ann@{LOCAL_DOMAIN}"]), content_type="text/plain")
    assert status == 415


def test_a_template_error_is_a_422_naming_field_line_and_column(api):
    p, client = api()
    status, _, reply, _ = client.inject(builder([f"ann@{LOCAL_DOMAIN}"], text="line one\nline {{#items}} two"))
    assert status == 422, reply
    assert reply["pointer"] == "/text" and reply["line"] == 2 and reply["column"] == 6, reply
    assert "Unclosed section" in reply["detail"]


def test_one_bad_recipient_never_fails_the_others(api):
    p, client = api()
    status, _, reply, _ = client.inject(builder(
        [f"ann@{LOCAL_DOMAIN}", "not-an-address", {"email": "a b@x.test"}, f"bob@{LOCAL_DOMAIN}"]))
    assert status == 200, reply
    assert reply["accepted"] == 2
    assert [r["email"] for r in reply["rejected"]] == ["not-an-address", "a b@x.test"]
    assert all(r["reason"] for r in reply["rejected"])
    p.wait_for_messages("ann", 1)
    p.wait_for_messages("bob", 1)


def test_idempotency_key_returns_the_first_reply_and_queues_nothing_again(api):
    p, client = api()
    body = builder([f"ann@{LOCAL_DOMAIN}", f"bob@{LOCAL_DOMAIN}"], idempotency_key="batch-0001")
    s1, h1, r1, _ = client.inject(body)
    s2, h2, r2, _ = client.inject(body)
    assert s1 == s2 == 200 and r1 == r2
    assert h2.get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in h1
    p.wait_for_messages("ann", 1)
    time.sleep(0.5)
    assert len(p.message_files("ann")) == 1 and len(p.message_files("bob")) == 1
    # Kept over a restart: the record is in the spool.
    p.restart()
    s3, h3, r3, _ = client.inject(body)
    assert s3 == 200 and r3 == r1 and h3.get("Idempotent-Replayed") == "true"
    # The header form works too, and another key is another request.
    s4, _, r4, _ = client.inject(builder([f"ann@{LOCAL_DOMAIN}"]), headers={"Idempotency-Key": "other"})
    assert s4 == 200 and r4["messages"][0]["queue_id"] != r1["messages"][0]["queue_id"]


def test_a_token_bound_to_a_tenant_sends_only_for_it(api):
    p, client = api()
    status, _, reply, _ = client.inject(builder([f"ann@{LOCAL_DOMAIN}"], tenant="other"), token=SHOP_TOKEN)
    assert status == 403 and reply["pointer"] == "/tenant"
    status, _, reply, _ = client.inject(builder([f"ann@{LOCAL_DOMAIN}"], campaign="december"), token=SHOP_TOKEN)
    assert status == 200, reply
    qid = reply["messages"][0]["queue_id"]
    assert wait_until(lambda: f"qid={qid} client=api:shop" in p.log_text() and "tenant=shop1" in p.log_text(), 5)
    assert "campaign=december" in p.log_text()


def test_request_limits_get_413(api):
    p, client = api(http_extra="max_request_size = 4096\nmax_recipients = 5")
    status, headers, reply, _ = client.inject(builder([f"ann@{LOCAL_DOMAIN}"], text="x" * 8000))
    assert status == 413 and headers["Content-Type"] == "application/problem+json", reply
    status, _, reply, _ = client.inject(builder([f"u{i}@{LOCAL_DOMAIN}" for i in range(6)]))
    assert status == 413 and reply["pointer"] == "/recipients", reply
    assert client.inject(builder([f"ann@{LOCAL_DOMAIN}"]))[0] == 200


def test_slow_drip_and_header_floods_get_4xx_and_the_server_carries_on(api):
    p, client = api(http_extra='request_timeout = "1s"')
    s = socket.create_connection((HOST, client.port), timeout=10)
    s.sendall(b"POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 100\r\n\r\n{")
    started = time.monotonic()
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    assert data.startswith(b"HTTP/1.1 408"), data
    assert time.monotonic() - started < 5
    s = socket.create_connection((HOST, client.port), timeout=10)
    s.sendall(b"GET / HTTP/1.1\r\n" + b"".join(b"X-Flood-%d: %s\r\n" % (i, b"a" * 100) for i in range(300)) + b"\r\n")
    data = s.recv(4096)
    s.close()
    assert data.startswith(b"HTTP/1.1 431"), data
    s = socket.create_connection((HOST, client.port), timeout=10)
    s.sendall(b"THIS IS NOT HTTP\r\n\r\n")
    assert s.recv(4096).startswith(b"HTTP/1.1 400")
    s.close()
    assert client.inject(builder([f"ann@{LOCAL_DOMAIN}"]))[0] == 200


def test_unknown_paths_and_methods(api):
    p, client = api()
    assert client.request("GET", "/api/v1/messages")[0] == 405
    assert client.request("GET", "/api/v1/nothing")[0] == 404
    assert client.request("GET", "/nothing", token="")[0] == 404


def test_over_the_queue_high_water_mark_requests_get_503_with_retry_after(api):
    closed = free_port()
    p, client = api(http_extra="max_queued = 1", extra=f'[delivery]\ntransport = {{ "far.test" = "smtp:[127.0.0.1]:{closed}" }}\n')
    assert client.inject(builder(["someone@far.test"]))[0] == 200      # stays queued
    status, headers, reply, _ = client.inject(builder([f"ann@{LOCAL_DOMAIN}"]))
    assert status == 503 and int(headers["Retry-After"]) > 0, reply


def test_messages_acknowledged_survive_kill_9(api):
    p, client = api()
    status, _, reply, _ = client.inject(builder([f"u{i}@{LOCAL_DOMAIN}" for i in range(200)]))
    assert status == 200 and reply["accepted"] == 200
    os.killpg(p.proc.pid, signal.SIGKILL)
    p.proc.wait()
    p.start()
    assert wait_until(lambda: all(p.message_files(f"u{i}") for i in range(200)), 30)


def test_a_non_loopback_listener_without_tls_is_a_config_error(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[http]\nlisten = "0.0.0.0:8025"\n')
    r = subprocess.run([PETRELD, "--config", str(path), "--check-config"], capture_output=True, timeout=10)
    assert r.returncode == 2 and b"tls = true" in r.stderr, r.stderr


def test_a_tokens_file_others_may_read_is_refused(tmp_path):
    tokens = write_tokens(tmp_path, mode=0o644)
    path = tmp_path / "p.toml"
    path.write_text(f'[http]\nlisten = "127.0.0.1:{free_port()}"\napi_tokens_file = "{tokens}"\n')
    r = subprocess.run([PETRELD, "--config", str(path), "--check-config"], capture_output=True, timeout=10)
    assert r.returncode == 2 and b"chmod 600" in r.stderr, r.stderr
    write_tokens(tmp_path, text="ops:short\n")
    r = subprocess.run([PETRELD, "--config", str(path), "--check-config"], capture_output=True, timeout=10)
    assert r.returncode == 2 and b"api_tokens:1:" in r.stderr, r.stderr


def test_https_with_the_tls_certificate(start_petrel, tmp_path, tls_files):
    import http.client
    import json
    import ssl
    from api_client import TOKEN
    port = free_port("127.0.0.1")
    tokens = write_tokens(tmp_path)
    conf = tmp_path / "p.toml"
    conf.write_text(f'[http]\nlisten = "127.0.0.1:{port}"\ntls = true\napi_tokens_file = "{tokens}"\n'
                    f'[tls]\ncert = "{tls_files.cert}"\nkey = "{tls_files.key}"\n')
    p = start_petrel("--config", str(conf))
    assert wait_until(lambda: port_open_at("127.0.0.1", port), 10), p.stderr()
    context = ssl.create_default_context(cafile=tls_files.ca)
    c = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    c.request("POST", "/api/v1/messages", body=json.dumps(builder([f"ann@{LOCAL_DOMAIN}"])),
              headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    r = c.getresponse()
    assert r.status == 200, r.read()
    p.wait_for_messages("ann", 1)
    # Plain HTTP to the HTTPS port gets nowhere, and no token is read in clear.
    plain = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        plain.request("GET", "/api/v1/messages", headers={"Authorization": f"Bearer {TOKEN}"})
        status = plain.getresponse().status
    except (OSError, http.client.HTTPException):
        status = None
    assert status is None


def port_open_at(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def test_ten_thousand_recipients_in_one_request_are_stored_in_windows(api):
    closed = free_port()
    p, client = api(extra=f'[delivery]\ntransport = {{ "far.test" = "smtp:[127.0.0.1]:{closed}" }}\n')
    rss_before = p.rss_kib()
    body = builder([{"email": f"u{i}@far.test", "vars": {"first": f"U{i}", "code": str(i)}} for i in range(10000)])
    status, _, reply, _ = client.inject(body)
    assert status == 200 and reply["accepted"] == 10000, reply
    assert len({m["queue_id"] for m in reply["messages"]}) == 10000
    # The request's messages were never all in memory at once: the growth
    # is the parsed body and the reply, not 10,000 messages.
    if not os.environ.get("PETREL_SANITIZED"):
        assert p.rss_peak_kib() - rss_before < 120 * 1024, (rss_before, p.rss_peak_kib())
