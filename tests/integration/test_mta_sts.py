"""MTA-STS (RFC 8461) on the delivery side: dnsmasq publishes the
_mta-sts TXT record and the MX, a small HTTPS server on 127.0.0.6:443
serves the policy with a certificate from the test CA, and a petreld with
that CA's certificate receives on 127.0.0.7:25 as mail.petrel.test."""
import http.server
import os
import ssl
import subprocess
import threading

import pytest

from dns_zone import DnsZone, dnsmasq_binary
from harness import LOCAL_DOMAIN, message, wait_until

import smtplib

DOMAIN = "sts.test"
POLICY_HOST = "127.0.0.6"
MX_HOST = "127.0.0.7"
MX_NAME = "mail.petrel.test"  # the name on tls_files' certificate


def issue_certificate(tls_files, directory, name):
    """A certificate for `name` signed by the test CA: (cert, key)."""
    key, csr, cert, ext = (os.path.join(directory, f) for f in ("sts.key", "sts.csr", "sts.pem", "sts.ext"))
    with open(ext, "w") as f:
        f.write(f"subjectAltName=DNS:{name}\nextendedKeyUsage=serverAuth\n")
    for argv in (["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                  "-subj", f"/CN={name}", "-keyout", key, "-out", csr],
                 ["openssl", "x509", "-req", "-in", csr, "-CA", tls_files.ca, "-CAkey", tls_files.ca_key,
                  "-CAcreateserial", "-days", "30", "-extfile", ext, "-out", cert]):
        r = subprocess.run(argv, capture_output=True, timeout=30)
        assert r.returncode == 0, r.stderr
    return cert, key


class PolicyServer:
    """HTTPS on POLICY_HOST:443 answering /.well-known/mta-sts.txt."""

    def __init__(self, cert, key, policy):
        self.policy = policy
        self.requests = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests += 1
                if self.path != "/.well-known/mta-sts.txt":
                    self.send_error(404)
                    return
                body = outer.policy.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer((POLICY_HOST, 443), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def sts(tmp_path, tls_files):
    if dnsmasq_binary() is None:
        pytest.skip("dnsmasq is not installed (apt-get install dnsmasq-base)")
    if os.geteuid() != 0:
        pytest.skip("the policy server needs port 443 (root)")
    cert, key = issue_certificate(tls_files, tmp_path, f"mta-sts.{DOMAIN}")
    zone = (DnsZone()
            .mx(DOMAIN, MX_NAME, 10).host(MX_NAME, MX_HOST)
            .txt(f"_mta-sts.{DOMAIN}", "v=STSv1; id=20261123T1")
            .host(f"mta-sts.{DOMAIN}", POLICY_HOST)
            .start())
    server = PolicyServer(cert, key, f"version: STSv1\r\nmode: enforce\r\nmx: {MX_NAME}\r\nmax_age: 86400\r\n")
    try:
        yield zone, server
    finally:
        server.stop()
        zone.stop()


def relay_for(servers, tmp_path, tls_files, zone):
    config = tmp_path / "relay.toml"
    config.write_text(f'[delivery]\ntls_ca_file = "{tls_files.ca}"\n')
    return servers("a", "--config", str(config), "--trusted-network", "127.0.0.0/8", "--resolver", zone.upstream,
                   "--retry-intervals", "1h")


def send(relay, to):
    with smtplib.SMTP(relay.host, relay.port, local_hostname="client.test", timeout=10) as c:
        c.sendmail(f"me@{LOCAL_DOMAIN}", [to], message(subject="sts"))


def test_an_enforced_policy_delivers_over_verified_tls(servers, tmp_path, tls_files, sts):
    zone, policy_server = sts
    receiver = servers("mx", "--local-domain", DOMAIN, "--tls-cert", tls_files.cert, "--tls-key", tls_files.key,
                       host=MX_HOST, port=25)
    relay = relay_for(servers, tmp_path, tls_files, zone)
    send(relay, f"bob@{DOMAIN}")
    assert wait_until(lambda: receiver.message_files("bob", DOMAIN), 20), relay.log_text()
    log = relay.log_text()
    assert "mta-sts domain=sts.test id=20261123T1 mode=enforce" in log, log
    assert "tls=TLSv1.3" in log
    # a second message uses the cached policy: no second fetch
    send(relay, f"carol@{DOMAIN}")
    assert wait_until(lambda: receiver.message_files("carol", DOMAIN), 20), relay.log_text()
    assert policy_server.requests == 1


def test_an_enforced_policy_never_sends_in_the_clear(servers, tmp_path, tls_files, sts):
    zone, _ = sts
    receiver = servers("mx", "--local-domain", DOMAIN, host=MX_HOST, port=25)  # no STARTTLS
    relay = relay_for(servers, tmp_path, tls_files, zone)
    send(relay, f"bob@{DOMAIN}")
    assert wait_until(lambda: "result=deferred" in relay.log_text(), 20), relay.log_text()
    assert "4.7.4" in relay.log_text()
    assert not receiver.message_files("bob", DOMAIN)


def test_an_mx_the_policy_does_not_name_is_not_used(servers, tmp_path, tls_files, sts):
    zone, policy_server = sts
    policy_server.policy = "version: STSv1\nmode: enforce\nmx: *.elsewhere.test\nmax_age: 600\n"
    receiver = servers("mx", "--local-domain", DOMAIN, "--tls-cert", tls_files.cert, "--tls-key", tls_files.key,
                       host=MX_HOST, port=25)
    relay = relay_for(servers, tmp_path, tls_files, zone)
    send(relay, f"bob@{DOMAIN}")
    assert wait_until(lambda: "result=deferred" in relay.log_text(), 20), relay.log_text()
    log = relay.log_text()
    assert f"mx={MX_NAME} not in the policy: skipped" in log and "4.7.5" in log, log
    assert not receiver.message_files("bob", DOMAIN)


def test_testing_mode_only_reports(servers, tmp_path, tls_files, sts):
    zone, policy_server = sts
    policy_server.policy = "version: STSv1\nmode: testing\nmx: other.test\nmax_age: 600\n"
    receiver = servers("mx", "--local-domain", DOMAIN, host=MX_HOST, port=25)  # no STARTTLS, wrong name
    relay = relay_for(servers, tmp_path, tls_files, zone)
    send(relay, f"bob@{DOMAIN}")
    assert wait_until(lambda: receiver.message_files("bob", DOMAIN), 20), relay.log_text()
    assert "(testing: used anyway)" in relay.log_text()


def test_a_policy_that_cannot_be_fetched_means_no_policy(servers, tmp_path, tls_files, sts):
    zone, policy_server = sts
    policy_server.stop()  # the TXT record says there is a policy, but nobody serves it
    receiver = servers("mx", "--local-domain", DOMAIN, host=MX_HOST, port=25)
    relay = relay_for(servers, tmp_path, tls_files, zone)
    send(relay, f"bob@{DOMAIN}")
    assert wait_until(lambda: receiver.message_files("bob", DOMAIN), 30), relay.log_text()
    assert "policy not fetched" in relay.log_text()
