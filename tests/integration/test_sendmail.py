"""petrel-sendmail (docs/petrel-sendmail.md): the sendmail(8) command line
that cron, PHP's mail(), git send-email and mail(1) call. Mail goes into the
maildrop and petreld picks it up, whether it was running then or not."""
import glob
import os
import re
import shutil
import subprocess
import time

import pytest

from harness import HOSTNAME, LOCAL_DOMAIN, PETRELD, CRLF, free_port, wait_until

SENDMAIL = os.path.join(os.path.dirname(PETRELD), "petrel-sendmail")
FAR = "far.test"

EX_USAGE, EX_DATAERR, EX_NOUSER, EX_TEMPFAIL, EX_CONFIG, EX_UNAVAILABLE = 64, 65, 67, 75, 78, 69


def config_for(server, extra=""):
    """The TOML file petrel-sendmail reads to find petreld's spool and domains."""
    path = os.path.join(server.workdir, "petreld.toml")
    with open(path, "w") as f:
        f.write(f'[server]\nhostname = "{HOSTNAME}"\n[local]\ndomains = ["{LOCAL_DOMAIN}"]\n'
                f'[spool]\ndir = "{server.spool}"\n{extra}')
    return path


def sendmail(server, *args, stdin=b"", program=SENDMAIL, env=None):
    r = subprocess.run([program, "-C", config_for(server), *args], input=stdin, capture_output=True,
                       timeout=30, env=env)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def added_and_original(delivered):
    """The header fields petrel-sendmail added in front, and the rest as given."""
    rest = delivered.message
    added = {}
    for name in (b"From", b"Date", b"Message-ID"):
        if rest.startswith(name + b": "):
            end = rest.index(CRLF)
            added[name.decode()] = rest[len(name) + 2:end].decode()
            rest = rest[end + 2:]
    return added, rest


def test_a_message_on_stdin_is_delivered_with_the_missing_fields_added(petrel):
    message = b"Subject: hello\nTo: bob@" + LOCAL_DOMAIN.encode() + b"\n\nline one\n.\nafter a lone dot\n"
    status, _, err = sendmail(petrel, "-i", "-FCron Daemon", f"bob@{LOCAL_DOMAIN}", stdin=message)
    assert status == 0, err
    [m] = petrel.wait_for_messages("bob", 1)
    added, original = added_and_original(m)
    assert original == message.replace(b"\n", b"\r\n")  # byte for byte, in CRLF, the lone dot kept (-i)
    assert added["From"] == f"Cron Daemon <root@{LOCAL_DOMAIN}>"
    assert re.match(r"<\d{14}\.[0-9a-f]{16}@" + re.escape(HOSTNAME) + ">$", added["Message-ID"])
    assert m.header("Return-Path") == f"<root@{LOCAL_DOMAIN}>"
    assert m.header("Received").startswith(f"by {HOSTNAME} (Petrel, from userid 0)")


def test_without_dash_i_a_lone_dot_ends_the_message(petrel):
    status, _, err = sendmail(petrel, "bob", stdin=b"Subject: s\n\nkept\n.\nnot sent\n")
    assert status == 0, err                                  # "bob": qualified with the local domain
    [m] = petrel.wait_for_messages("bob", 1)
    assert m.message.endswith(b"\r\n\r\nkept\r\n")


def test_dash_t_takes_to_cc_and_bcc_and_removes_bcc(petrel):
    d = LOCAL_DOMAIN
    message = (f"From: Alice <alice@{d}>\nTo: Bob <bob@{d}>\nCc: carol@{d} (Carol)\n"
               f"Bcc: dave@{d}\nSubject: t\nMessage-ID: <t@x>\nDate: Thu, 01 Jan 2026 00:00:00 +0000\n\nbody\n").encode()
    status, _, err = sendmail(petrel, "-t", "-i", "-f", f"alice@{d}", stdin=message)
    assert status == 0, err
    for user in ("bob", "carol", "dave"):
        [m] = petrel.wait_for_messages(user, 1)
        # nothing added (From:, Date:, Message-ID: are there), Bcc: gone
        assert m.message == message.replace(f"Bcc: dave@{d}\n".encode(), b"").replace(b"\n", b"\r\n")
        assert m.header("Return-Path") == f"<alice@{d}>"


def test_null_sender_and_8bit_text(petrel):
    status, _, err = sendmail(petrel, "-f", "<>", f"bob@{LOCAL_DOMAIN}", stdin="Subject: ß\n\nGrüße\n".encode())
    assert status == 0, err
    [m] = petrel.wait_for_messages("bob", 1)
    assert m.header("Return-Path") == "<>"
    assert m.message.endswith("Subject: ß\r\n\r\nGrüße\r\n".encode())


@pytest.mark.parametrize("args, code", [
    (["-Z", "bob"], EX_USAGE),                     # unknown option
    (["-i"], EX_USAGE),                            # no recipients
    (["-bd"], EX_USAGE),                           # daemon mode: not ours
    (["bad address@@x"], EX_NOUSER),
    (["-f", "not an address", "bob"], EX_DATAERR),
])
def test_exit_codes_for_bad_usage_and_bad_addresses(petrel, args, code):
    status, _, err = sendmail(petrel, *args, stdin=b"Subject: x\n\nx\n")
    assert status == code, err
    assert err.startswith("petrel-sendmail: ")
    time.sleep(0.2)
    assert os.listdir(os.path.join(petrel.spool, "maildrop")) == []


def test_dash_t_with_a_bad_header_address_is_refused(petrel):
    status, _, err = sendmail(petrel, "-t", stdin=b"To: a@@b\n\nx\n")
    assert status == EX_NOUSER and "a@@b" in err
    status, _, err = sendmail(petrel, "-t", stdin=b"Subject: nobody\n\nx\n")
    assert status == EX_USAGE, err


def test_a_bad_configuration_is_ex_config(petrel):
    r = subprocess.run([SENDMAIL, "-C", os.path.join(petrel.workdir, "missing.toml"), "bob"], input=b"",
                       capture_output=True, timeout=30)
    assert r.returncode == EX_CONFIG and b"missing.toml" in r.stderr


def test_without_a_maildrop_the_message_is_refused_with_tempfail(tmp_path):
    class NoServer:
        workdir = str(tmp_path)
        spool = str(tmp_path / "no-spool")
    status, _, err = sendmail(NoServer, "bob", stdin=b"Subject: x\n\nx\n")
    assert status == EX_TEMPFAIL and "maildrop" in err


def test_sent_while_petreld_is_down_delivered_when_it_starts(petrel):
    petrel.stop()
    message = b"Subject: while down\n\nwaiting in the maildrop\n"
    status, _, err = sendmail(petrel, f"bob@{LOCAL_DOMAIN}", stdin=message)
    assert status == 0, err
    [name] = os.listdir(os.path.join(petrel.spool, "maildrop"))
    assert re.match(r"^\d+\.[0-9a-f]{32}$", name)
    assert petrel.messages("bob") == []
    petrel.restart()
    [m] = petrel.wait_for_messages("bob", 1)
    assert added_and_original(m)[1] == message.replace(b"\n", b"\r\n")
    assert wait_until(lambda: os.listdir(os.path.join(petrel.spool, "maildrop")) == [], 5)


def test_a_bad_maildrop_file_is_set_aside_and_the_good_ones_still_go(petrel):
    drop = os.path.join(petrel.spool, "maildrop")
    with open(os.path.join(drop, "1.bad"), "wb") as f:
        f.write(b"petrel-maildrop 1\nsender <a@b>\nrcpt <bob@local.test>\nsize 999\n\ntruncated")
    os.symlink("/etc/passwd", os.path.join(drop, "2.link"))
    status, _, err = sendmail(petrel, "bob", stdin=b"Subject: good\n\nok\n")
    assert status == 0, err
    petrel.wait_for_messages("bob", 1)
    corrupt = os.path.join(petrel.spool, "maildrop.corrupt")
    assert wait_until(lambda: len(os.listdir(corrupt)) == 2, 10)
    assert os.listdir(drop) == []
    assert wait_until(lambda: "truncated?" in petrel.log_text() and "a symbolic link" in petrel.log_text(), 5)
    assert petrel.proc.poll() is None


def test_the_maildrop_is_1733_and_the_spool_only_searchable(petrel):
    assert os.stat(os.path.join(petrel.spool, "maildrop")).st_mode & 0o7777 == 0o1733
    assert os.stat(petrel.spool).st_mode & 0o777 == 0o711
    for f in os.listdir(petrel.spool):
        path = os.path.join(petrel.spool, f)
        if os.path.isfile(path) and not os.path.islink(path):
            assert os.stat(path).st_mode & 0o077 == 0, f


def test_dash_bs_speaks_smtp_on_stdin_and_stdout(petrel):
    d = LOCAL_DOMAIN
    dialogue = (f"EHLO client\r\nMAIL FROM:<alice@{d}>\r\nRCPT TO:<bob@{d}>\r\nDATA\r\n"
                f"Subject: bs\r\n\r\n..dot-stuffed\r\n.\r\nQUIT\r\n").encode()
    status, out, err = sendmail(petrel, "-bs", stdin=dialogue)
    assert status == 0, err
    codes = [line[:3] for line in out.split("\r\n") if line[3:4] == " "]
    assert codes == ["220", "250", "250", "250", "354", "250", "221"], out
    [m] = petrel.wait_for_messages("bob", 1)
    assert m.message.endswith(b"Subject: bs\r\n\r\n.dot-stuffed\r\n")
    assert m.header("Return-Path") == f"<alice@{d}>"


# -- mailq and -q ---------------------------------------------------------

def far_side_closed(start_petrel):
    dead = free_port("127.0.0.4")  # nothing listens there: mail for far.test waits
    return start_petrel("--retry-intervals", "1h", "--transport", f"{FAR}=smtp:[127.0.0.4]:{dead}")


def attempts(server):
    """Delivery attempts of the one queued message, from the admin channel (docs/admin.md)."""
    import json
    import socket
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(os.path.join(server.spool, "admin.sock"))
        s.sendall(b'{"command": "list"}\n')
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    listed = json.loads(reply)["messages"]
    return listed[0]["attempts"] if listed else 0


def test_mailq_lists_the_queue_and_dash_q_flushes_it(start_petrel, tmp_path):
    server = far_side_closed(start_petrel)
    status, out, err = sendmail(server, "-bp")
    assert (status, out) == (0, "Mail queue is empty\n"), err
    status, _, err = sendmail(server, f"bob@{FAR}", stdin=b"Subject: q\n\nwaits\n")
    assert status == 0, err
    assert wait_until(lambda: attempts(server) == 1, 15)
    mailq = tmp_path / "mailq"
    os.symlink(SENDMAIL, mailq)  # invoked as mailq: -bp
    status, out, err = sendmail(server, program=str(mailq))
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("-Queue ID-") and "-Sender/Recipient-" in lines[0]
    assert re.match(r"^\S+ +[1-9]\d* \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d  root@" + LOCAL_DOMAIN + "$", lines[1]), out
    assert lines[2].startswith("(") and "refused" in lines[2], out
    assert lines[3] == " " * 48 + f"bob@{FAR}"
    assert lines[-1] == "-- 1 Kbytes in 1 Request."
    status, _, err = sendmail(server, "-q")
    assert status == 0, err
    assert wait_until(lambda: attempts(server) == 2, 15)


def test_mailq_without_petreld_is_unavailable(petrel):
    petrel.stop()
    status, _, err = sendmail(petrel, "-bp")
    assert status == EX_UNAVAILABLE and "unavailable" in err


# -- the callers ----------------------------------------------------------

def caller_env(server):
    return dict(os.environ, PETREL_CONFIG=config_for(server), HOME=server.workdir)


def test_bsd_mailx_sends_through_petrel_sendmail(petrel):
    if not shutil.which("bsd-mailx"):
        pytest.skip("bsd-mailx is not installed (scripts/install-deps.sh)")
    mailrc = os.path.join(petrel.workdir, "mailrc")
    with open(mailrc, "w") as f:
        f.write(f"set sendmail={SENDMAIL}\n")
    env = dict(caller_env(petrel), MAILRC=mailrc)
    r = subprocess.run(["bsd-mailx", "-s", "from mailx", f"bob@{LOCAL_DOMAIN}"], input=b"sent by mail(1)\n",
                       capture_output=True, timeout=30, env=env)
    assert r.returncode == 0, r.stderr
    [m] = petrel.wait_for_messages("bob", 1)
    assert b"Subject: from mailx\r\n" in m.message and m.message.endswith(b"sent by mail(1)\r\n")


def test_mailutils_mail_sends_through_petrel_sendmail(petrel):
    if not shutil.which("mail.mailutils"):
        pytest.skip("mailutils is not installed (scripts/install-deps.sh)")
    r = subprocess.run(["mail.mailutils", "-E", f"set sendmail=sendmail://{SENDMAIL}", "-s", "from mailutils",
                        f"bob@{LOCAL_DOMAIN}"], input=b"sent by GNU mail\n", capture_output=True, timeout=30,
                       env=caller_env(petrel))
    assert r.returncode == 0, r.stderr
    [m] = petrel.wait_for_messages("bob", 1)
    assert b"Subject: from mailutils\r\n" in m.message and m.message.endswith(b"sent by GNU mail\r\n")


def test_git_send_email_sends_a_patch(petrel, tmp_path):
    if not os.path.exists(os.path.join(subprocess.run(["git", "--exec-path"], capture_output=True, text=True)
                                       .stdout.strip(), "git-send-email")):
        pytest.skip("git send-email is not installed (git-email)")
    repo = tmp_path / "repo"
    env = dict(caller_env(petrel), GIT_AUTHOR_NAME="Ann", GIT_AUTHOR_EMAIL=f"ann@{LOCAL_DOMAIN}",
               GIT_COMMITTER_NAME="Ann", GIT_COMMITTER_EMAIL=f"ann@{LOCAL_DOMAIN}")
    git = lambda *a: subprocess.run(["git", "-C", str(repo), *a], capture_output=True, timeout=30, env=env, check=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env)
    (repo / "file").write_text("one\n")
    git("add", "file")
    git("commit", "-q", "-m", "a patch for petrel")
    git("format-patch", "-1", "-o", str(tmp_path / "out"))
    [patch] = glob.glob(str(tmp_path / "out" / "*.patch"))
    r = subprocess.run(["git", "send-email", f"--smtp-server={SENDMAIL}", f"--to=bob@{LOCAL_DOMAIN}",
                        f"--from=Ann <ann@{LOCAL_DOMAIN}>", f"--envelope-sender=ann@{LOCAL_DOMAIN}",
                        "--suppress-cc=all", "--confirm=never", "--quiet", "--no-validate", patch],
                       capture_output=True, timeout=60, env=env, cwd=str(repo))
    assert r.returncode == 0, r.stderr
    [m] = petrel.wait_for_messages("bob", 1)
    assert b"Subject: [PATCH] a patch for petrel\r\n" in m.message
    assert m.header("Return-Path") == f"<ann@{LOCAL_DOMAIN}>"


def test_php_mail_sends_through_petrel_sendmail(petrel):
    if not shutil.which("php"):
        pytest.skip("php-cli is not installed (scripts/install-deps.sh)")
    r = subprocess.run(["php", "-d", f"sendmail_path={SENDMAIL} -t -i", "-r",
                        f'exit(mail("bob@{LOCAL_DOMAIN}", "from php", "sent by mail()\\n.\\nstill here") ? 0 : 1);'],
                       capture_output=True, timeout=30, env=caller_env(petrel))
    assert r.returncode == 0, r.stderr
    [m] = petrel.wait_for_messages("bob", 1)
    assert b"Subject: from php\r\n" in m.message
    assert b"\r\n\r\nsent by mail()\r\n.\r\nstill here" in m.message  # -i: the lone dot is text


# -- a user who is not root -------------------------------------------------

@pytest.fixture
def shared_dirs():
    """A spool and Maildir root petreld's user (nobody) owns, and a config, on
    a path other users can reach (pytest's tmp_path is root-only)."""
    import pwd
    import tempfile
    pw = pwd.getpwnam("nobody")
    top = tempfile.mkdtemp(prefix="petrel-sendmail-")
    os.chmod(top, 0o755)
    for name in ("spool", "maildir"):
        os.mkdir(os.path.join(top, name), 0o700)
        os.chown(os.path.join(top, name), pw.pw_uid, pw.pw_gid)
    yield top
    shutil.rmtree(top, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv")
def test_a_user_drops_mail_as_themselves_and_own_holds_the_sender(start_petrel, shared_dirs):
    import pwd
    spool = os.path.join(shared_dirs, "spool")
    config = os.path.join(shared_dirs, "petreld.toml")
    with open(config, "w") as f:
        f.write(f'[server]\nhostname = "{HOSTNAME}"\nuser = "nobody"\n[local]\ndomains = ["{LOCAL_DOMAIN}"]\n'
                f'[spool]\ndir = "{spool}"\nmaildrop_senders = "own"\n')
    os.chmod(config, 0o644)
    server = start_petrel("--config", config, "--user", "nobody", spool=spool,
                          maildir=os.path.join(shared_dirs, "maildir"))
    assert wait_until(lambda: os.path.exists(os.path.join(spool, "maildrop")), 5)
    daemon = pwd.getpwnam("daemon")
    as_daemon = ["setpriv", f"--reuid={daemon.pw_uid}", f"--regid={daemon.pw_gid}", "--clear-groups",
                 SENDMAIL, "-C", config]
    run = lambda *a, stdin=b"Subject: u\n\nfrom daemon\n": subprocess.run([*as_daemon, *a], input=stdin,
                                                                           capture_output=True, timeout=30)
    r = run(f"bob@{LOCAL_DOMAIN}")
    assert r.returncode == 0, r.stderr
    [m] = server.wait_for_messages("bob", 1)
    assert m.header("Return-Path") == f"<daemon@{LOCAL_DOMAIN}>"
    assert m.header("Received").startswith(f"by {HOSTNAME} (Petrel, from userid {daemon.pw_uid})")
    r = run("-f", f"root@{LOCAL_DOMAIN}", f"bob@{LOCAL_DOMAIN}")
    assert r.returncode == 77 and b"may not send as" in r.stderr
    # Written by hand, past petrel-sendmail's check: petreld refuses it too.
    drop = os.path.join(spool, "maildrop", "1.forged")
    subprocess.run(["setpriv", f"--reuid={daemon.pw_uid}", f"--regid={daemon.pw_gid}", "--clear-groups", "sh", "-c",
                    f"printf 'petrel-maildrop 1\\nsender <root@{LOCAL_DOMAIN}>\\nrcpt <bob@{LOCAL_DOMAIN}>\\n"
                    f"size 0\\n\\n' > {drop}"], check=True, timeout=10)
    assert wait_until(lambda: "may not send as <root@" in server.log_text(), 10)
    assert not os.path.exists(drop)
    assert len(server.messages("bob")) == 1
