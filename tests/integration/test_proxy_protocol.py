"""PROXY protocol listeners ([server] proxy_protocol, docs/cluster.md):
Debian's haproxy in TCP mode in front of two petrelds, one fed v1
(send-proxy) and one v2 (send-proxy-v2), round robin. Clients connect from
127.0.0.7 and 127.0.0.8 while haproxy itself connects from 127.0.0.1: each
petreld must see, log, trace and judge the client, not the balancer."""
import os
import re
import shutil
import smtplib
import socket
import struct
import subprocess

import pytest

from harness import HOST, LOCAL_DOMAIN, PASSWORDS, PETRELD, RawSession, client_context, free_port, message, wait_until

CLIENT = "127.0.0.7"
OTHER_CLIENT = "127.0.0.8"
ALICE = f"alice@{LOCAL_DOMAIN}"

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def closed_unanswered(session, timeout=10.0):
    """True when the server closes the connection within timeout without
    having sent a single octet (no greeting)."""
    session.sock.settimeout(timeout)
    received = b""
    try:
        while True:
            chunk = session.sock.recv(4096)
            if not chunk:
                break
            received += chunk
    except ConnectionResetError:
        pass
    except socket.timeout:
        return False
    assert received == b"", f"sent before closing: {received!r}"
    return True


def v2_header(source, source_port, destination, destination_port):
    block = socket.inet_aton(source) + socket.inet_aton(destination) + struct.pack("!HH", source_port,
                                                                                  destination_port)
    return V2_SIGNATURE + bytes([0x21, 0x11]) + struct.pack("!H", len(block)) + block


class Haproxy:
    """haproxy -db (foreground) with a TCP frontend on a free port and the
    given backend server lines, round robin."""

    def __init__(self, workdir, servers):
        self.port = free_port()
        self.config = os.path.join(str(workdir), "haproxy.cfg")
        lines = [f"    server s{i} {address} {option}" for i, (address, option) in enumerate(servers)]
        with open(self.config, "w") as f:
            f.write("\n".join([
                "global",
                "    maxconn 100",
                "defaults",
                "    mode tcp",
                "    timeout connect 5s",
                "    timeout client 30s",
                "    timeout server 30s",
                "frontend mail",
                f"    bind {HOST}:{self.port}",
                "    default_backend petrels",
                "backend petrels",
                "    balance roundrobin",
                *lines,
                "",
            ]))
        self.log = os.path.join(str(workdir), "haproxy.log")
        self.proc = None

    def start(self):
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(["haproxy", "-db", "-f", self.config], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log, start_new_session=True)
        if not wait_until(self._listening, 10):
            self.stop()
            pytest.fail(f"haproxy did not listen on {HOST}:{self.port}:\n{self.output()}")
        return self

    def _listening(self):
        if self.proc.poll() is not None:
            return True
        try:
            with socket.create_connection((HOST, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def output(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def haproxy(tmp_path):
    if shutil.which("haproxy") is None:
        pytest.fail("haproxy is not installed (scripts/install-deps.sh)")
    started = []

    def start(servers):
        h = Haproxy(tmp_path, servers).start()
        started.append(h)
        return h
    yield start
    for h in started:
        h.stop()
        print(f"--- haproxy\n{h.output()}")


def behind_proxy(start_petrel, *flags):
    """A petreld whose only listener expects the PROXY header."""
    port = free_port()
    return start_petrel("--proxy-protocol", f"{HOST}:{port}", *flags, port=port)


def send_via(port, source, subject):
    with smtplib.SMTP(HOST, port, local_hostname="client.test", timeout=10, source_address=(source, 0)) as c:
        assert c.sendmail("sender@client.test", [ALICE], message(subject)) == {}


def rcpt_via(port, source, recipient):
    with RawSession(HOST, port, source=source) as s:
        assert s.reply().code == 220
        assert s.command("EHLO client.test").code == 250
        assert s.command("MAIL FROM:<sender@client.test>").code == 250
        return s.command(f"RCPT TO:<{recipient}>")


@pytest.fixture
def two_behind_haproxy(start_petrel, haproxy):
    """Two petrelds behind one haproxy: s0 gets v1 headers, s1 v2."""
    first = behind_proxy(start_petrel, "--trusted-network", f"{CLIENT}/32")
    second = behind_proxy(start_petrel, "--trusted-network", f"{CLIENT}/32")
    balancer = haproxy([(f"{HOST}:{first.port}", "send-proxy"), (f"{HOST}:{second.port}", "send-proxy-v2")])
    return balancer, first, second


def test_both_nodes_see_log_and_trace_the_real_client(two_behind_haproxy):
    balancer, first, second = two_behind_haproxy
    for i in range(4):
        send_via(balancer.port, CLIENT, f"via haproxy {i}")
    # Round robin, but haproxy's start-up probe may have taken a turn: each
    # node gets at least one of the four.
    assert wait_until(lambda: len(first.message_files("alice")) + len(second.message_files("alice")) == 4, 10)
    for node in (first, second):
        got = node.messages("alice")
        assert got, f"no message reached {node.port}"
        for m in got:
            received = m.header("Received")
            assert f"([{CLIENT}])" in received, received
            assert "127.0.0.1" not in received, received
        assert wait_until(lambda: len(re.findall(r"session client=\S+ .* messages=1 ", node.log_text())) == len(got),
                          10), node.log_text()
        log = node.log_text()
        with_mail = re.findall(r"session client=(\S+) .* messages=1 .* via=(\S+)", log)
        assert all(c.startswith(f"{CLIENT}:") and v.startswith("127.0.0.1:") for c, v in with_mail), log
        assert len(re.findall(r"message qid=\S+ client=127\.0\.0\.7:\d+ ", log)) == len(got), log


def test_relay_is_decided_by_the_real_client_address(two_behind_haproxy):
    balancer, first, second = two_behind_haproxy
    # Two connections from each client: one lands on each node (v1 and v2).
    for _ in range(2):
        r = rcpt_via(balancer.port, CLIENT, "someone@other.example")
        assert r.code == 250, r
    for _ in range(2):
        r = rcpt_via(balancer.port, OTHER_CLIENT, "someone@other.example")
        assert (r.code, r.enhanced) == (554, "5.7.1"), r


def test_direct_connection_without_header_is_closed_with_no_greeting(start_petrel):
    node = behind_proxy(start_petrel)
    with RawSession(HOST, node.port) as s:
        s.send(b"EHLO client.test\r\n")
        assert closed_unanswered(s)
    assert wait_until(lambda: "reason=bad_signature" in node.log_text(), 10), node.log_text()
    assert re.search(r"proxy client=127\.0\.0\.1:\d+ port=smtp result=refused reason=bad_signature",
                     node.log_text()), node.log_text()


def test_silent_connection_is_closed_after_the_header_timeout(tmp_path, start_petrel):
    port = free_port()
    config = tmp_path / "proxy.toml"
    config.write_text(f'[server]\nlisten = ["{HOST}:{port}"]\nproxy_protocol = ["{HOST}:{port}"]\n'
                      '[timeouts]\nproxy_header = "1s"\n')
    node = start_petrel("--config", str(config), port=port)
    with RawSession(HOST, node.port) as s:
        assert closed_unanswered(s)
    assert wait_until(lambda: "reason=timeout" in node.log_text(), 10), node.log_text()


def test_raw_v1_header_sent_by_the_test_names_the_client(start_petrel):
    node = behind_proxy(start_petrel)
    with RawSession(HOST, node.port) as s:
        s.send(f"PROXY TCP4 192.0.2.7 {HOST} 40000 {node.port}\r\n")
        assert s.reply().code == 220
        assert s.command("EHLO client.test").code == 250
        assert s.command("MAIL FROM:<sender@client.test>").code == 250
        assert s.command(f"RCPT TO:<{ALICE}>").code == 250
        assert s.command("DATA").code == 354
        s.send(message("raw v1") + b".\r\n")
        assert s.reply().code == 250
        assert s.command("QUIT").code == 221
    got = node.wait_for_messages("alice", 1)
    assert "([192.0.2.7])" in got[0].header("Received")
    assert wait_until(lambda: "session client=192.0.2.7:40000 " in node.log_text(), 10), node.log_text()


def test_raw_v2_header_and_a_command_in_the_same_segment(start_petrel):
    node = behind_proxy(start_petrel)
    with RawSession(HOST, node.port) as s:
        # The header and what follows it in one send: nothing past the
        # header may be lost (the client's command is just early here).
        s.send(v2_header("198.51.100.9", 5555, HOST, node.port) + b"EHLO client.test\r\n")
        assert s.reply().code == 220
        r = s.reply()
        assert r.code == 250, r
        assert s.command("QUIT").code == 221
    assert wait_until(lambda: "session client=198.51.100.9:5555 " in node.log_text(), 10), node.log_text()


def test_v2_local_command_keeps_the_connection_peer(start_petrel):
    node = behind_proxy(start_petrel)
    with RawSession(HOST, node.port, source=CLIENT) as s:
        s.send(V2_SIGNATURE + bytes([0x20, 0x00, 0x00, 0x00]))
        assert s.reply().code == 220
        assert s.command("QUIT").code == 221
    assert wait_until(lambda: f"session client={CLIENT}:" in node.log_text(), 10), node.log_text()


def test_listener_not_named_treats_proxy_as_an_unknown_command(start_petrel):
    node = start_petrel()
    with node.raw() as s:
        r = s.command(f"PROXY TCP4 192.0.2.7 {HOST} 40000 {node.port}")
    assert r.code == 500, r


def test_peer_outside_proxy_trusted_is_closed_unread(tmp_path, start_petrel):
    port = free_port()
    config = tmp_path / "proxy.toml"
    config.write_text(f'[server]\nlisten = ["{HOST}:{port}"]\nproxy_protocol = ["{HOST}:{port}"]\n'
                      f'proxy_trusted = ["{CLIENT}/32"]\n')
    node = start_petrel("--config", str(config), port=port)
    with RawSession(HOST, node.port, source=OTHER_CLIENT) as s:
        s.send(f"PROXY TCP4 192.0.2.7 {HOST} 40000 {node.port}\r\n")
        assert closed_unanswered(s)
    with RawSession(HOST, node.port, source=CLIENT) as s:
        s.send(f"PROXY TCP4 192.0.2.7 {HOST} 40000 {node.port}\r\n")
        assert s.reply().code == 220
    assert wait_until(lambda: "reason=untrusted_peer" in node.log_text(), 10), node.log_text()


def test_address_naming_no_listener_is_a_config_error(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('[server]\nlisten = ["127.0.0.1:2525"]\n\nproxy_protocol = ["127.0.0.1:2526"]\n')
    r = subprocess.run([PETRELD, "--config", str(config), "--check-config"], capture_output=True, timeout=30)
    assert r.returncode != 0
    assert f"{config}:4:" in r.stderr.decode(), r.stderr


def test_implicit_tls_behind_haproxy_with_send_proxy_v2(start_secure, haproxy, tls_files):
    smtps = free_port()
    node = start_secure("--listen-smtps", f"{HOST}:{smtps}", "--proxy-protocol", f"{HOST}:{smtps}", listeners=())
    assert wait_until(lambda: node._port_open(smtps), 10)
    balancer = haproxy([(f"{HOST}:{smtps}", "send-proxy-v2")])
    with smtplib.SMTP_SSL(HOST, balancer.port, local_hostname="client.test", timeout=10,
                          source_address=(CLIENT, 0), context=client_context()) as c:
        c.login(ALICE, PASSWORDS[ALICE])
        assert c.sendmail(ALICE, [ALICE], message("over 465 via haproxy")) == {}
    got = node.wait_for_messages("alice", 1)
    assert f"([{CLIENT}])" in got[0].header("Received"), got[0].header("Received")
    assert wait_until(lambda: f"session client={CLIENT}:" in node.log_text(), 10), node.log_text()
    assert re.search(rf"session client={re.escape(CLIENT)}:\d+ port=smtps .* tls=TLS", node.log_text()), node.log_text()

