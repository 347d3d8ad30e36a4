"""Fixtures for the end-to-end tests of petreld (see harness.py).

    PETRELD=/work/main/build/petreld /usr/bin/python3 -m pytest -q tests/integration
"""
import subprocess

import pytest

from harness import HOST, PASSWORDS, Petrel, free_port, TlsFiles, crypt3, scram_sha256_entry, write_passwd_file
from dnssec_zone import SignedZones, missing_tools
from recorder import Recorder


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes tens of seconds (third-party scanners); "
                                       "in the default run, deselect with -m 'not slow'")


@pytest.fixture
def start_petrel(tmp_path):
    """start_petrel(*flags): a running petreld with extra command-line flags."""
    started = []

    def start(*flags, port=None, spool=None, maildir=None, listeners=()):
        d = tmp_path / f"petrel{len(started)}"
        d.mkdir()
        p = Petrel(d, flags, port, spool=spool, maildir=maildir, listeners=listeners)
        started.append(p)
        return p.start()

    yield start
    for p in started:
        rc = p.stop()
        print(f"petreld exit status {rc}; stderr follows\n{p.stderr()}")


@pytest.fixture
def receiver():
    """receiver(host, **kw): a recording SMTP receiver (recorder.py) on host,
    a free port there; all are stopped at the end."""
    started = []

    def start(host, **kw):
        r = Recorder(host, port=free_port(host), **kw).start()
        started.append(r)
        return r
    yield start
    for r in started:
        r.stop()


@pytest.fixture
def servers(tmp_path):
    """servers(name, *flags, host=HOST, port=None, listeners=()): a running
    petreld on any loopback address (127.0.0.2, ... for a second server);
    all are stopped at the end, their logs printed on failure."""
    started = []

    def start(name, *flags, host=HOST, port=None, listeners=()):
        d = tmp_path / name
        d.mkdir()
        # A port free on that very address: another address's free port may
        # be an outgoing connection's local port there. Between the check
        # and petreld's bind another socket may still take it: try anew.
        for attempt in range(3):
            p = Petrel(d, flags, port or free_port(host), listeners=listeners)
            p.host = host
            try:
                p.start()
            except pytest.fail.Exception:
                if port or attempt == 2 or "Address already in use" not in p.stderr():
                    started.append(p)
                    raise
                continue
            started.append(p)
            return p

    yield start
    for p in started:
        rc = p.stop()
        print(f"--- {p.workdir}: exit status {rc}\n{p.stderr()}")


@pytest.fixture
def petrel(start_petrel):
    """A running petreld with default limits."""
    return start_petrel()


@pytest.fixture
def small_tmpfs(tmp_path):
    """small_tmpfs(name, mib): a fresh tmpfs of that size mounted under
    tmp_path, unmounted at teardown. Name it before start_petrel in the
    test's arguments, so that the servers stop before their disk goes.
    Skips the test when this process may not mount (not root, no
    CAP_SYS_ADMIN, or a container that forbids it)."""
    mounted = []

    def mount(name, mib):
        path = tmp_path / name
        path.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={mib}m,mode=0755", "tmpfs", str(path)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root/CAP_SYS_ADMIN): "
                        f"{r.stdout.decode(errors='replace').strip()}")
        mounted.append(path)
        return path

    yield mount
    for path in reversed(mounted):
        if subprocess.run(["umount", str(path)], stderr=subprocess.DEVNULL).returncode != 0:
            subprocess.run(["umount", "-l", str(path)])   # still busy: detach it


# --------------------------------------------------------------------------
# TLS and AUTH

@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    """A test CA (tls_files.ca) and a server certificate and key it signed
    (tls_files.cert, tls_files.key) for mail.petrel.test and 127.0.0.1."""
    return TlsFiles(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def passwd_file(tmp_path_factory):
    """A Dovecot passwd-file with the users of harness.PASSWORDS: alice in
    {PLAIN}, bob in {SCRAM-SHA-256} stored keys, carol in {SHA512-CRYPT}
    (the other schemes have tests of their own in test_auth.py)."""
    alice, bob, carol = PASSWORDS
    return write_passwd_file(tmp_path_factory.mktemp("passwd") / "users", {
        alice: "{PLAIN}" + PASSWORDS[alice],
        bob: scram_sha256_entry(PASSWORDS[bob]),
        carol: "{SHA512-CRYPT}" + crypt3(PASSWORDS[carol], "$6$petrelTestSalt$"),
    })


@pytest.fixture
def start_secure(start_petrel, tls_files, passwd_file):
    """start_secure(*flags, listeners=("submission", "smtps")): petreld with
    the test certificate, the test passwd-file and no AUTH failure delay
    (unless flags give one),
    plus the given extra listeners (petrel.ports[name])."""
    def start(*flags, listeners=("submission", "smtps"), **kw):
        base = ["--tls-cert", tls_files.cert, "--tls-key", tls_files.key, "--passwd-file", passwd_file]
        if "--auth-failure-delay" not in flags:      # given once only
            base += ["--auth-failure-delay", "0s"]
        return start_petrel(*base, *flags, listeners=listeners, **kw)
    return start


@pytest.fixture
def secure(start_secure):
    """petreld with TLS, AUTH, and submission and smtps listeners, defaults otherwise."""
    return start_secure()


# --------------------------------------------------------------------------
# DNSSEC

@pytest.fixture(scope="session")
def signed_zones(tmp_path_factory, tls_files):
    """The signed test zones of dnssec_zone.py, served by NSD on
    127.0.0.1:<free port> (signed_zones.upstream) with the trust anchor
    signed_zones.ta; dane.test's TLSA record matches tls_files.cert."""
    missing = missing_tools()
    if missing:
        pytest.skip("missing " + ", ".join(missing) + " (apt-get install nsd ldnsutils)")
    zones = SignedZones(tmp_path_factory.mktemp("dnssec"), tls_files.cert).build().start()
    yield zones
    zones.stop()
