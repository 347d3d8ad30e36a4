"""`petrel shell`, the interactive SMTP console, driven as a person would:
keys sent into a tmux pane, the screen read back. And as a script would,
with stdin piped. Every wait is a bounded poll of the pane or the Maildir."""
import os
import re
import shlex
import shutil
import socket
import subprocess
import threading

import pytest

from harness import HOST, LOCAL_DOMAIN, PASSWORDS, PETRELD, free_port, wait_until

PETREL = os.path.join(os.path.dirname(PETRELD), "petrel")
ALICE = f"alice@{LOCAL_DOMAIN}"

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Pane:
    """petrel shell in a detached tmux session of a fixed size, on a tmux
    server of its own (-S socket) so that nothing else is touched."""

    started = 0

    def __init__(self, tmp_path, *args):
        self.home = tmp_path / "home"
        self.home.mkdir(exist_ok=True)
        Pane.started += 1
        self.socket = str(tmp_path / f"tmux{Pane.started}.sock")
        argv = ["env", f"HOME={self.home}", "TERM=xterm", PETREL, "shell", *args]
        # The exit status stays on screen, and the pane with it.
        script = shlex.join(argv) + '; echo "[exit $?]"; sleep 60'
        self.tmux("new-session", "-d", "-x", "150", "-y", "50", "-s", "shell", "sh", "-c", script)

    def tmux(self, *args):
        return subprocess.run(["tmux", "-f", "/dev/null", "-S", self.socket, *args],
                              capture_output=True, timeout=10, check=True).stdout.decode()

    def type(self, text):
        self.tmux("send-keys", "-t", "shell", "-l", text)

    def key(self, *names):
        self.tmux("send-keys", "-t", "shell", *names)

    def line(self, text):
        self.type(text)
        self.key("Enter")

    def screen(self):
        return self.tmux("capture-pane", "-p", "-J", "-t", "shell", "-S", "-200")

    def wait_for(self, pattern, timeout=10):
        """The screen once `pattern` (a regex) shows on it; fails with the screen otherwise."""
        found = wait_until(lambda: re.search(pattern, self.screen(), re.M), timeout)
        assert found, f"{pattern!r} not on screen within {timeout}s:\n{self.screen()}"
        return self.screen()

    def close(self):
        subprocess.run(["tmux", "-f", "/dev/null", "-S", self.socket, "kill-server"], capture_output=True, timeout=10)


@pytest.fixture
def shell(tmp_path):
    """shell(*args): petrel shell in a tmux pane, with its greeting on screen."""
    panes = []

    def start(*args):
        pane = Pane(tmp_path, *args)
        panes.append(pane)
        pane.wait_for(r"^220 ")
        pane.wait_for(r"smtp(\+tls)?> $")
        return pane

    yield start
    for pane in panes:
        print(f"--- screen at the end ---\n{pane.screen()}")
        pane.close()


def target(server, listener=None):
    port = server.ports[listener] if listener else server.port
    return f"{server.host}:{port}"


# --------------------------------------------------------------------------
# on a terminal

def test_ehlo_shows_the_whole_multiline_reply_and_history_is_kept(shell, petrel):
    pane = shell(target(petrel))
    pane.line("EHLO client.test")
    screen = pane.wait_for(r"^250 ")
    lines = screen[screen.index("EHLO client.test"):].splitlines()
    replies = [l for l in lines if re.match(r"^250[- ]", l)]
    assert replies[0].startswith("250-") and "Hello client.test" in replies[0], screen
    assert len(replies) >= 5 and replies[-1].startswith("250 "), screen
    assert "250-PIPELINING" in replies, screen
    pane.line(".quit")
    pane.wait_for(r"^\[exit 0\]")
    again = shell(target(petrel))       # the same HOME: Up recalls the last session's lines
    again.key("Up")
    again.wait_for(r"smtp> \.quit$")
    again.key("Up")
    again.wait_for(r"smtp> EHLO client\.test$")


def test_no_history_leaves_no_file(shell, petrel):
    pane = shell(target(petrel), "--no-history")
    pane.line("NOOP")
    pane.wait_for(r"^250 ")
    pane.key("C-d")                     # Ctrl-D on an empty line: QUIT, as .quit does
    screen = pane.wait_for(r"^\[exit 0\]")
    assert re.search(r"^> QUIT\n221 ", screen, re.M), screen
    assert not (pane.home / ".petrel_history").exists()


def test_backspace_corrects_the_line_before_it_is_sent(shell, petrel):
    pane = shell(target(petrel))
    pane.type("EHLO clienx")
    pane.key("BSpace")
    pane.line("t.test")
    screen = pane.wait_for(r"^250 ")
    assert "Hello client.test [" in screen, screen     # what the server got
    assert "clienx" not in screen.split("EHLO client.test", 1)[1], screen


def test_tab_completes_ehlo(shell, petrel):
    pane = shell(target(petrel))
    pane.type("EH")
    pane.key("Tab")
    pane.wait_for(r"smtp> EHLO $")
    pane.line("client.test")
    assert "Hello client.test" in pane.wait_for(r"^250 ")


def test_tab_lists_the_candidates_of_an_ambiguous_prefix(shell, petrel):
    pane = shell(target(petrel))
    pane.type("E")
    pane.key("Tab")
    screen = pane.wait_for(r"EHLO +EXPN +ETRN")
    assert re.search(r"smtp> E$", screen, re.M), screen


def test_a_typed_dialogue_lands_in_the_maildir_with_its_dots(shell, petrel):
    pane = shell(target(petrel))
    pane.line("EHLO client.test")
    pane.wait_for(r"^250 ")
    pane.line("MAIL FROM:<me@client.test>")
    pane.wait_for(r"^250 2\.1\.0")
    pane.line(f"RCPT TO:<bob@{LOCAL_DOMAIN}>")
    pane.wait_for(r"^250 2\.1\.5")
    pane.line("DATA")
    pane.wait_for(r"^data> $")
    for line in ["Subject: typed by hand", "", "first line", ".a line that starts with a dot", "..two dots", "last"]:
        pane.line(line)
    pane.line(".")
    pane.wait_for(r"^250 2\.0\.0 .*queued")
    [m] = petrel.wait_for_messages("bob", 1)
    assert m.message == (b"Subject: typed by hand\r\n\r\nfirst line\r\n.a line that starts with a dot\r\n"
                         b"..two dots\r\nlast\r\n"), m.message
    pane.line("QUIT")
    pane.wait_for(r"^\[exit 0\]")


def test_help_lists_the_commands(shell, petrel):
    pane = shell(target(petrel))
    pane.line(".help")
    screen = pane.wait_for(r"\.quit ")
    for text in ["EHLO domain", "MAIL FROM:<address>", "RCPT TO:<address>", "STARTTLS", "RFC 3207", "ETRN",
                 ".auth plain|login|cram-md5 USER", ".data FILE"]:
        assert text in screen, text
    pane.line(".help rcpt")
    pane.wait_for(r"RFC 5321 §4\.1\.1\.3")


def test_starttls_shows_the_certificate_and_asks_for_a_new_ehlo(shell, secure, tls_files):
    pane = shell(target(secure), "--ca-file", tls_files.ca, "--tls-name", "mail.petrel.test")
    pane.line("EHLO client.test")
    pane.wait_for(r"^250 ")
    pane.line(".starttls")
    screen = pane.wait_for(r"EHLO again")
    assert re.search(r"^220 ", screen, re.M), screen
    assert re.search(r"TLS: TLSv1\.[23] with cipher", screen), screen
    assert "chain:       verified" in screen and "host name:   matches" in screen, screen
    assert "mail.petrel.test" in screen, screen
    pane.wait_for(r"smtp\+tls> $")
    pane.line("EHLO client.test")
    assert re.search(r"^250-AUTH .*PLAIN", pane.wait_for(r"^250 ", 10), re.M)


def test_auth_plain_after_starttls_logs_in_without_showing_the_password(shell, secure, tls_files):
    pane = shell(target(secure, "submission"), "--ca-file", tls_files.ca)
    for line, reply in [("EHLO client.test", r"^250 "), (".starttls", r"EHLO again")]:
        pane.line(line)
        pane.wait_for(reply)
    pane.line("EHLO client.test")
    pane.wait_for(r"smtp\+tls> $")
    pane.line(f".auth plain {ALICE}")
    pane.wait_for(r"Password for .*: $")
    pane.line(PASSWORDS[ALICE])
    screen = pane.wait_for(r"^235 ")
    assert PASSWORDS[ALICE] not in screen, screen
    assert "AUTH PLAIN <credentials hidden>" in screen, screen


def test_a_typed_auth_line_stays_out_of_the_history(shell, secure, tls_files):
    import base64
    plain = base64.b64encode(f"\0{ALICE}\0{PASSWORDS[ALICE]}".encode()).decode()
    pane = shell(target(secure, "submission"), "--ca-file", tls_files.ca)
    for line, reply in [("EHLO client.test", r"^250 "), (".starttls", r"EHLO again"),
                        ("EHLO client.test", r"smtp\+tls> $"), (f"AUTH PLAIN {plain}", r"^235 ")]:
        pane.line(line)
        pane.wait_for(reply)
    pane.line(".quit")
    pane.wait_for(r"^\[exit 0\]")
    history = (pane.home / ".petrel_history").read_text(errors="replace")
    assert "EHLO" in history and plain not in history, history   # libedit writes a space as \040


def test_auth_login_answers_both_challenges(shell, secure, tls_files):
    carol = f"carol@{LOCAL_DOMAIN}"
    pane = shell(target(secure, "submission"), "--ca-file", tls_files.ca)
    for line, reply in [("EHLO client.test", r"^250 "), (".starttls", r"EHLO again"),
                        ("EHLO client.test", r"smtp\+tls> $")]:
        pane.line(line)
        pane.wait_for(reply)
    pane.line(f".auth login {carol}")
    pane.wait_for(r"Password for .*: $")
    pane.line(PASSWORDS[carol])
    screen = pane.wait_for(r"^235 ")
    # The two 334 challenges, decoded ("User Name", "Password" from GNU SASL).
    assert len(re.findall(r'^    \(base64 for "(User ?[Nn]ame|Password):?"\)$', screen, re.M)) == 2, screen
    assert PASSWORDS[carol] not in screen, screen


def test_data_file_sends_a_file_with_its_dot_lines_intact(shell, petrel, tmp_path):
    body = b"Subject: from a file\n\n.dot first\nmiddle\n..\n.\nend"
    path = tmp_path / "message.eml"
    path.write_bytes(body)
    pane = shell(target(petrel))
    for line, reply in [("EHLO client.test", r"^250 "), ("MAIL FROM:<me@client.test>", r"^250 2\.1\.0"),
                        (f"RCPT TO:<carol@{LOCAL_DOMAIN}>", r"^250 2\.1\.5")]:
        pane.line(line)
        pane.wait_for(reply)
    pane.line(f".data {path}")
    screen = pane.wait_for(r"^250 2\.0\.0 .*queued")
    assert "7 lines" in screen, screen
    [m] = petrel.wait_for_messages("carol", 1)
    assert m.message == body.replace(b"\n", b"\r\n") + b"\r\n", m.message


def test_server_closing_the_connection_ends_the_shell(shell, start_petrel):
    server = start_petrel()
    pane = shell(target(server))
    server.stop()
    screen = pane.wait_for(r"^\[exit 1\]", 15)
    assert "closed by the server" in screen or re.search(r"^421 ", screen, re.M), screen


def slow_noop_server():
    """The server answers NOOP only once the user has half typed the next
    command: the reply is printed above, the half line stays editable."""
    listener = socket.create_server((HOST, 0))
    typed_half = threading.Event()
    received = []

    def serve():
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(20)
            conn.sendall(b"220 slow.test ESMTP\r\n")
            data = b""
            while b"RSET\r\n" not in data and b"QUIT" not in data:
                chunk = conn.recv(1000)
                if not chunk:
                    break
                data += chunk
                if b"NOOP\r\n" in chunk:
                    typed_half.wait(20)
                    conn.sendall(b"250-still\r\n250 here\r\n")
            received.append(data)
            conn.sendall(b"250 2.0.0 reset\r\n")

    return listener, typed_half, received, threading.Thread(target=serve, daemon=True)


def test_replies_show_above_the_line_being_edited(shell):
    listener, typed_half, received, server = slow_noop_server()
    server.start()
    try:
        pane = shell(f"{HOST}:{listener.getsockname()[1]}")
        pane.line("NOOP")
        pane.type("RS")
        pane.wait_for(r"smtp> RS$")
        typed_half.set()
        screen = pane.wait_for(r"^250 here$")
        assert re.search(r"^250-still\n250 here\nsmtp> RS$", screen, re.M), screen
        pane.line("ET")
        pane.wait_for(r"^250 2\.0\.0 reset")
    finally:
        typed_half.set()
        listener.close()
        server.join(10)
    assert received and received[0].endswith(b"NOOP\r\nRSET\r\n"), received


# --------------------------------------------------------------------------
# from a script

def run_script(server, text, *args, timeout=30):
    r = subprocess.run([PETREL, "shell", target(server), *args], input=text.encode(),
                       capture_output=True, timeout=timeout, env={**os.environ, "NO_COLOR": "1"})
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def test_a_piped_script_sends_each_line_and_waits_for_its_reply(petrel):
    status, out, err = run_script(petrel, "EHLO client.test\nMAIL FROM:<me@client.test>\n"
                                          f"RCPT TO:<dave@{LOCAL_DOMAIN}>\nDATA\nSubject: piped\n\n.dot\nbody\n.\n"
                                          "QUIT\n")
    assert status == 0, out + err
    assert "> EHLO client.test" in out and "250-PIPELINING" in out, out
    assert re.search(r"^354 ", out, re.M) and re.search(r"^250 2\.0\.0 .*queued", out, re.M), out
    assert re.search(r"^221 ", out, re.M), out
    [m] = petrel.wait_for_messages("dave", 1)
    assert m.message == b"Subject: piped\r\n\r\n.dot\r\nbody\r\n", m.message


def test_a_script_without_quit_gets_one_at_its_end(petrel):
    status, out, err = run_script(petrel, "NOOP\n")
    assert status == 0, out + err
    assert "> QUIT" in out and re.search(r"^221 ", out, re.M), out


def test_a_script_over_implicit_tls_can_authenticate(secure, tls_files):
    """--tls on the smtps port; in a script the line after .auth is the password."""
    r = subprocess.run([PETREL, "shell", "--tls", "--ca-file", tls_files.ca, target(secure, "smtps")],
                       input=f"EHLO client.test\n.auth plain {ALICE}\n{PASSWORDS[ALICE]}\n".encode(),
                       capture_output=True, timeout=30, env={**os.environ, "NO_COLOR": "1"})
    out = r.stdout.decode()
    assert r.returncode == 0, out + r.stderr.decode()
    assert re.search(r"^TLS: TLSv1\.[23] with cipher", out, re.M) and "chain:       verified" in out, out
    assert re.search(r"^235 2\.7\.0", out, re.M), out
    assert PASSWORDS[ALICE] not in out, out


def test_a_typed_auth_line_is_echoed_without_its_credentials(secure, tls_files):
    """AUTH PLAIN with its initial response typed in a script: the echo hides it."""
    import base64
    plain = base64.b64encode(f"\0{ALICE}\0{PASSWORDS[ALICE]}".encode()).decode()
    r = subprocess.run([PETREL, "shell", "--tls", "--ca-file", tls_files.ca, target(secure, "smtps")],
                       input=f"EHLO client.test\nAUTH PLAIN {plain}\n".encode(),
                       capture_output=True, timeout=30, env={**os.environ, "NO_COLOR": "1"})
    out = r.stdout.decode()
    assert r.returncode == 0, out + r.stderr.decode()
    assert re.search(r"^235 2\.7\.0", out, re.M), out
    assert "> AUTH PLAIN <credentials hidden>" in out, out
    assert plain not in out, out


def test_nothing_listening_is_exit_status_3(tmp_path):
    port = free_port()
    r = subprocess.run([PETREL, "shell", f"{HOST}:{port}", "--timeout", "5"], input=b"", capture_output=True,
                       timeout=30)
    assert r.returncode == 3, r
    assert b"cannot connect" in r.stderr and b"refused" in r.stderr, r.stderr


def test_a_server_that_closes_after_the_greeting_is_exit_status_1():
    listener = socket.create_server((HOST, 0))
    port = listener.getsockname()[1]

    def serve():
        conn, _ = listener.accept()
        conn.sendall(b"220 rude.test ESMTP\r\n")
        conn.recv(1000)
        conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        r = subprocess.run([PETREL, "shell", f"{HOST}:{port}", "--timeout", "5"], input=b"EHLO a\nNOOP\n",
                           capture_output=True, timeout=30)
    finally:
        listener.close()
        t.join(5)
    assert r.returncode == 1, r
    assert b"Connection closed by the server" in r.stdout or b"Connection lost" in r.stdout, r.stdout


def test_a_script_gives_up_when_a_reply_does_not_come():
    listener = socket.create_server((HOST, 0))
    done = threading.Event()

    def serve():
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"220 mute.test ESMTP\r\n")
            done.wait(30)                # reads nothing, answers nothing

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        r = subprocess.run([PETREL, "shell", f"{HOST}:{listener.getsockname()[1]}", "--timeout", "1"],
                           input=b"NOOP\nRSET\n", capture_output=True, timeout=30)
    finally:
        done.set()
        listener.close()
        t.join(5)
    assert r.returncode == 1, r
    assert b"No reply within 1 s" in r.stdout and b"> RSET" not in r.stdout, r.stdout
