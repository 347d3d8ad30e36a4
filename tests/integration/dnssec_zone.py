"""DNSSEC-signed zones on loopback for the DANE tests, built at test time
(signatures expire, so nothing signed is committed): ldns-keygen and
ldns-signzone sign, NSD serves them all on 127.0.0.1:<free port>, and the
DS of test. is the one trust anchor (petreld's --trust-anchor-file).

    test.        signed: the anchor; NS and DS of the children
    dane.test.   signed: MX mx.dane.test (127.0.0.131), TLSA 3 1 1 of `cert`     -> secure, match
    wrong.test.  signed: MX mx.wrong.test (127.0.0.132), TLSA 3 1 1 of no key     -> secure, mismatch
    plain.test.  unsigned, no DS in test.: MX mx.plain.test (127.0.0.133)        -> insecure
    bogus.test.  signed, but its TLSA changed after signing: MX mx.bogus.test    -> TLSA bogus
                 (127.0.0.134)

The recipe, its pitfalls and timings: /work/shared/research/dnssec/RECIPE.md.
"""
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time

ADDRESSES = {"dane": "127.0.0.131", "wrong": "127.0.0.132", "plain": "127.0.0.133", "bogus": "127.0.0.134"}
SIGNED = ("dane", "wrong", "bogus")
TOOLS = ("nsd", "ldns-keygen", "ldns-signzone", "openssl")


def missing_tools():
    return [t for t in TOOLS if shutil.which(t) is None and not os.path.exists(f"/usr/sbin/{t}")]


def spki_sha256(cert_pem):
    """TLSA 3 1 1 data: SHA-256 of the certificate's SubjectPublicKeyInfo."""
    pub = subprocess.run(["openssl", "x509", "-in", cert_pem, "-noout", "-pubkey"], capture_output=True,
                         check=True, timeout=30).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub, capture_output=True,
                         check=True, timeout=30).stdout
    return hashlib.sha256(der).hexdigest()


def free_dns_port(tries=100):
    """A port in 20000-29999 (below the ephemeral range) free for UDP and TCP on 127.0.0.1."""
    for _ in range(tries):
        port = 20000 + int.from_bytes(os.urandom(2), "big") % 10000
        try:
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                with socket.socket(socket.AF_INET, kind) as s:
                    s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port for NSD")


class SignedZones:
    def __init__(self, directory, cert_pem):
        self.dir = str(directory)
        self.port = None
        self.proc = None
        self.ta = os.path.join(self.dir, "ta.ds")
        self.tlsa_hash = spki_sha256(cert_pem)

    @property
    def upstream(self):
        """As petreld's --resolver wants it."""
        return f"127.0.0.1:{self.port}"

    def _run(self, *argv):
        r = subprocess.run(argv, cwd=self.dir, capture_output=True, timeout=60)
        assert r.returncode == 0, f"{argv}: {r.stderr.decode(errors='replace')}"
        return r.stdout.decode().strip()

    def _keygen(self, zone):
        return self._run("ldns-keygen", "-a", "ECDSAP256SHA256", "-k", zone)  # a CSK; writes NAME.ds too

    def _write(self, name, lines):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write("\n".join(lines) + "\n")

    @staticmethod
    def _origin(name):
        return "test." if name == "test" else f"{name}.test."

    @staticmethod
    def _soa(origin):
        return [f"$ORIGIN {origin}", "$TTL 300", f"@ SOA ns.test. hostmaster.{origin} 1 3600 600 86400 300",
                "@ NS ns.test."]

    def _child(self, name, tlsa_hash):
        origin = f"{name}.test."
        lines = self._soa(origin) + [f"@ MX 10 mx.{origin}", f"mx A {ADDRESSES[name]}"]
        if tlsa_hash:
            lines.append(f"_25._tcp.mx TLSA 3 1 1 {tlsa_hash}")
        self._write(f"{origin}zone", lines)

    def build(self):
        os.makedirs(self.dir, exist_ok=True)
        other = hashlib.sha256(b"no such key").hexdigest()
        self._child("dane", self.tlsa_hash)
        self._child("wrong", other)
        self._child("plain", None)
        self._child("bogus", self.tlsa_hash)
        keys = {name: self._keygen(self._origin(name)) for name in ("test",) + SIGNED}
        parent = self._soa("test.") + ["ns A 127.0.0.1"] + [f"{c} NS ns.test." for c in ADDRESSES]
        for c in SIGNED:  # no DS for plain.test.: the NSEC of test. proves it unsigned
            with open(os.path.join(self.dir, keys[c] + ".ds")) as f:
                parent.append(f.read().strip())
        self._write("test.zone", parent)
        now = int(time.time())
        for name in ("test",) + SIGNED:
            origin = self._origin(name)
            self._run("ldns-signzone", "-i", str(now - 3600), "-e", str(now + 14 * 86400), "-o", origin,
                      "-f", f"{origin}signed", f"{origin}zone", keys[name])
        self._tamper("bogus.test.signed")
        shutil.copy(os.path.join(self.dir, keys["test"] + ".ds"), self.ta)
        return self

    def _tamper(self, signed):
        """The TLSA rdata changed after signing: its RRSIG no longer verifies."""
        path = os.path.join(self.dir, signed)
        with open(path) as f:
            text = f.read()
        changed = re.sub(r"(IN\s+TLSA\s+3 1 1 )[0-9a-f]{64}", lambda m: m.group(1) + "00" * 32, text)
        assert changed != text
        with open(path, "w") as f:
            f.write(changed)

    def _nsd_conf(self):
        zones = [("test.", "test.signed"), ("plain.test.", "plain.test.zone")]
        zones += [(f"{c}.test.", f"{c}.test.signed") for c in SIGNED]
        d = self.dir
        lines = ["server:", f"    ip-address: 127.0.0.1@{self.port}", "    do-ip6: no", "    server-count: 1",
                 '    username: ""', '    chroot: ""', '    database: ""', f'    zonesdir: "{d}"',
                 f'    zonelistfile: "{d}/zone.list"', f'    xfrdfile: "{d}/xfrd.state"', f'    xfrdir: "{d}"',
                 f'    pidfile: "{d}/nsd.pid"', f'    logfile: "{d}/nsd.log"', "remote-control:",
                 "    control-enable: no"]
        for name, file in zones:
            lines += ["zone:", f'    name: "{name}"', f'    zonefile: "{file}"']
        self._write("nsd.conf", lines)

    def start(self, attempts=3):
        nsd = shutil.which("nsd") or "/usr/sbin/nsd"
        for _ in range(attempts):
            self.port = free_dns_port()
            self._nsd_conf()
            log = os.path.join(self.dir, "nsd.log")
            if os.path.exists(log):
                os.unlink(log)
            # Its own process group: NSD forks (xfrd, server), and all go at stop().
            self.proc = subprocess.Popen([nsd, "-d", "-c", os.path.join(self.dir, "nsd.conf")],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.STDOUT, start_new_session=True)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                if os.path.exists(log) and "nsd started" in open(log).read():
                    return self
                time.sleep(0.05)
            self.stop()
        raise RuntimeError("NSD did not start: " + self.log())

    def stop(self):
        if self.proc is None:
            return
        pgid = self.proc.pid
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(pgid, signal.SIGKILL)  # any child that outlived the main process
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=5)
        self.proc = None

    def log(self):
        try:
            with open(os.path.join(self.dir, "nsd.log")) as f:
                return f.read()
        except OSError:
            return ""
