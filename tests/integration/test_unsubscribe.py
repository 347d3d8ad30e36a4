"""One-click unsubscribe (RFC 8058) and the suppression list (docs/api.md,
docs/suppression.md): the links in API mail, what GET and POST on them do,
and how a suppressed recipient is refused."""
import email
import email.policy
import re
import urllib.parse

from api_client import SHOP_TOKEN
from harness import LOCAL_DOMAIN, wait_until
from test_api import api, builder  # noqa: F401 (pytest fixture)


def links_of(delivered):
    msg = email.message_from_bytes(delivered.message, policy=email.policy.default)
    header = str(msg["List-Unsubscribe"])
    https = re.search(r"<(https?://[^>]+)>", header).group(1)
    mailto = re.search(r"<mailto:([^>]+)>", header).group(1)
    return msg, https, mailto


def unsubscribe_path(url):
    return urllib.parse.urlsplit(url).path


def test_api_mail_carries_both_links_and_the_post_header(api):
    p, client = api(http_extra='public_url = "https://mail.petrel.test"')
    status, _, reply, _ = client.inject(builder([f"ann@{LOCAL_DOMAIN}"], unsubscribe=True, campaign="december"))
    assert status == 200, reply
    msg, https, mailto = links_of(p.wait_for_messages("ann", 1)[0])
    assert https.startswith("https://mail.petrel.test/u/")
    token = https.rsplit("/", 1)[1]
    assert mailto == f"unsubscribe+{token}@petrel.test"
    assert len(mailto.split("@")[0]) <= 64                     # RFC 5321 local part
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_get_shows_a_page_and_unsubscribes_nobody_post_does(api):
    p, client = api()
    client.inject(builder([f"ann@{LOCAL_DOMAIN}"], unsubscribe=True, campaign="december"))
    _, https, _ = links_of(p.wait_for_messages("ann", 1)[0])
    path = unsubscribe_path(https)
    status, headers, _, page = client.request("GET", path, token="")
    assert status == 200 and b"<form method=\"post\"" in page and b"a***@local.test" in page
    assert "default-src 'none'" in headers["Content-Security-Policy"] and "Set-Cookie" not in headers
    # A scanner's GET changed nothing: the next message goes out.
    status, _, reply, _ = client.inject(builder([f"ann@{LOCAL_DOMAIN}"], campaign="december"))
    assert status == 200 and reply["accepted"] == 1
    # The one-click POST, as a mail reader sends it.
    status, _, _, page = client.request("POST", path, body="List-Unsubscribe=One-Click", token="",
                                        content_type="application/x-www-form-urlencoded")
    assert status == 200 and b"unsubscribed" in page
    status, _, reply, _ = client.inject(builder([f"ann@{LOCAL_DOMAIN}", f"bob@{LOCAL_DOMAIN}"]))
    assert status == 200 and reply["accepted"] == 1
    assert reply["rejected"] == [{"email": f"ann@{LOCAL_DOMAIN}", "reason": "suppressed (unsubscribe)",
                                  "suppressed": "unsubscribe"}]
    assert "unsubscribe address=ann@local.test campaign=december" in p.log_text()


def test_forged_or_altered_tokens_get_404(api):
    p, client = api()
    client.inject(builder([f"ann@{LOCAL_DOMAIN}"], unsubscribe=True))
    _, https, _ = links_of(p.wait_for_messages("ann", 1)[0])
    path = unsubscribe_path(https)
    tampered = path[:-1] + ("A" if path[-1] != "A" else "B")
    for bad in (tampered, "/u/AAAAAAAAAAAAAAAA" + "A" * 26, "/u/short", "/u/"):
        status, _, _, _ = client.request("POST", bad, body="List-Unsubscribe=One-Click", token="",
                                         content_type="application/x-www-form-urlencoded")
        assert status == 404, bad
    assert client.inject(builder([f"ann@{LOCAL_DOMAIN}"]))[2]["accepted"] == 1


def test_the_list_is_per_tenant_and_the_global_list_covers_all(api):
    p, client = api()
    # The shop token unsubscribes ann for shop1 only.
    status, _, reply, _ = client.request("POST", "/api/v1/suppressions", {"addresses": [f"Ann@{LOCAL_DOMAIN}"]},
                                         token=SHOP_TOKEN)
    assert status == 200 and reply == {"added": 1}
    status, _, reply, _ = client.inject(builder([f"ann@{LOCAL_DOMAIN}"]), token=SHOP_TOKEN)
    assert reply["accepted"] == 0 and reply["rejected"][0]["suppressed"] == "manual"
    assert client.inject(builder([f"ann@{LOCAL_DOMAIN}"], tenant="other"))[2]["accepted"] == 1
    # The operator's global entry holds back everyone's mail.
    assert client.request("POST", "/api/v1/suppressions", {"addresses": [f"bob@{LOCAL_DOMAIN}"],
                                                           "reason": "complaint"})[0] == 200
    assert client.inject(builder([f"bob@{LOCAL_DOMAIN}"], tenant="other"))[2]["accepted"] == 0
    # Listing: the shop sees its own; the operator sees all.
    status, _, listed, _ = client.request("GET", "/api/v1/suppressions", token=SHOP_TOKEN)
    assert [(e["address"], e["tenant"]) for e in listed["suppressions"]] == [(f"ann@{LOCAL_DOMAIN}", "shop1")]
    status, _, listed, _ = client.request("GET", "/api/v1/suppressions")
    assert {(e["address"], e["tenant"], e["reason"]) for e in listed["suppressions"]} == {
        (f"ann@{LOCAL_DOMAIN}", "shop1", "manual"), (f"bob@{LOCAL_DOMAIN}", "", "complaint")}
    # The shop cannot touch another tenant's list.
    assert client.request("GET", "/api/v1/suppressions?tenant=other", token=SHOP_TOKEN)[0] == 403
    # Removal.
    assert client.request("DELETE", f"/api/v1/suppressions/ann%40{LOCAL_DOMAIN}", token=SHOP_TOKEN)[0] == 200
    assert client.inject(builder([f"ann@{LOCAL_DOMAIN}"]), token=SHOP_TOKEN)[2]["accepted"] == 1


def test_the_list_pages(api):
    p, client = api()
    addresses = [f"u{i:03}@{LOCAL_DOMAIN}" for i in range(25)]
    assert client.request("POST", "/api/v1/suppressions", {"addresses": addresses})[0] == 200
    seen, after = [], ""
    for _ in range(10):
        q = "/api/v1/suppressions?tenant=&limit=10" + (f"&after={urllib.parse.quote(after)}" if after else "")
        status, _, page, _ = client.request("GET", q)
        assert status == 200
        seen += [e["address"] for e in page["suppressions"]]
        after = page.get("next", "")
        if not after:
            break
    assert seen == addresses


def test_mail_to_the_mailto_link_unsubscribes_from_any_client(api):
    import smtplib
    p, client = api()
    client.inject(builder([f"ann@{LOCAL_DOMAIN}"], unsubscribe=True, campaign="december", tenant="shop1"))
    _, _, mailto = links_of(p.wait_for_messages("ann", 1)[0])
    # A mail reader sends it; the local part may have been lower-cased on the way.
    local, domain = mailto.split("@")
    with smtplib.SMTP(p.host, p.port, source_address=("127.0.0.9", 0), timeout=10) as c:
        c.sendmail(f"ann@{LOCAL_DOMAIN}", [f"{local.lower()}@{domain}"], b"Subject: unsubscribe\r\n\r\n\r\n")
    assert wait_until(lambda: "via=mailto" in p.log_text(), 5), p.log_text()
    status, _, reply, _ = client.inject(builder([f"ann@{LOCAL_DOMAIN}"], tenant="shop1"))
    assert reply["rejected"][0]["suppressed"] == "unsubscribe"
    # A forged token is taken and dropped (no bounce to whoever forged it);
    # any other address at that domain is still relaying, refused.
    with smtplib.SMTP(p.host, p.port, source_address=("127.0.0.9", 0), timeout=10) as c:
        c.sendmail("x@y.test", [f"unsubscribe+{'A' * 42}@{domain}"], b"Subject: x\r\n\r\n\r\n")
        c.mail("x@y.test")
        code, _ = c.rcpt(f"other@{domain}")
    assert code == 554
    assert wait_until(lambda: "token is not valid" in p.log_text(), 5)


ARF = """From: feedback@provider.test\r
To: fbl@petrel.test\r
Subject: complaint\r
MIME-Version: 1.0\r
Content-Type: multipart/report; report-type=feedback-report; boundary="b1"\r
\r
--b1\r
Content-Type: text/plain\r
\r
This is an abuse report.\r
--b1\r
Content-Type: message/feedback-report\r
\r
Feedback-Type: abuse\r
User-Agent: provider/1.0\r
Version: 1\r
Original-Rcpt-To: {rcpt}\r
\r
--b1\r
Content-Type: text/rfc822-headers\r
\r
From: news@example.org\r
To: {rcpt}\r
Subject: Hello\r
{unsubscribe}\r
--b1--\r
"""


def test_an_arf_complaint_suppresses_the_recipient_of_the_reported_message(api):
    import smtplib
    p, client = api(extra='[bounces]\ncomplaints_address = "fbl@petrel.test"\n')
    client.inject(builder([f"ann@{LOCAL_DOMAIN}"], unsubscribe=True, campaign="december", tenant="shop1"))
    msg = email.message_from_bytes(p.wait_for_messages("ann", 1)[0].message, policy=email.policy.default)
    report = ARF.format(rcpt="redacted@provider.test", unsubscribe=f"List-Unsubscribe: {msg['List-Unsubscribe']}")
    with smtplib.SMTP(p.host, p.port, source_address=("127.0.0.9", 0), timeout=10) as c:
        c.sendmail("feedback@provider.test", ["fbl@petrel.test"], report.encode())
    assert wait_until(lambda: "complaint address=ann@local.test campaign=december tenant=shop1" in p.log_text(), 5), \
        p.log_text()
    # Without a token, Original-Rcpt-To goes on the global list.
    report = ARF.format(rcpt=f"bob@{LOCAL_DOMAIN}", unsubscribe="X-Nothing: here")
    with smtplib.SMTP(p.host, p.port, source_address=("127.0.0.9", 0), timeout=10) as c:
        c.sendmail("feedback@provider.test", ["fbl@petrel.test"], report.encode())
    assert wait_until(lambda: "complaint address=bob@local.test" in p.log_text(), 5)
    listed = client.request("GET", "/api/v1/suppressions")[2]["suppressions"]
    assert {(e["address"], e["tenant"], e["reason"]) for e in listed} == {
        (f"ann@{LOCAL_DOMAIN}", "shop1", "complaint"), (f"bob@{LOCAL_DOMAIN}", "", "complaint")}
    assert p.message_files("fbl") == []


def test_petrel_suppress_adds_lists_imports_exports_and_removes(api, tmp_path):
    import json as jsonlib
    import os
    import subprocess
    from harness import PETRELD
    petrel_bin = os.path.join(os.path.dirname(PETRELD), "petrel")
    p, client = api()

    def run(*args):
        r = subprocess.run([petrel_bin, "suppress", "--spool", p.spool, *args], capture_output=True, timeout=30)
        assert r.returncode == 0, r.stderr.decode() + r.stdout.decode()
        return r.stdout.decode()

    assert "suppressed 2 addresses (all tenants)" in run("add", f"a@{LOCAL_DOMAIN}", f"B@{LOCAL_DOMAIN}")
    listing = tmp_path / "list.csv"
    listing.write_text("name,email\nCarol,carol@x.test\nDan,dan@x.test\n")
    assert "suppressed 2 addresses for tenant shop1" in run("import", str(listing), "--tenant", "shop1",
                                                          "--reason", "unsubscribe")
    table = run("list")
    assert f"b@{LOCAL_DOMAIN}" in table and "carol@x.test" in table and "4 suppressed" in table
    entries = [jsonlib.loads(line) for line in run("--json", "list", "--tenant", "shop1").splitlines()]
    assert {(e["address"], e["reason"]) for e in entries} == {("carol@x.test", "unsubscribe"), ("dan@x.test", "unsubscribe")}
    exported = run("export").splitlines()
    assert exported[0] == "address,tenant,reason,campaign,detail,at" and len(exported) == 5
    assert client.inject(builder([f"a@{LOCAL_DOMAIN}"]))[2]["rejected"][0]["suppressed"] == "manual"
    assert "removed 1 address" in run("remove", f"a@{LOCAL_DOMAIN}")
    assert client.inject(builder([f"a@{LOCAL_DOMAIN}"]))[2]["accepted"] == 1
    bad = tmp_path / "bad.txt"
    bad.write_text("ok@x.test\nnot-an-address\n")
    r = subprocess.run([petrel_bin, "suppress", "--spool", p.spool, "import", str(bad)], capture_output=True, timeout=30)
    assert r.returncode != 0 and b"bad.txt:2:" in r.stderr + r.stdout
