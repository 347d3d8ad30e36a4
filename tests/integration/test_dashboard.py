"""The operator's dashboard (docs/dashboard.md) on petreld's HTTP listener:
in a real browser (Debian's chromium and chromium-driver, driven by
python3-selenium; skipped when they are not installed) an operator logs in
with an API token, watches mail being counted and holds a message; over
plain HTTP, the session cookie's attributes and the CSRF defences.

    PETREL_SCREENSHOTS=docs/images PETRELD=... pytest tests/integration/test_dashboard.py

also writes the screenshots of docs/dashboard.md."""
import http.client
import json
import os
import shutil
import smtplib
import subprocess

import pytest

from api_client import SHOP_TOKEN, TOKEN, Api, write_config
from harness import HOST, LOCAL_DOMAIN, PETRELD, free_port, wait_until
from recorder import Recorder

PETREL = os.path.join(os.path.dirname(PETRELD), "petrel")
FAR = "far.test"        # its MX refuses connections: mail waits (deferred)
REFUSING = "nx.test"    # its MX says 550 to every recipient: mail bounces
SCREENSHOTS = os.environ.get("PETREL_SCREENSHOTS")


# -- fixtures ------------------------------------------------------------------

@pytest.fixture
def dashboard(start_petrel, tmp_path):
    """dashboard(): a petreld with [http] on loopback, whose mail for far.test
    waits (nothing listens there) and for nx.test bounces (550); returns
    (petrel, port)."""
    recorders = []

    def start():
        refusing = Recorder("127.0.0.21", port=free_port("127.0.0.21"),
                            reply="550 5.1.1 no such user here", reply_at="RCPT").start()
        recorders.append(refusing)
        d = tmp_path / "cfg"
        d.mkdir()
        path, port = write_config(d)
        dead = free_port("127.0.0.4")
        p = start_petrel("--config", path, "--trusted-network", "127.0.0.0/8", "--retry-intervals", "1h",
                         "--transport", f"{FAR}=smtp:[127.0.0.4]:{dead}",
                         "--transport", f"{REFUSING}=smtp:[127.0.0.21]:{refusing.port}")
        assert wait_until(lambda: http_ok(port), 10), p.stderr()
        return p, port

    yield start
    for r in recorders:
        r.stop()


def http_ok(port):
    try:
        get(port, "/")
        return True
    except OSError:
        return False


@pytest.fixture
def browser():
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    webdriver = pytest.importorskip("selenium.webdriver")
    if not chromium or not driver_path:
        pytest.skip("needs Debian's chromium and chromium-driver")
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1440,1000",
                "--disable-dev-shm-usage", "--lang=en-GB"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


# -- helpers -------------------------------------------------------------------

def request(port, method, path, body=None, headers=None):
    c = http.client.HTTPConnection(HOST, port, timeout=30)
    data = json.dumps(body).encode() if body is not None else None
    h = dict(headers or {})
    if data is not None:
        h.setdefault("Content-Type", "application/json")
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    raw = r.read()
    c.close()
    return r.status, r.headers, raw


def get(port, path, headers=None):
    return request(port, "GET", path, headers=headers)


def login(port, token=TOKEN, headers=None):
    """(status, cookie header for later requests, csrf token, Set-Cookie)."""
    status, h, raw = request(port, "POST", "/dashboard/api/login", {"token": token}, headers)
    set_cookie = h.get("Set-Cookie", "")
    cookie = set_cookie.split(";")[0]
    csrf = json.loads(raw).get("csrf") if status == 200 else None
    return status, cookie, csrf, set_cookie


def send(server, recipients, subject="hello"):
    with smtplib.SMTP(server.host, server.port, local_hostname="client.test", timeout=10) as c:
        c.sendmail(f"me@{LOCAL_DOMAIN}", recipients, f"Subject: {subject}\r\n\r\nbody\r\n".encode())


def petrel_queue(server, *args):
    r = subprocess.run([PETREL, "queue", "--spool", server.spool, *args], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=30, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def queued_ids(server):
    return [m["id"] for m in json.loads(petrel_queue(server, "--json", "list"))]


def find(driver, css):
    from selenium.webdriver.common.by import By
    found = driver.find_elements(By.CSS_SELECTOR, css)
    return found[0] if found else None


def text_of(driver, css):
    """The element's text, None if absent (or replaced by a refresh meanwhile)."""
    from selenium.common.exceptions import StaleElementReferenceException
    try:
        e = find(driver, css)
        return e.text if e is not None else None
    except StaleElementReferenceException:
        return None


def browser_login(driver, port, token=TOKEN):
    driver.get(f"http://{HOST}:{port}/")
    assert wait_until(lambda: find(driver, "#login-token").is_displayed(), 10)
    find(driver, "#login-token").send_keys(token)
    find(driver, "#login-submit").click()


def shoot(driver, name, tmp_path):
    driver.save_screenshot(str(tmp_path / f"{name}.png"))
    if SCREENSHOTS:
        os.makedirs(SCREENSHOTS, exist_ok=True)
        shutil.copy(tmp_path / f"{name}.png", os.path.join(SCREENSHOTS, f"dashboard-{name}.png"))


def csp_violations(driver):
    return [e["message"] for e in driver.get_log("browser")
            if "Content Security Policy" in e["message"] or "Refused to" in e["message"]]


# -- in the browser --------------------------------------------------------------

def test_log_in_send_mail_and_watch_the_overview_count_it(dashboard, browser, tmp_path):
    p, port = dashboard()
    browser_login(browser, port)
    assert wait_until(lambda: text_of(browser, "#card-received .value") == "0", 10)
    assert "Idle" in text_of(browser, "#status")

    for i in range(3):
        send(p, [f"ann{i}@{LOCAL_DOMAIN}"])
    send(p, [f"bob@{FAR}"])
    # The page polls every 5 s: the counts change without a reload.
    assert wait_until(lambda: text_of(browser, "#card-received .value") == "4", 15), \
        text_of(browser, "#page-overview")
    assert wait_until(lambda: text_of(browser, "#card-delivered .value") == "3", 15)
    assert wait_until(lambda: text_of(browser, "#card-deferred .value") == "1", 15)
    assert wait_until(lambda: text_of(browser, "#card-queued .value") == "1", 15)
    assert "Mail is flowing" in text_of(browser, "#status")
    assert "1 queued" in text_of(browser, "#queue-size")
    # Both charts are drawn (uPlot's canvas), and the strict CSP let everything run.
    assert find(browser, "#chart-traffic canvas") is not None and find(browser, "#chart-depth canvas") is not None
    assert csp_violations(browser) == []
    shoot(browser, "first-mail", tmp_path)


def test_hold_a_message_from_the_queue_browser(dashboard, browser, tmp_path):
    p, port = dashboard()
    send(p, [f"bob@{FAR}"], subject="to hold")
    send(p, [f"carol@{FAR}"], subject="to leave alone")
    assert wait_until(lambda: len(queued_ids(p)) == 2, 15)
    qid = json.loads(petrel_queue(p, "--json", "list"))[0]["id"]

    browser_login(browser, port)
    assert wait_until(lambda: find(browser, "#tabs").is_displayed(), 10)
    browser.get(f"http://{HOST}:{port}/#queue")
    row = f'#queue-table tr[data-id="{qid}"]'
    assert wait_until(lambda: find(browser, row) is not None, 15), text_of(browser, "#page-queue")
    # Search by recipient finds only bob's message.
    from selenium.webdriver.support.ui import Select
    Select(find(browser, "#queue-by")).select_by_value("recipient")
    find(browser, "#queue-q").send_keys("bob@")
    find(browser, "#queue-search").click()
    assert wait_until(lambda: len(browser.find_elements("css selector", "#queue-table tbody tr")) == 1, 10)
    assert find(browser, row) is not None

    find(browser, row + " input[type=checkbox]").click()
    find(browser, "#queue-hold").click()
    assert wait_until(lambda: (text_of(browser, row + " .pill") or "") == "held", 10)
    shown = json.loads(petrel_queue(p, "--json", "show", qid))
    assert shown["held"] is True, shown
    others = [m for m in json.loads(petrel_queue(p, "--json", "list")) if m["id"] != qid]
    assert [m["held"] for m in others] == [False]

    # The message's envelope, headers and history.
    find(browser, row + " td.mono").click()
    assert wait_until(lambda: find(browser, "#message").is_displayed(), 10)
    assert wait_until(lambda: "Subject: to hold" in (text_of(browser, "#message-headers") or ""), 10)
    assert f"bob@{FAR}" in text_of(browser, "#message-envelope")
    history = text_of(browser, "#message-history")
    assert "Reception" in history and "TransientFailure" in history and "AdminAction" in history
    assert csp_violations(browser) == []
    shoot(browser, "queue", tmp_path)


def test_a_wrong_token_is_refused(dashboard, browser):
    p, port = dashboard()
    browser_login(browser, port, token="not-the-token-0123456789")
    assert wait_until(lambda: "not valid" in (text_of(browser, "#login-error") or ""), 10)
    assert not find(browser, "#tabs").is_displayed()
    assert browser.get_cookies() == []
    assert "login refused" in p.log_text()


def test_a_tour_of_every_page(dashboard, browser, tmp_path):
    """Campaign mail that is delivered, deferred and bounced; the sites,
    campaigns and bounces pages show it, and a site is suspended and resumed."""
    p, port = dashboard()
    api = Api(port)
    status, _, reply, raw = api.inject({
        "envelope_sender": f"bounces@{LOCAL_DOMAIN}", "from": {"email": f"news@{LOCAL_DOMAIN}"},
        "recipients": [{"email": f"ann@{LOCAL_DOMAIN}"}, {"email": f"ben@{LOCAL_DOMAIN}"},
                       {"email": f"cat@{FAR}"}, {"email": f"dan@{REFUSING}"}, {"email": f"eve@{REFUSING}"}],
        "subject": "December news", "text": "Hello", "campaign": "december"})
    assert status == 200, raw
    send(p, [f"zed@{REFUSING}"])
    assert wait_until(lambda: len(queued_ids(p)) == 1, 20)

    browser_login(browser, port)
    assert wait_until(lambda: find(browser, "#tabs").is_displayed(), 10)
    browser.get(f"http://{HOST}:{port}/#campaigns")
    row = '#campaigns-table tr[data-campaign="december"]'
    assert wait_until(lambda: find(browser, row) is not None, 15)
    cells = [td.text for td in find(browser, row).find_elements("css selector", "td")]
    assert cells[1:5] == ["5", "2", "1", "2"], cells   # sent, delivered, deferred, bounced
    shoot(browser, "campaigns", tmp_path)

    browser.get(f"http://{HOST}:{port}/#feed")
    assert wait_until(lambda: len(browser.find_elements("css selector", "#bounces-table tbody tr")) == 3, 15)
    assert f"dan@{REFUSING}" in text_of(browser, "#bounces-table") and "550" in text_of(browser, "#bounces-table")
    shoot(browser, "feed", tmp_path)

    browser.get(f"http://{HOST}:{port}/#sites")
    site_row = "#sites-table tbody tr"
    assert wait_until(lambda: find(browser, site_row) is not None, 15)
    site = find(browser, site_row).get_attribute("data-site")
    shoot(browser, "sites", tmp_path)
    find(browser, site_row + " button.suspend").click()
    assert wait_until(lambda: (text_of(browser, f'#sites-table tr[data-site="{site}"] .pill') or "") == "suspended", 10)
    assert '"state":"suspended"' in petrel_queue(p, "--json", "sites").replace(" ", "")
    find(browser, f'#sites-table tr[data-site="{site}"] button.resume').click()
    assert wait_until(lambda: (text_of(browser, f'#sites-table tr[data-site="{site}"] .pill') or "") != "suspended", 10)

    browser.get(f"http://{HOST}:{port}/#overview")
    assert wait_until(lambda: text_of(browser, "#card-bounced .value") == "3", 15)
    assert csp_violations(browser) == []
    shoot(browser, "overview", tmp_path)
    find(browser, "#logout").click()
    assert wait_until(lambda: find(browser, "#login-token").is_displayed(), 10)
    shoot(browser, "login", tmp_path)


# -- over plain HTTP ---------------------------------------------------------------

def test_the_page_and_its_files_carry_a_strict_policy(dashboard):
    _, port = dashboard()
    for path in ("/", "/dashboard/static/app.js", "/dashboard/static/vendor/uPlot.iife.min.js"):
        status, h, body = get(port, path)
        assert status == 200, path
        assert "default-src 'self'" in h["Content-Security-Policy"]
        assert h["X-Content-Type-Options"] == "nosniff" and h["X-Frame-Options"] == "DENY"
    status, h, body = get(port, "/")
    assert h["Content-Type"].startswith("text/html") and b"<title>Petrel</title>" in body
    assert b"http://" not in body and b"https://" not in body  # nothing from another host
    assert get(port, "/dashboard/static/nothing.js")[0] == 404


def test_the_session_cookie_is_http_only_and_same_site_strict(dashboard):
    _, port = dashboard()
    status, cookie, csrf, set_cookie = login(port)
    assert status == 200 and csrf
    attributes = [a.strip() for a in set_cookie.split(";")]
    assert attributes[0].startswith("petrel_session=") and len(attributes[0]) == len("petrel_session=") + 64
    assert "HttpOnly" in attributes and "SameSite=Strict" in attributes and "Path=/" in attributes
    assert "Secure" not in attributes  # plain HTTP on loopback; TLS listeners add it
    status, _, raw = get(port, "/dashboard/api/overview", {"Cookie": cookie})
    assert status == 200 and json.loads(raw)["status"] == "idle"


def test_without_a_session_the_dashboards_api_says_401(dashboard):
    _, port = dashboard()
    for path in ("overview", "sites", "queue", "campaigns", "feed", "session"):
        assert get(port, f"/dashboard/api/{path}")[0] == 401, path
    assert get(port, "/dashboard/api/overview", {"Cookie": "petrel_session=" + "0" * 64})[0] == 401
    status, h, raw = request(port, "POST", "/dashboard/api/queue/flush", {}, {"X-CSRF-Token": "x"})
    assert status == 401 and h["Content-Type"] == "application/problem+json"
    # A bearer token is not a session: the dashboard takes cookies only.
    assert get(port, "/dashboard/api/overview", {"Authorization": f"Bearer {TOKEN}"})[0] == 401


def test_actions_without_the_csrf_token_or_from_another_origin_get_403(dashboard):
    p, port = dashboard()
    send(p, [f"bob@{FAR}"])
    assert wait_until(lambda: len(queued_ids(p)) == 1, 15)
    qid = queued_ids(p)[0]
    _, cookie, csrf, _ = login(port)
    hold = {"ids": [qid]}
    own = f"http://{HOST}:{port}"
    assert request(port, "POST", "/dashboard/api/queue/hold", hold, {"Cookie": cookie})[0] == 403
    assert request(port, "POST", "/dashboard/api/queue/hold", hold,
                   {"Cookie": cookie, "X-CSRF-Token": "0" * 64})[0] == 403
    assert request(port, "POST", "/dashboard/api/queue/hold", hold,
                   {"Cookie": cookie, "X-CSRF-Token": csrf, "Origin": "https://evil.example"})[0] == 403
    assert request(port, "POST", "/dashboard/api/queue/hold", hold,
                   {"Cookie": cookie, "X-CSRF-Token": csrf, "Referer": "https://evil.example/x"})[0] == 403
    assert json.loads(petrel_queue(p, "--json", "show", qid))["held"] is False
    status, _, raw = request(port, "POST", "/dashboard/api/queue/hold", hold,
                             {"Cookie": cookie, "X-CSRF-Token": csrf, "Origin": own})
    assert status == 200 and json.loads(raw)["done"] == [qid], raw
    assert json.loads(petrel_queue(p, "--json", "show", qid))["held"] is True
    # Logging in from another origin (login CSRF) is refused too.
    assert login(port, headers={"Origin": "https://evil.example"})[0] == 403


def test_logins_that_are_refused_and_a_logout(dashboard):
    p, port = dashboard()
    status, _, _, set_cookie = login(port, token="wrong-token-0123456789abcdef")
    assert status == 401 and set_cookie == ""
    status, _, _, _ = login(port, token=SHOP_TOKEN)  # bound to a tenant: not an operator
    assert status == 403
    status, h, raw = request(port, "POST", "/dashboard/api/login", {"nothing": 1})
    assert status == 400 and json.loads(raw)["pointer"] == "/token"
    _, cookie, csrf, _ = login(port)
    status, h, _ = request(port, "POST", "/dashboard/api/logout", {}, {"Cookie": cookie, "X-CSRF-Token": csrf})
    assert status == 204 and "Max-Age=0" in h["Set-Cookie"]
    assert get(port, "/dashboard/api/overview", {"Cookie": cookie})[0] == 401
    # The API itself is as it was: bearer tokens, no cookies.
    assert Api(port, token="").inject({})[0] == 401
