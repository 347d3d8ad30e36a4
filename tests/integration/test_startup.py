"""What petreld does as it starts: it raises its open-files limit to what
max_sessions needs (and says so when the hard limit is too low), and every
line it logs, from the first, has one format.

    PETRELD=/work/main/build/petreld /usr/bin/python3 -m pytest -q tests/integration/test_startup.py
"""
import re
import resource
import shutil
import subprocess

import pytest

from harness import HOST, PETRELD, free_port, wait_until

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} (trace|debug|info|warning|error|critical) ")


def start(tmp_path, *flags, prlimit=None):
    """petreld on a free port, its stderr in a file; (process, log path)."""
    log = tmp_path / "petreld.log"
    argv = [PETRELD, "--listen", f"{HOST}:{free_port()}", "--spool", str(tmp_path / "spool"),
            "--maildir", str(tmp_path / "mail"), "--no-auth-checks", *flags]
    if prlimit:
        argv = [shutil.which("prlimit"), f"--nofile={prlimit}", "--", *argv]
    with open(log, "wb") as out:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    return p, log


def stop(p):
    p.terminate()
    p.wait(10)


def text(log):
    return log.read_text(errors="replace")


def nofile(pid):
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), hard


HARD = resource.getrlimit(resource.RLIMIT_NOFILE)[1]


@pytest.mark.skipif(not shutil.which("prlimit"), reason="prlimit (util-linux) is missing")
@pytest.mark.skipif(HARD != resource.RLIM_INFINITY and HARD < 8192, reason="the hard open-files limit is too low here")
def test_the_soft_open_files_limit_is_raised_for_max_sessions(tmp_path):
    hard = "unlimited" if HARD == resource.RLIM_INFINITY else str(HARD)
    p, log = start(tmp_path, "--max-sessions", "3000", prlimit=f"1024:{hard}")
    try:
        assert wait_until(lambda: "listening on" in text(log), 10), text(log)
        soft, _ = nofile(p.pid)
        assert soft >= 2 * 3000, soft
        assert "open files: limit raised from 1024" in text(log)
    finally:
        stop(p)


@pytest.mark.skipif(not shutil.which("prlimit"), reason="prlimit (util-linux) is missing")
def test_a_hard_limit_too_low_is_raised_by_root_or_a_warning_naming_what_it_serves(tmp_path):
    # Raising a hard limit needs CAP_SYS_RESOURCE (root outside a container
    # that drops it): then it is raised, else the warning says what it serves.
    p, log = start(tmp_path, "--max-sessions", "3000", prlimit="512:512")
    try:
        assert wait_until(lambda: "listening on" in text(log), 10), text(log)
        if "open files: limit raised" in text(log):
            assert nofile(p.pid)[0] >= 6000
        else:
            assert "open files: the hard limit 512 is below the 10352 that max_sessions = 3000 needs" in text(log)
            assert nofile(p.pid)[0] == 512
    finally:
        stop(p)


def test_every_line_has_one_format_from_the_first(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    p, log = start(tmp_path, "--tls-cert", str(cert), "--tls-key", str(key), "--self-signed-cert")
    try:
        assert wait_until(lambda: "listening on" in text(log), 10), text(log)
    finally:
        stop(p)
    lines = [line for line in text(log).splitlines() if line]
    assert any("self-signed certificate" in line for line in lines), lines[:5]
    odd = [line for line in lines if not LOG_LINE.match(line)]
    assert not odd, odd
