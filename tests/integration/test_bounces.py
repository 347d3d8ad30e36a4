"""Bounce classification and the suppression list in the queue
(docs/bounces.md): every remote failure is classified in the log line and
the DSN; a hard bounce of bulk mail suppresses its recipient; a
recipient suppressed after queueing fails before it is sent."""
import email
import email.policy
import time

from harness import LOCAL_DOMAIN, wait_until
from test_api import api, builder  # noqa: F401 (pytest fixture)

FAR = "far.test"


def far_route(r):
    return f'[delivery]\ntransport = {{ "{FAR}" = "smtp:[{r.host}]:{r.port}" }}\nretry_intervals = ["1s"]\n'


def dsn_fields(delivered):
    msg = email.message_from_bytes(delivered.message, policy=email.policy.default)
    for part in msg.walk():
        if part.get_content_type() == "message/delivery-status":
            return part.as_string()
    return ""


def test_a_hard_bounce_is_classified_and_suppresses_the_recipient(api, receiver):
    mx = receiver("127.0.0.61", reply="550 5.1.1 The email account that you tried to reach does not exist",
                  reply_at="RCPT")
    p, client = api(extra=far_route(mx))
    status, _, reply, _ = client.inject(builder([f"ann@{FAR}"], campaign="december"))
    assert status == 200 and reply["accepted"] == 1
    bounce = p.wait_for_messages("bounces", 1, timeout=15)[0]
    assert "X-Petrel-Bounce-Class: invalid_recipient" in dsn_fields(bounce)
    assert b"Classified as: invalid_recipient" in bounce.message
    assert "result=bounced" in p.log_text() and "class=invalid_recipient" in p.log_text()
    assert wait_until(lambda: client.request("GET", "/api/v1/suppressions")[2]["suppressions"], 5)
    [entry] = client.request("GET", "/api/v1/suppressions")[2]["suppressions"]
    assert entry["address"] == f"ann@{FAR}" and entry["reason"] == "hard_bounce"
    assert entry["campaign"] == "december" and entry["detail"].startswith("invalid_recipient: 550")
    status, _, reply, _ = client.inject(builder([f"ann@{FAR}"]))
    assert reply["accepted"] == 0 and reply["rejected"][0]["suppressed"] == "hard_bounce"


def test_a_full_mailbox_is_classified_and_suppresses_nobody(api, receiver):
    mx = receiver("127.0.0.62", reply="552 5.2.2 The recipient's inbox is out of storage space", reply_at="RCPT")
    p, client = api(extra=far_route(mx))
    assert client.inject(builder([f"bob@{FAR}"]))[0] == 200
    bounce = p.wait_for_messages("bounces", 1, timeout=15)[0]
    assert "X-Petrel-Bounce-Class: mailbox_full" in dsn_fields(bounce)
    time.sleep(0.5)
    assert client.request("GET", "/api/v1/suppressions")[2]["suppressions"] == []


def test_a_deferral_is_classified_in_the_log(api, receiver):
    mx = receiver("127.0.0.63", reply="421 4.7.0 [TSS04] Messages from 127.0.0.1 temporarily deferred due to "
                                      "unexpected volume or user complaints", reply_at="MAIL", reply_first=1)
    p, client = api(extra=far_route(mx))
    assert client.inject(builder([f"carol@{FAR}"]))[0] == 200
    assert mx.wait_for_messages(1, 20), p.log_text()
    assert "result=deferred" in p.log_text() and "class=reputation" in p.log_text()


def test_a_recipient_suppressed_while_queued_fails_before_it_is_sent(api, receiver):
    mx = receiver("127.0.0.64", mode="tarpit")
    p, client = api(extra=far_route(mx) + '[queue]\nreply_timeout = "1s"\n')
    assert client.inject(builder([f"dave@{FAR}"], tenant="shop1"))[0] == 200
    assert wait_until(lambda: "result=deferred" in p.log_text(), 15), p.log_text()
    assert client.request("POST", "/api/v1/suppressions", {"tenant": "shop1", "addresses": [f"dave@{FAR}"]})[0] == 200
    assert wait_until(lambda: "result=suppressed" in p.log_text(), 20), p.log_text()
    bounce = p.wait_for_messages("bounces", 1, timeout=10)[0]
    assert "suppression list" in dsn_fields(bounce)


def test_ordinary_relayed_mail_never_meets_the_list(api, receiver, tmp_path):
    mx = receiver("127.0.0.65")
    p, client = api(extra=far_route(mx) + '[relay]\ntrusted_networks = ["127.0.0.0/8"]\n')
    client.request("POST", "/api/v1/suppressions", {"addresses": [f"erin@{FAR}"]})
    with p.smtp() as c:
        c.sendmail(f"someone@{LOCAL_DOMAIN}", [f"erin@{FAR}"], b"Subject: plain\r\n\r\nhello\r\n")
    assert mx.wait_for_messages(1, 15), p.log_text()
