"""petrel catch --http: the web view of the caught messages
(docs/petrel-catch.md, HTTP). smtplib sends a plain message, a text+HTML
one whose HTML carries a script, and one that breaks a rule; the JSON API
lists them with their sessions' verdicts, serves each with its report card
and its raw bytes, and refuses ids that try to leave the Maildir. Then
Debian's chromium (driven by python3-selenium; skipped when not installed)
loads the page, sees the three, opens one, and the caught script never
runs in the page's origin.

    PETREL_SCREENSHOTS=/tmp PETRELD=... pytest tests/integration/test_catch_http.py

also saves the page's screenshots there."""
import http.client
import json
import os
import shutil
import smtplib
import socket
import subprocess
import urllib.parse

import pytest

from harness import HOST, PETRELD, free_port, wait_until

PETREL = os.path.join(os.path.dirname(PETRELD), "petrel")
SCREENSHOTS = os.environ.get("PETREL_SCREENSHOTS")

PLAIN = ("From: Alice <alice@client.test>\r\n"
         "To: bob@example.test\r\n"
         "Date: Mon, 07 Dec 2026 11:00:00 +0000\r\n"
         "Message-ID: <1@client.test>\r\n"
         "Subject: Plain hello\r\n"
         "\r\n"
         "Just text.\r\n").encode()

SCRIPT = "<script>window.top.pwned = 1; parent.document.title = 'pwned';</script>"
MULTIPART = ("From: Shop <shop@client.test>\r\n"
             "To: Carol <carol@example.test>\r\n"
             "Date: Mon, 07 Dec 2026 11:01:00 +0000\r\n"
             "Message-ID: <2@client.test>\r\n"
             "Subject: =?UTF-8?Q?Your_order_=E2=9C=93?=\r\n"
             "MIME-Version: 1.0\r\n"
             "Content-Type: multipart/alternative; boundary=\"b1\"\r\n"
             "\r\n"
             "--b1\r\n"
             "Content-Type: text/plain; charset=utf-8\r\n"
             "\r\n"
             "Thanks for your order.\r\n"
             "--b1\r\n"
             "Content-Type: text/html; charset=utf-8\r\n"
             "\r\n"
             f"<html><body><p id=\"thanks\">Thanks for your <b>order</b>.</p>{SCRIPT}</body></html>\r\n"
             "--b1--\r\n").encode()

# No Date:, no Message-ID:, and 8-bit text without BODY=8BITMIME.
RULE_BREAKER = ("From: <sloppy@client.test>\r\n"
                "To: dave@example.test\r\n"
                "Subject: Sloppy\r\n"
                "\r\n").encode() + "Caf\u00e9\r\n".encode("utf-8")


class CatchHttp:
    """`petrel catch --http` on free ports, serving until killed."""

    def __init__(self, tmp_path, *args):
        self.smtp_port = free_port()
        self.http_port = free_port()
        self.maildir = tmp_path / "caught"
        self.stderr_path = tmp_path / "catch.stderr"
        self.stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [PETREL, "catch", "--listen", f"{HOST}:{self.smtp_port}", "--http", f"{HOST}:{self.http_port}",
             "--maildir", str(self.maildir), "--hostname", "catch.test", "--json", *args],
            stdout=subprocess.DEVNULL, stderr=self.stderr)
        up = wait_until(lambda: b"listening on" in self.stderr_path.read_bytes() or self.proc.poll() is not None, 10)
        assert up and self.proc.poll() is None, self.stderr_path.read_text()

    def log(self):
        return self.stderr_path.read_text(errors="replace")

    def send(self, message, sender, recipients, **kw):
        with smtplib.SMTP(HOST, self.smtp_port, local_hostname="client.test", timeout=10) as c:
            c.sendmail(sender, recipients, message, **kw)

    def get(self, path):
        c = http.client.HTTPConnection(HOST, self.http_port, timeout=30)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, r.headers, body

    def json(self, path):
        status, _, body = self.get(path)
        assert status == 200, (path, status, body)
        return json.loads(body)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.stderr.close()


@pytest.fixture
def catch_http(tmp_path):
    c = CatchHttp(tmp_path)
    yield c
    c.close()


@pytest.fixture
def three(catch_http):
    """The three messages sent and their sessions' reports written."""
    c = catch_http
    c.send(PLAIN, "alice@client.test", ["bob@example.test"])
    c.send(MULTIPART, "shop@client.test", ["carol@example.test"])
    c.send(RULE_BREAKER, "sloppy@client.test", ["dave@example.test"])
    def reported():
        return len([m for m in c.json("/api/v1/caught")["messages"] if m["verdict"]]) == 3
    assert wait_until(reported, 10), c.json("/api/v1/caught")
    return c


def by_subject(c):
    return {m["subject"]: m for m in c.json("/api/v1/caught")["messages"]}


# -- the JSON API ----------------------------------------------------------------

def test_the_list_is_newest_first_with_each_sessions_verdict(three):
    doc = three.json("/api/v1/caught")
    assert doc["total"] == 3 and doc["offset"] == 0 and doc["limit"] == 100 and doc["truncated"] is False
    assert [m["subject"] for m in doc["messages"]] == ["Sloppy", "Your order \u2713", "Plain hello"]
    plain, order, sloppy = doc["messages"][2], doc["messages"][1], doc["messages"][0]
    assert plain["from"] == "Alice <alice@client.test>" and plain["to"] == "bob@example.test"
    assert plain["date"] == "2026-12-07T11:00:00Z" and plain["verdict"] == "pass"
    assert plain["size"] == len(PLAIN) and plain["folder"] == "new"
    assert order["verdict"] == "pass"
    assert sloppy["verdict"] == "fail" and sloppy["date"] is None
    # Paging.
    page = three.json("/api/v1/caught?limit=1&offset=1")
    assert [m["subject"] for m in page["messages"]] == ["Your order \u2713"] and page["total"] == 3
    status, headers, body = three.get("/api/v1/caught?limit=many")
    assert status == 400 and json.loads(body)["pointer"] == "/limit"
    assert headers["Content-Type"] == "application/problem+json"


def test_one_message_has_its_envelope_parts_and_report_card(three):
    order = by_subject(three)["Your order \u2713"]
    m = three.json(order["url"])
    assert m["envelope"]["from"] == "<shop@client.test>" and m["envelope"]["to"] == ["<carol@example.test>"]
    assert {"name": "Message-ID", "value": "<2@client.test>"} in m["headers"]
    text, html = m["parts"]
    assert text["content_type"] == "text/plain" and text["text"] == "Thanks for your order."
    assert html["content_type"] == "text/html" and SCRIPT in html["text"]
    report = m["report"]
    assert report["verdict"] == "pass" and report["message_index"] == 0 and report["greeting"] == "EHLO"
    levels = {row["id"]: row["level"] for row in report["card"]}
    assert levels["bare-lf"] == "pass" and levels["no-date"] == "pass"

    sloppy = three.json(by_subject(three)["Sloppy"]["url"])
    rows = {row["id"]: row for row in sloppy["report"]["card"]}
    assert rows["8bit-without-8bitmime"]["level"] == "fail" and rows["8bit-without-8bitmime"]["detail"]
    assert rows["no-date"]["level"] == "warn" and rows["no-message-id"]["level"] == "warn"
    assert sloppy["parts"][0]["text"] == "Caf\u00e9\r\n"


def test_raw_is_the_message_byte_for_byte_as_an_attachment(three):
    for subject, sent in (("Plain hello", PLAIN), ("Your order \u2713", MULTIPART)):
        m = by_subject(three)[subject]
        status, headers, body = three.get(m["url"] + "/raw")
        assert status == 200 and body == sent
        assert headers["Content-Type"] == "message/rfc822"
        assert headers["Content-Disposition"] == f'attachment; filename="{m["id"]}.eml"'
        assert headers["Content-Security-Policy"].startswith("sandbox")
        [file] = [p for p in (three.maildir / "new").iterdir() if p.name == m["id"]]
        assert file.read_bytes() == body


def test_the_html_part_is_served_sandboxed(three):
    m = three.json(by_subject(three)["Your order \u2713"]["url"])
    status, headers, body = three.get(m["parts"][1]["url"])
    assert status == 200 and SCRIPT.encode() in body
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Content-Security-Policy"].startswith("sandbox;")
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "SAMEORIGIN"


def test_bad_ids_and_traversal_are_not_found(three):
    (three.maildir / "secret").write_text("outside new/ and cur/")
    report = next((three.maildir / "reports").iterdir()).name
    quoted = urllib.parse.quote
    for path in ("/api/v1/caught/nope", "/api/v1/caught/..", "/api/v1/caught/%2e%2e",
                 "/api/v1/caught/" + quoted("../secret", safe=""), "/api/v1/caught/..%2F..%2Fetc%2Fpasswd/raw",
                 "/api/v1/caught/" + quoted("../reports/" + report, safe="") + "/raw",
                 "/api/v1/caught/secret/raw", "/api/v1/caught/tmp", "/api/v1/caught/%00",
                 "/api/v1/caught/a%2fb", "/static/../../secret"):
        status, headers, body = three.get(path)
        assert status in (400, 404), (path, status, body)
        assert b"outside new/" not in body
    status, _, _ = three.get("/api/v1/caught/" + by_subject(three)["Sloppy"]["id"] + "/parts/7")
    assert status == 404


def test_every_response_carries_the_security_headers(three):
    m = by_subject(three)["Plain hello"]
    for path in ("/", "/static/app.js", "/static/app.css", "/api/v1/caught", m["url"], "/api/v1/caught/nope"):
        status, headers, _ = three.get(path)
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "no-referrer", path
        assert headers["Cache-Control"] == "no-store", path
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert headers["X-Frame-Options"] == "DENY", path
    c = http.client.HTTPConnection(HOST, three.http_port, timeout=10)
    c.request("POST", "/api/v1/caught", body=b"")
    r = c.getresponse()
    assert r.status == 405 and r.getheader("Allow") == "GET"
    c.close()


def test_a_message_moved_to_cur_keeps_its_id(three):
    m = by_subject(three)["Plain hello"]
    (three.maildir / "new" / m["id"]).rename(three.maildir / "cur" / (m["id"] + ":2,S"))
    moved = by_subject(three)["Plain hello"]
    assert moved["id"] == m["id"] and moved["folder"] == "cur" and moved["verdict"] == "pass"
    status, _, body = three.get(m["url"] + "/raw")
    assert status == 200 and body == PLAIN


def test_an_http_port_in_use_exits_3(tmp_path):
    busy = free_port()
    with socket.socket() as s:
        s.bind((HOST, busy))
        s.listen()
        p = subprocess.run([PETREL, "catch", "--listen", f"{HOST}:0", "--http", f"{HOST}:{busy}",
                            "--maildir", str(tmp_path / "c")], capture_output=True, text=True, timeout=30)
    assert p.returncode == 3 and "--http" in p.stderr


# -- in the browser --------------------------------------------------------------

@pytest.fixture
def browser():
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    webdriver = pytest.importorskip("selenium.webdriver")
    if not chromium or not driver_path:
        pytest.skip("needs Debian's chromium and chromium-driver")
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1440,900",
                "--disable-dev-shm-usage", "--lang=en-GB"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def find(driver, css):
    from selenium.webdriver.common.by import By
    found = driver.find_elements(By.CSS_SELECTOR, css)
    return found[0] if found else None


def texts(driver, css):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    try:
        return [e.text for e in driver.find_elements(By.CSS_SELECTOR, css)]
    except StaleElementReferenceException:
        return []


def shoot(driver, name, tmp_path):
    driver.save_screenshot(str(tmp_path / f"{name}.png"))
    if SCREENSHOTS:
        shutil.copy(tmp_path / f"{name}.png", os.path.join(SCREENSHOTS, f"catch-{name}.png"))


def console_errors(driver):
    """Errors in the console, but the one a sandboxed frame logs when it
    refuses to run the caught message's script: that refusal is the point."""
    return [e["message"] for e in driver.get_log("browser")
            if e["level"] == "SEVERE" and "sandboxed" not in e["message"]]


def click_tab(driver, name):
    find(driver, f'#tabs button[data-tab="{name}"]').click()


def test_the_page_lists_the_messages_and_opens_one(three, browser, tmp_path):
    browser.get(f"http://{HOST}:{three.http_port}/")
    subjects = ["Sloppy", "Your order \u2713", "Plain hello"]
    assert wait_until(lambda: texts(browser, "#list .subject") == subjects, 10), texts(browser, "#list .subject")
    assert texts(browser, "#list td:first-child") == ["FAIL", "PASS", "PASS"]
    assert "3 messages" in find(browser, "#count").text
    shoot(browser, "list", tmp_path)

    # The one that broke a rule: its report card says which.
    find(browser, "#list tr:nth-child(1) .subject").click()
    assert wait_until(lambda: find(browser, "#subject").text == "Sloppy", 10)
    assert wait_until(lambda: find(browser, '#card tr[data-finding="8bit-without-8bitmime"]') is not None, 10)
    row = find(browser, '#card tr[data-finding="8bit-without-8bitmime"]')
    assert "FAIL" in row.text and "8bit-without-8bitmime" in row.text
    assert "WARN" in find(browser, '#card tr[data-finding="no-date"]').text
    assert "PASS" in find(browser, '#card tr[data-finding="bare-lf"]').text
    shoot(browser, "report", tmp_path)

    # The multipart one: its text, its headers, and its HTML in a sandbox.
    find(browser, "#list tr:nth-child(2) .subject").click()
    assert wait_until(lambda: find(browser, "#subject").text == "Your order \u2713", 10)
    click_tab(browser, "text")
    assert wait_until(lambda: "Thanks for your order." in find(browser, "#text").text, 10)
    click_tab(browser, "headers")
    assert "<2@client.test>" in find(browser, "#headers").text
    click_tab(browser, "html")
    frame = find(browser, "#html iframe")
    assert frame is not None and frame.get_attribute("sandbox") == ""
    browser.switch_to.frame(frame)
    assert wait_until(lambda: find(browser, "#thanks") is not None, 10)
    assert "Thanks for your order." in find(browser, "#thanks").text
    browser.switch_to.default_content()
    shoot(browser, "html", tmp_path)
    # The caught script did not run: not in the page, not in the frame.
    assert browser.title == "petrel catch"
    assert browser.execute_script("return window.pwned === undefined")
    assert console_errors(browser) == []


def test_the_list_refreshes_by_itself(catch_http, browser):
    c = catch_http
    browser.get(f"http://{HOST}:{c.http_port}/")
    assert wait_until(lambda: find(browser, "#empty").is_displayed(), 10)
    c.send(PLAIN, "alice@client.test", ["bob@example.test"])
    assert wait_until(lambda: texts(browser, "#list .subject") == ["Plain hello"], 10)
    assert wait_until(lambda: texts(browser, "#list td:first-child") == ["PASS"], 10)
    assert console_errors(browser) == []
