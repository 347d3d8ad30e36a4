"""Fixtures for the end-to-end tests of petreld (see harness.py).

    PETRELD=/work/main/build/petreld /usr/bin/python3 -m pytest -q tests/integration
"""
import pytest

from harness import Petrel


@pytest.fixture
def start_petrel(tmp_path):
    """start_petrel(*flags): a running petreld with extra command-line flags."""
    started = []

    def start(*flags, port=None):
        d = tmp_path / f"petrel{len(started)}"
        d.mkdir()
        p = Petrel(d, flags, port)
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
