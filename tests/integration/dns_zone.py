"""A DNS zone for the end-to-end tests: dnsmasq on 127.0.0.1 at a free port,
answering from its command line, for petreld's resolver to use as upstream
(ResolverOptions.upstream = zone.upstream, with zones_from_upstream
["test."] so that libunbound does not answer test. itself).

    with DnsZone.standard() as zone:       # the zone tests/unit/dns uses
        ... petreld with dns upstream zone.upstream ...

    zone = DnsZone().mx("example.test", "mx.example.test", 10) \\
                    .host("mx.example.test", "127.0.0.2").start()
    ...
    zone.stop()

Every name under test. that is not configured is NXDOMAIN (--local=/test/).
A null MX (RFC 7505) is .mx(domain, ".", 0). Every answer has the TTL
given to the constructor (default 300 s). Starting waits at most 5 s for
the first answer; dnsmasq's log is kept in a file whose text log() returns.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

HOST = "127.0.0.1"


def dnsmasq_binary():
    """The dnsmasq program ($DNSMASQ, /usr/sbin/dnsmasq or on PATH), or None."""
    env = os.environ.get("DNSMASQ")
    if env:
        return env
    for path in ("/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/usr/local/sbin/dnsmasq"):
        if os.access(path, os.X_OK):
            return path
    return shutil.which("dnsmasq")


def _free_port():
    """A port free for both UDP and TCP on 127.0.0.1 (dnsmasq listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((HOST, 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((HOST, port))
                except OSError:
                    continue
        return port
    raise RuntimeError("no free port on 127.0.0.1")


def _answers(port, token):
    """Whether our dnsmasq answers: its TXT record ready.test holds token, so
    that another server that took the port is not mistaken for it."""
    query = bytes([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                   5]) + b"ready" + bytes([4]) + b"test" + bytes([0, 0, 16, 0, 1])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        s.sendto(query, (HOST, port))
        try:
            reply = s.recv(512)
        except OSError:
            return False
    return len(reply) >= 12 and token.encode() in reply


def _reverse_name(address):
    """192.0.2.1 -> 1.2.0.192.in-addr.arpa; IPv6 in nibble form (RFC 3596 §2.5)."""
    import ipaddress
    return ipaddress.ip_address(address).reverse_pointer


class DnsZone:
    def __init__(self, ttl=300):
        self.ttl = ttl
        self.options = []
        self.port = None
        self._process = None
        self._log = None

    # --- the zone ---------------------------------------------------------

    def mx(self, domain, host, preference):
        """An MX record; host "." with preference 0 is a null MX (RFC 7505)."""
        self.options.append(f"--mx-host={domain},{host},{preference}")
        return self

    def host(self, name, *addresses):
        """A and/or AAAA records (one name may carry both)."""
        self.options.append("--host-record=" + ",".join((name,) + addresses))
        return self

    def cname(self, alias, target):
        self.options.append(f"--cname={alias},{target}")
        return self

    def txt(self, name, *strings):
        """A TXT record of one or more character-strings (no commas inside one)."""
        self.options.append("--txt-record=" + ",".join((name,) + strings))
        return self

    def tlsa(self, name, usage, selector, matching_type, data_hex):
        """A TLSA record (RFC 6698), e.g. tlsa("_25._tcp.mx.example.test", 3, 1, 1, "ab12...")."""
        self.options.append(f"--dns-rr={name},52,{usage:02x}{selector:02x}{matching_type:02x}{data_hex}")
        return self

    def ptr(self, address, name):
        self.options.append(f"--ptr-record={_reverse_name(address)},{name}")
        return self

    @classmethod
    def standard(cls):
        """The zone of tests/unit/dns/dnsmasq.hpp:

        two.test        MX 10 mx1.two.test (127.0.0.2), MX 20 mx2.two.test (127.0.0.3, fd00::3)
        implicit.test   no MX, A 127.0.0.4
        deadfirst.test  MX 10 nowhere.deadfirst.test (NXDOMAIN), MX 20 mx.deadfirst.test (127.0.0.5)
        nullmx.test     MX 0 .
        cnamemx.test    MX 10 alias.test, alias.test CNAME mx1.two.test
        iplit.test      MX 10 192.0.2.1
        nx.test and anything else under test.: NXDOMAIN
        """
        return (cls()
                .mx("two.test", "mx1.two.test", 10).mx("two.test", "mx2.two.test", 20)
                .host("mx1.two.test", "127.0.0.2").host("mx2.two.test", "127.0.0.3", "fd00::3")
                .host("implicit.test", "127.0.0.4")
                .mx("deadfirst.test", "nowhere.deadfirst.test", 10)
                .mx("deadfirst.test", "mx.deadfirst.test", 20)
                .host("mx.deadfirst.test", "127.0.0.5")
                .mx("nullmx.test", ".", 0)
                .mx("cnamemx.test", "alias.test", 10).cname("alias.test", "mx1.two.test")
                .mx("iplit.test", "192.0.2.1", 10)
                .tlsa("_25._tcp.mx1.two.test", 3, 1, 1, "aabbccdd")
                .txt("_mta-sts.two.test", "v=STSv1; ", "id=20240101")
                .ptr("127.0.0.2", "mx1.two.test"))

    # --- the server -------------------------------------------------------

    @property
    def upstream(self):
        """The server as ResolverOptions.upstream wants it: "127.0.0.1:PORT"."""
        return f"{HOST}:{self.port}"

    def start(self, timeout=5.0):
        # Another test may take the port between _free_port() and dnsmasq's
        # bind; then dnsmasq exits at once and a new port is tried.
        for attempt in range(3):
            try:
                return self._start_once(timeout)
            except RuntimeError:
                if attempt == 2:
                    raise
        return self

    def _start_once(self, timeout):
        program = dnsmasq_binary()
        if not program:
            raise RuntimeError("dnsmasq is not installed (apt-get install dnsmasq-base)")
        self.port = _free_port()
        fd, self._log = tempfile.mkstemp(prefix="petrel-dnsmasq-", suffix=".log")
        os.close(fd)
        args = [program, "--keep-in-foreground", f"--port={self.port}", f"--listen-address={HOST}",
                "--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--pid-file=",
                f"--log-facility={self._log}", "--log-queries", "--local=/test/", f"--local-ttl={self.ttl}"]
        if os.geteuid() == 0:
            args.append("--user=root")  # else it switches to nobody and cannot write the log
        token = f"petrel-{os.getpid()}-{id(self)}-{time.monotonic_ns()}"
        args.append(f"--txt-record=ready.test,{token}")
        self._process = subprocess.Popen(args + self.options, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while not _answers(self.port, token):
            if self._process.poll() is not None:
                err = self._process.stderr.read().decode(errors="replace")
                self._process = None
                raise RuntimeError(f"dnsmasq exited at start: {err.strip()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"dnsmasq did not answer within {timeout} s")
        return self

    def stop(self):
        if self._process is not None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=2)
            self._process.stderr.close()
            self._process = None
        if self._log and os.path.exists(self._log):
            os.unlink(self._log)
            self._log = None

    def log(self):
        """dnsmasq's log so far (one line per query): for a failing test's output."""
        if not self._log or not os.path.exists(self._log):
            return ""
        with open(self._log, errors="replace") as f:
            return f.read()

    def __enter__(self):
        return self.start() if self._process is None else self

    def __exit__(self, *exc):
        self.stop()


if __name__ == "__main__":
    # Serves the standard zone until interrupted: dig -p PORT @127.0.0.1 two.test MX
    with DnsZone.standard() as zone:
        print(f"serving the standard test zone on {zone.upstream}; Ctrl-C stops")
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
