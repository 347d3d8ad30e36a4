"""Aliases and virtual aliases (docs/aliases.md), end to end: the aliases
file with :include:, bare names and recursion, loops, a virtual alias
domain with a catch-all and the recipient delimiter, --check-config's
FILE:LINE errors, pipe and file targets with allow_commands off and on,
a bounce that names the alias, and a reload on SIGHUP."""
import re
import signal
import subprocess

from harness import LOCAL_DOMAIN, PETRELD, wait_until

SENDER = f"sender@{LOCAL_DOMAIN}"
B = "b.test"          # a second local domain
V = "v.test"          # a virtual alias domain
FAR = "far.test"      # a remote domain, reached through a recorder

BODY = (b"Subject: alias test\r\n"
        b"\r\n"
        b"From the start of a line\r\n"
        b">From quoted once\r\n"
        b"Gr\xc3\xbc\xc3\x9fe\r\n")


def write_config(tmp_path, aliases="", virtual="", extra=""):
    """Writes the alias files and a petreld.toml naming them; its path."""
    keys = ['recipient_delimiter = "+"']
    if aliases:
        (tmp_path / "aliases").write_text(aliases)
        keys.append(f'aliases = "{tmp_path / "aliases"}"')
    if virtual:
        (tmp_path / "virtual").write_text(virtual)
        keys.append(f'virtual_aliases = "{tmp_path / "virtual"}"')
    config = tmp_path / "petreld.toml"
    config.write_text("[local]\n" + "\n".join(keys) + "\n" + extra)
    return str(config)


def start(start_petrel, config):
    return start_petrel("--config", config, "--local-domain", LOCAL_DOMAIN, "--local-domain", B)


def send(p, recipients, body=BODY, sender=SENDER):
    with p.smtp() as c:
        refused = c.sendmail(sender, recipients, body)
    assert refused == {}


def rcpt(p, address):
    """The reply to RCPT TO:<address> in a fresh transaction."""
    with p.raw() as s:
        s.command("EHLO client.test")
        assert s.command(f"MAIL FROM:<{SENDER}>").code == 250
        return s.command(f"RCPT TO:<{address}>")


def check_config(config):
    return subprocess.run([PETRELD, "--check-config", "--config", config], capture_output=True, text=True,
                          timeout=30)


def test_an_alias_expands_through_include_bare_names_and_recursion(start_petrel, tmp_path):
    (tmp_path / "list").write_text("# members\nerin\nfrank@local.test, grace\n")
    p = start(start_petrel, write_config(tmp_path, aliases=(
        "# the aliases of the test\n"
        "postmaster: root\n"
        "Root:       alice\n"
        "team:       alice, bob,\n"
        f"            :include:{tmp_path / 'list'}\n"
        "self:       self, dave\n")))
    send(p, [f"team@{LOCAL_DOMAIN}"])
    for user in ("alice", "bob", "erin", "frank", "grace"):
        [m] = p.wait_for_messages(user, 1)
        assert m.message == BODY
        assert m.header("Delivered-To") == f"{user}@{LOCAL_DOMAIN}"
    assert p.message_files("team") == []

    # A bare name stays in the domain the alias was addressed to, through two aliases.
    send(p, [f"PostMaster@{B}"])
    [m] = p.wait_for_messages("alice", 1, domain=B)
    assert m.message == BODY and m.header("Delivered-To") == f"alice@{B}"

    # An alias that names itself keeps its mailbox.
    send(p, [f"self@{LOCAL_DOMAIN}"])
    assert p.wait_for_messages("self", 1)[0].message == BODY
    assert p.wait_for_messages("dave", 1)[0].message == BODY


def test_loops_end_in_a_mailbox_or_are_refused_naming_the_alias(start_petrel, tmp_path):
    p = start(start_petrel, write_config(tmp_path,
                                  aliases="a: b\nb: a, carol\nbig: u1, u2, u3\n",
                                  virtual=f"x@{V} y@{V}\ny@{V} x@{V}\n",
                                  extra="alias_max_recipients = 2\n"))
    send(p, [f"a@{LOCAL_DOMAIN}"])
    assert p.wait_for_messages("a", 1)[0].message == BODY
    assert p.wait_for_messages("carol", 1)[0].message == BODY
    assert p.message_files("b") == []

    loop = rcpt(p, f"x@{V}")
    assert (loop.code, loop.enhanced) == (550, "5.1.1")
    assert f"alias 'y@{V}' (virtual:2): expansion loop" in loop.text

    big = rcpt(p, f"big@{LOCAL_DOMAIN}")
    assert (big.code, big.enhanced) == (550, "5.1.1")
    assert "alias 'big' (aliases:3): more than 2 recipients ([local] alias_max_recipients)" in big.text


def test_a_virtual_alias_domain_with_a_catch_all_and_the_delimiter(start_petrel, tmp_path):
    p = start(start_petrel, write_config(tmp_path, virtual=(
        f"sales+eu@{V}    eu@{LOCAL_DOMAIN}\n"
        f"Sales@{V}       sales\n"
        f"@{V}            catchall@{LOCAL_DOMAIN}\n"
        "strict.test     anything\n"
        "info@strict.test info, ops@b.test\n")))
    # Anyone may send to a virtual alias domain, as to a local one.
    send(p, [f"sales+eu@{V}"])
    assert p.wait_for_messages("eu", 1)[0].message == BODY
    send(p, [f"sales+us@{V}"])
    [m] = p.wait_for_messages("sales", 1)
    assert m.message == BODY and m.header("Delivered-To") == f"sales@{LOCAL_DOMAIN}"
    send(p, [f"anyone@{V}"])
    assert p.wait_for_messages("catchall", 1)[0].message == BODY
    send(p, ["info@strict.test"])
    assert p.wait_for_messages("info", 1)[0].message == BODY
    assert p.wait_for_messages("ops", 1, domain=B)[0].message == BODY

    unknown = rcpt(p, "nobody@strict.test")
    assert (unknown.code, unknown.enhanced) == (550, "5.1.1")
    assert "user unknown in virtual alias table" in unknown.text
    # No relaying through it: other domains stay refused.
    assert rcpt(p, "someone@elsewhere.test").code == 554
    assert rcpt(p, f"x%elsewhere.test@{V}").code == 554


def test_check_config_names_each_alias_error_at_its_line(tmp_path):
    config = write_config(tmp_path,
                   aliases=("ok: alice\n"
                            "no colon here\n"
                            f"list: :include:{tmp_path / 'missing'}\n"
                            "pipe: |/bin/cat\n"
                            "bad: x@@y\n"
                            "ok: bob\n"),
                   virtual="@bad..test someone@local.test\n")
    result = check_config(config)
    assert result.returncode == 2, result.stdout + result.stderr
    aliases, virtual = tmp_path / "aliases", tmp_path / "virtual"
    for line in (f"{aliases}:2: expected 'name: target, ...'",
                 f"{aliases}:3: :include: {tmp_path / 'missing'}: cannot read: No such file or directory",
                 f"{aliases}:4: alias 'pipe': pipe '|/bin/cat' while [local] allow_commands is off",
                 f"{aliases}:5: 'x@@y' is not a valid address",
                 f"{aliases}:6: 'ok' is defined again (first at line 1)",
                 f"{virtual}:1: '@bad..test' is not a valid @domain"):
        assert f"petreld: {line}\n" in result.stderr, result.stderr

    # allow_commands on: the pipe is fine, the rest still is not.
    (tmp_path / "petreld.toml").write_text((tmp_path / "petreld.toml").read_text() + "allow_commands = true\n")
    result = check_config(config)
    assert result.returncode == 2 and "allow_commands" not in result.stderr


def test_a_pipe_is_refused_while_allow_commands_is_off(start_petrel, tmp_path):
    out = tmp_path / "out"
    config = write_config(tmp_path, aliases=f"tickets: |cat > {out}\nother: alice\n")
    assert check_config(config).returncode == 2
    p = start(start_petrel, config)   # starts all the same: only that alias is refused
    refused = rcpt(p, f"tickets@{LOCAL_DOMAIN}")
    assert (refused.code, refused.enhanced) == (550, "5.1.1")
    assert "alias 'tickets' (aliases:1): pipe targets are off ([local] allow_commands)" in refused.text
    send(p, [f"other@{LOCAL_DOMAIN}"])
    assert p.wait_for_messages("alice", 1)[0].message == BODY
    assert not out.exists()


def test_a_pipe_gets_the_message_and_its_exit_status_decides(start_petrel, tmp_path):
    out, env = tmp_path / "out", tmp_path / "env"
    p = start(start_petrel, write_config(tmp_path, aliases=(
        f"tickets: \"|printf '%s %s %s' \\\"$SENDER\\\" \\\"$RECIPIENT\\\" \\\"$ORIGINAL_RECIPIENT\\\" > {env}; "
        f"cat > {out}\"\n"
        "helpdesk: tickets\n"
        "nouser: \"|echo no such ticket queue; exit 67\"\n"
        "later: \"|exit 75\"\n"), extra="allow_commands = true\n"))
    send(p, [f"helpdesk+x@{LOCAL_DOMAIN}"])
    assert wait_until(lambda: out.exists() and out.read_bytes().endswith(b"Gr\xc3\xbc\xc3\x9fe\n"), 10)
    text = out.read_bytes()
    assert text.startswith(f"Return-Path: <{SENDER}>\nDelivered-To: tickets@{LOCAL_DOMAIN}\nReceived: ".encode())
    assert text.endswith(BODY.replace(b"\r\n", b"\n"))
    assert b"\r" not in text
    assert env.read_text() == f"{SENDER} tickets@{LOCAL_DOMAIN} helpdesk+x@{LOCAL_DOMAIN}"

    # Exit 67 (EX_NOUSER) bounces, naming the alias; 75 (EX_TEMPFAIL) waits.
    send(p, [f"nouser@{LOCAL_DOMAIN}", f"later@{LOCAL_DOMAIN}"])
    [bounce] = p.wait_for_messages("sender", 1)
    assert b"(via alias nouser)" in bounce.message
    assert b"command exited with status 67 (EX_NOUSER): no" in bounce.message   # then folded
    assert b"Status: 5.1.1" in bounce.message
    assert wait_until(lambda: re.search(r"to=<later@local\.test> relay=local site=local tls=no tls_policy=- "
                                        r"result=deferred reply=\"451 4\.3\.0 command exited with status 75 "
                                        r"\(EX_TEMPFAIL\)", p.log_text()), 10)


def test_a_file_gets_the_message_in_mbox_format(start_petrel, tmp_path):
    mbox = tmp_path / "archive.mbox"
    p = start(start_petrel, write_config(tmp_path, aliases=f"archive: {mbox}, alice\n", extra="allow_commands = true\n"))
    send(p, [f"archive@{LOCAL_DOMAIN}"])
    assert p.wait_for_messages("alice", 1)[0].message == BODY
    assert wait_until(lambda: mbox.exists() and mbox.read_bytes().endswith(b"\n\n"), 10)
    send(p, [f"archive@{LOCAL_DOMAIN}"], sender="")
    assert wait_until(lambda: mbox.read_bytes().count(b"\nFrom ") == 1, 10)
    text = mbox.read_bytes()
    assert (mbox.stat().st_mode & 0o777) == 0o600
    first, second = text.split(b"\n\nFrom ", 1)
    assert re.match(rb"From sender@local\.test  \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n", first)
    assert re.match(rb"MAILER-DAEMON  \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n", second)
    body = first.split(b"\n", 1)[1]
    assert body.startswith(f"Return-Path: <{SENDER}>\nDelivered-To: archive@{LOCAL_DOMAIN}\n".encode())
    assert body.endswith(b"\n\n>From the start of a line\n>>From quoted once\nGr\xc3\xbc\xc3\x9fe")


def test_a_remote_refusal_bounces_naming_the_alias(start_petrel, receiver, tmp_path):
    mx = receiver("127.0.0.71", reply="550 5.1.1 <carol@far.test>: no such user", reply_at="RCPT")
    p = start(start_petrel, write_config(tmp_path, aliases=f"partner: carol@{FAR}, alice\n", extra=(
        f'[delivery]\ntransport = {{ "{FAR}" = "smtp:[{mx.host}]:{mx.port}" }}\nretry_intervals = ["1s"]\n')))
    send(p, [f"partner@{LOCAL_DOMAIN}"])
    assert p.wait_for_messages("alice", 1)[0].message == BODY
    [bounce] = p.wait_for_messages("sender", 1, timeout=15)
    assert f"<carol@{FAR}>: delivery failed".encode() in bounce.message
    assert f"(originally addressed to partner@{LOCAL_DOMAIN})".encode() in bounce.message
    assert b"(via alias partner)" in bounce.message
    assert f"Original-Recipient: rfc822; partner@{LOCAL_DOMAIN}".encode() in bounce.message
    assert f"Final-Recipient: rfc822; carol@{FAR}".encode() in bounce.message


def test_sighup_reloads_the_tables(start_petrel, tmp_path):
    p = start(start_petrel, write_config(tmp_path, aliases="help: alice\n"))
    send(p, [f"help@{LOCAL_DOMAIN}"])
    assert p.wait_for_messages("alice", 1)[0].message == BODY
    (tmp_path / "aliases").write_text("help: bob\n")
    p.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: "reload: aliases reloaded" in p.log_text(), 10)
    send(p, [f"help@{LOCAL_DOMAIN}"])
    assert p.wait_for_messages("bob", 1)[0].message == BODY
    # A broken file leaves the tables in use.
    (tmp_path / "aliases").write_text("help bob\n")
    p.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: "reload: aliases kept as they were" in p.log_text(), 10)
    send(p, [f"help@{LOCAL_DOMAIN}"])
    assert len(p.wait_for_messages("bob", 2)) == 2


def test_a_big_message_reaches_a_file_target_and_a_mailbox_whole(start_petrel, tmp_path):
    # body_in_memory 16 KiB: most of this message is in its body file, which
    # the mbox gets read back whole and the Maildir gets copied.
    mbox = tmp_path / "archive.mbox"
    p = start(start_petrel, write_config(tmp_path, aliases=f"archive: {mbox}, alice\n",
                                         extra='allow_commands = true\n[limits]\nbody_in_memory = "16KiB"\n'))
    big = b"Subject: big\r\n\r\n" + b"".join(b"line %06d of a big message\r\n" % i for i in range(20000))
    send(p, [f"archive@{LOCAL_DOMAIN}"], body=big)
    assert p.wait_for_messages("alice", 1)[0].message == big
    assert wait_until(lambda: mbox.exists() and b"line 019999 of a big message\n" in mbox.read_bytes(), 10)
    assert mbox.read_bytes().count(b"of a big message\n") == 20000
