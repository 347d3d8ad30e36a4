"""Fixtures for the end-to-end tests of petreld (see harness.py).

    PETRELD=/work/main/build/petreld /usr/bin/python3 -m pytest -q tests/integration
"""
import subprocess

import pytest

from harness import Petrel


@pytest.fixture
def start_petrel(tmp_path):
    """start_petrel(*flags): a running petreld with extra command-line flags."""
    started = []

    def start(*flags, port=None, spool=None, maildir=None):
        d = tmp_path / f"petrel{len(started)}"
        d.mkdir()
        p = Petrel(d, flags, port, spool=spool, maildir=maildir)
        started.append(p)
        return p.start()

    yield start
    for p in started:
        rc = p.stop()
        print(f"petreld exit status {rc}; stderr follows\n{p.stderr()}")


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
