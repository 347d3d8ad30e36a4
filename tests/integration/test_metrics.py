"""Prometheus metrics (docs/metrics.md): GET /metrics on the HTTP listener
serves the text format 0.0.4, which promtool (Debian's prometheus) checks;
the counters follow mail received and delivered; a real Prometheus server
started on loopback scrapes petreld and a counter is queried back through
its HTTP API.

    PETRELD=/work/main/build/petreld /usr/bin/python3 -m pytest -q tests/integration/test_metrics.py
"""
import json
import re
import shutil
import subprocess
import urllib.parse
import urllib.request

import pytest

from api_client import Api, write_config
from harness import HOST, LOCAL_DOMAIN, free_port, wait_until
from test_api import port_open

PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")


@pytest.fixture
def petrel(start_petrel, tmp_path):
    def start(http_extra=""):
        path, port = write_config(tmp_path, http_extra)
        p = start_petrel("--config", path)
        assert wait_until(lambda: port_open(port), 10), p.stderr()
        return p, Api(port)
    return start


def scrape(client, token=""):
    status, headers, _, raw = client.request("GET", "/metrics", token=token)
    return status, headers, raw.decode()


def sample(text, name, **labels):
    """The value of one sample (None when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = "^" + re.escape(name) + (r"\{" + re.escape(want) + r"\}" if labels else "") + r" (\S+)$"
    m = re.search(pattern, text, re.M)
    return float(m.group(1)) if m else None


def send(p, count, user="ann"):
    with p.smtp() as c:
        for i in range(count):
            c.sendmail(f"sender@{LOCAL_DOMAIN}", [f"{user}@{LOCAL_DOMAIN}"], f"Subject: m{i}\r\n\r\nbody\r\n".encode())


def test_metrics_need_no_token_and_pass_promtool(petrel):
    p, client = petrel()
    send(p, 3)
    p.wait_for_messages("ann", 3)
    status, headers, text = scrape(client)
    assert status == 200, text
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    for family in ("petrel_messages_received_total", "petrel_deliveries_total", "petrel_bounces_total",
                   "petrel_webhook_events_total", "petrel_queue_messages", "petrel_site_connections",
                   "petrel_sessions", "petrel_spool_bytes", "petrel_spool_commit_seconds",
                   "petrel_delivery_seconds"):
        assert f"# TYPE {family} " in text, family
    listener = f"{p.host}:{p.port}"
    assert wait_until(lambda: sample(scrape(client)[2], "petrel_deliveries_total", result="delivered", site="local") == 3, 5)
    text = scrape(client)[2]
    assert sample(text, "petrel_messages_received_total", listener=listener) == 3, text
    assert sample(text, "petrel_spool_commit_seconds_count") >= 1  # three stores, one commit or more
    assert sample(text, "petrel_spool_bytes") > 0
    assert sample(text, "petrel_queue_messages", state="scheduled") is not None
    if not PROMTOOL:
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)
    assert r.returncode == 0, (r.stdout + r.stderr).decode() + "\n" + text


def test_metrics_can_require_a_token(petrel):
    p, client = petrel("metrics_public = false")
    status, headers, _ = scrape(client)
    assert status == 401 and headers.get("WWW-Authenticate", "").startswith("Bearer")
    status, _, text = scrape(client, token=client.token)
    assert status == 200 and "petrel_sessions" in text


def test_only_get_is_allowed(petrel):
    _, client = petrel()
    status, headers, _, _ = client.request("POST", "/metrics", body={}, token="")
    assert status == 405 and headers.get("Allow") == "GET"


def test_a_prometheus_server_scrapes_petreld_and_answers_a_query(petrel, tmp_path):
    if not PROMETHEUS:
        pytest.skip("prometheus is not installed (apt-get install prometheus)")
    p, client = petrel()
    send(p, 5, user="bob")
    p.wait_for_messages("bob", 5)
    prom_port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n"
        "scrape_configs:\n"
        "  - job_name: petrel\n"
        f"    static_configs:\n      - targets: ['{HOST}:{client.port}']\n")
    data = tmp_path / "prom-data"
    proc = subprocess.Popen([PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={data}",
                             f"--web.listen-address={HOST}:{prom_port}"],
                            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "prometheus.log", "wb"))
    try:
        query = "sum(petrel_messages_received_total)"

        def answered():
            url = f"http://{HOST}:{prom_port}/api/v1/query?" + urllib.parse.urlencode({"query": query})
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    reply = json.load(r)
            except OSError:
                return None
            result = reply.get("data", {}).get("result", [])
            return float(result[0]["value"][1]) if result else None
        assert wait_until(lambda: answered() == 5, 40, interval=0.5), \
            f"Prometheus answered {answered()}; its log:\n{(tmp_path / 'prometheus.log').read_text()[-3000:]}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
