"""--user: started as root, petreld binds its ports and reads its
certificate and passwd-file, then runs as the named user."""
import os
import pwd
import shutil
import tempfile

import pytest

from harness import LOCAL_DOMAIN, PASSWORDS, message, wait_until

ALICE = f"alice@{LOCAL_DOMAIN}"
RUN_AS = "nobody"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="--user needs petreld started as root")


@pytest.fixture
def unprivileged_dirs():
    """A spool and a Maildir root owned by RUN_AS, on a path it can reach
    (pytest's tmp_path is under a root-only directory)."""
    pw = pwd.getpwnam(RUN_AS)
    top = tempfile.mkdtemp(prefix="petrel-user-")
    os.chmod(top, 0o755)
    dirs = []
    for name in ("spool", "maildir"):
        d = os.path.join(top, name)
        os.mkdir(d, 0o700)
        os.chown(d, pw.pw_uid, pw.pw_gid)
        dirs.append(d)
    yield pw, dirs[0], dirs[1]
    shutil.rmtree(top, ignore_errors=True)


def reachable_by_others(path):
    """Whether a user other than the owner may traverse every directory above path."""
    d = os.path.dirname(os.path.abspath(path))
    while True:
        if os.stat(d).st_mode & 0o001 == 0:
            return False
        if d == "/":
            return True
        d = os.path.dirname(d)


def ids(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return {int(x) for x in line.split()[1:]}
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def test_user_flag_drops_root_for_good(start_secure, unprivileged_dirs):
    pw, spool, maildir = unprivileged_dirs
    petrel = start_secure("--user", RUN_AS, spool=spool, maildir=maildir)
    # real, effective, saved and file-system ids: none may be left at 0.
    # The ports accept connections a moment before the drop: wait for it.
    wait_until(lambda: ids(petrel.proc.pid, "Uid") == {pw.pw_uid}, 5)
    assert ids(petrel.proc.pid, "Uid") == {pw.pw_uid}
    assert ids(petrel.proc.pid, "Gid") == {pw.pw_gid}
    assert ids(petrel.proc.pid, "Groups") <= {pw.pw_gid}


def test_after_the_drop_tls_and_auth_work_with_root_only_key_and_passwd_file(start_secure, unprivileged_dirs,
                                                                              tls_files, passwd_file):
    # both files sit in pytest's root-only temporary directory: only root can open them
    assert not reachable_by_others(tls_files.key) and not reachable_by_others(passwd_file)
    pw, spool, maildir = unprivileged_dirs
    petrel = start_secure("--user", RUN_AS, spool=spool, maildir=maildir)
    with petrel.raw_auth(ALICE) as s:
        assert s.command(f"MAIL FROM:<{ALICE}>").code == 250


def test_after_the_drop_mail_is_delivered_into_files_the_user_owns(start_secure, unprivileged_dirs):
    pw, spool, maildir = unprivileged_dirs
    petrel = start_secure("--user", RUN_AS, spool=spool, maildir=maildir)
    with petrel.smtp_tls(listener="submission") as c:
        c.login(ALICE, PASSWORDS[ALICE])
        c.sendmail(ALICE, [f"user@{LOCAL_DOMAIN}"], message("as nobody"))
    [got] = petrel.wait_for_messages("user", 1)
    assert os.stat(got.path).st_uid == pw.pw_uid


def test_unknown_user_stops_petreld(tmp_path):
    from test_starttls import start_must_fail
    status, err = start_must_fail(tmp_path, "--user", "no-such-user-petrel")
    assert status != 0, err
    assert "no-such-user-petrel" in err, err
