"""AUTH (RFC 4954) with PLAIN, LOGIN and SCRAM-SHA-256 against a Dovecot
passwd-file: only over TLS, the replies of every outcome, each password
scheme, --hash-password, the delay after a failure, and the per-IP lockout."""
import subprocess
import time

import pytest

from harness import (LOCAL_DOMAIN, PASSWORDS, PETRELD, Closed, argon2id, b64, crypt3,
                     gsasl_scram, scram_sha256_entry, write_passwd_file)

ALICE = f"alice@{LOCAL_DOMAIN}"      # {PLAIN} in the passwd_file fixture
BOB = f"bob@{LOCAL_DOMAIN}"          # {SCRAM-SHA-256}
CAROL = f"carol@{LOCAL_DOMAIN}"      # {SHA512-CRYPT}


def test_auth_without_tls_gets_538_5_7_11(secure):
    with secure.raw() as s:
        s.command("EHLO client.test")
        r = s.auth_plain(ALICE, PASSWORDS[ALICE])
    assert (r.code, r.enhanced) == (538, "5.7.11"), r


def test_auth_without_tls_on_the_submission_port_gets_538_5_7_11(secure):
    with secure.raw(listener="submission") as s:
        s.command("EHLO client.test")
        r = s.auth_plain(ALICE, PASSWORDS[ALICE])
    assert (r.code, r.enhanced) == (538, "5.7.11"), r


def test_auth_plain_with_the_right_password_gets_235_2_7_0(secure):
    with secure.raw_tls() as s:
        r = s.auth_plain(ALICE, PASSWORDS[ALICE])
    assert (r.code, r.enhanced) == (235, "2.7.0"), r


def test_auth_plain_without_initial_response_gets_334_then_235(secure):
    with secure.raw_tls() as s:
        r = s.command("AUTH PLAIN")
        assert r.code == 334 and r.lines == [""], r
        r = s.command(b64(f"\0{ALICE}\0{PASSWORDS[ALICE]}"))
    assert (r.code, r.enhanced) == (235, "2.7.0"), r


def test_auth_login_with_the_right_password_gets_235_2_7_0(secure):
    with secure.raw_tls() as s:
        r = s.auth_login(ALICE, PASSWORDS[ALICE])
    assert (r.code, r.enhanced) == (235, "2.7.0"), r


def test_smtplib_login_authenticates_with_plain(secure):
    with secure.smtp_tls(listener="submission") as c:
        code, _ = c.login(ALICE, PASSWORDS[ALICE])
    assert code == 235


def test_smtplib_login_authenticates_with_login(secure):
    with secure.smtp_tls(listener="submission") as c:
        c.user, c.password = ALICE, PASSWORDS[ALICE]
        code, _ = c.auth("LOGIN", c.auth_login)
    assert code == 235


def test_wrong_password_gets_535_5_7_8(secure):
    with secure.raw_tls() as s:
        r = s.auth_plain(ALICE, "not-the-password")
    assert (r.code, r.enhanced) == (535, "5.7.8"), r


def test_unknown_user_gets_535_5_7_8(secure):
    with secure.raw_tls() as s:
        r = s.auth_plain(f"mallory@{LOCAL_DOMAIN}", "anything")
    assert (r.code, r.enhanced) == (535, "5.7.8"), r


def test_session_continues_after_a_failed_auth_and_may_try_again(secure):
    with secure.raw_tls() as s:
        assert s.auth_plain(ALICE, "wrong").code == 535
        r = s.auth_plain(ALICE, PASSWORDS[ALICE])
    assert r.code == 235, r


def test_star_cancels_the_exchange_with_501_5_0_0(secure):
    with secure.raw_tls() as s:
        assert s.command("AUTH LOGIN").code == 334
        r = s.command("*")
        assert (r.code, r.enhanced) == (501, "5.0.0"), r
        assert s.command("NOOP").code == 250          # back to commands


def test_auth_when_already_authenticated_gets_503_5_5_1(secure):
    with secure.raw_tls() as s:
        assert s.auth_plain(ALICE, PASSWORDS[ALICE]).code == 235
        r = s.auth_plain(ALICE, PASSWORDS[ALICE])
    assert (r.code, r.enhanced) == (503, "5.5.1"), r


def test_unknown_mechanism_gets_504_5_5_4(secure):
    with secure.raw_tls() as s:
        r = s.command("AUTH CRAM-MD5")
    assert (r.code, r.enhanced) == (504, "5.5.4"), r


def test_response_that_is_not_base64_gets_501(secure):
    with secure.raw_tls() as s:
        r = s.command("AUTH PLAIN !!!not-base64!!!")
        assert r.code == 501, r
        assert s.command("NOOP").code == 250


def test_auth_inside_a_mail_transaction_gets_503(secure):
    # RFC 4954 section 4: AUTH during a transaction MUST be rejected with 503
    with secure.raw_tls() as s:
        assert s.command("MAIL FROM:<sender@client.test>").code == 250
        r = s.auth_plain(ALICE, PASSWORDS[ALICE])
    assert r.code == 503, r


def test_scram_sha256_logs_in_and_the_server_proves_it_knows_the_password(secure):
    with secure.raw_tls() as s:
        r, verified = s.auth_scram_sha256(BOB, PASSWORDS[BOB])
    assert (r.code, r.enhanced) == (235, "2.7.0"), r
    assert verified, "the server's v= signature did not match"


def test_scram_sha256_with_a_wrong_password_gets_535_5_7_8(secure):
    with secure.raw_tls() as s:
        r, _ = s.auth_scram_sha256(BOB, "not-the-password")
    assert (r.code, r.enhanced) == (535, "5.7.8"), r


def test_plain_login_works_for_a_user_stored_as_scram_keys(secure):
    with secure.raw_tls() as s:
        r = s.auth_plain(BOB, PASSWORDS[BOB])
    assert r.code == 235, r


def test_gsasl_scram_sha256_over_starttls_succeeds(secure):
    r = gsasl_scram(secure, BOB, PASSWORDS[BOB], listener="submission")
    assert r.returncode == 0, r.out
    assert "STARTTLS" in r.out and "\n235 " in r.out, r.out


def test_gsasl_scram_sha256_with_a_wrong_password_fails_with_535(secure):
    r = gsasl_scram(secure, BOB, "not-the-password", listener="submission")
    assert r.returncode != 0, r.out
    assert "\n535 " in r.out, r.out


# --------------------------------------------------------------------------
# the passwd-file schemes, from generators other than petreld

SCHEMES = {
    "PLAIN": lambda pw: "{PLAIN}" + pw,
    "SHA512-CRYPT": lambda pw: "{SHA512-CRYPT}" + crypt3(pw, "$6$rounds=5000$petrelTestSalt$"),
    "CRYPT-sha512": lambda pw: "{CRYPT}" + crypt3(pw, "$6$petrelTestSalt$"),
    "CRYPT-yescrypt": lambda pw: "{CRYPT}" + crypt3(pw, "$y$j9T$abcdefghijklmnop"),
    "BLF-CRYPT": lambda pw: "{BLF-CRYPT}" + crypt3(pw, "$2y$05$abcdefghijklmnopqrstuu"),
    "ARGON2ID": lambda pw: "{ARGON2ID}" + argon2id(pw),
    "SCRAM-SHA-256": lambda pw: scram_sha256_entry(pw),
}


def start_with_users(start_petrel, tls_files, tmp_path, entries, *flags):
    users = write_passwd_file(tmp_path / "users", entries)
    return start_petrel("--tls-cert", tls_files.cert, "--tls-key", tls_files.key, "--passwd-file", users,
                        "--auth-failure-delay", "0s", *flags)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_passwd_file_scheme_accepts_the_right_password(scheme, start_petrel, tls_files, tmp_path):
    user, pw = f"dave@{LOCAL_DOMAIN}", "dave-Pa55word"
    petrel = start_with_users(start_petrel, tls_files, tmp_path, {user: SCHEMES[scheme](pw)})
    with petrel.raw_tls() as s:
        r = s.auth_plain(user, pw)
    assert (r.code, r.enhanced) == (235, "2.7.0"), r


@pytest.mark.parametrize("scheme", SCHEMES)
def test_passwd_file_scheme_refuses_a_wrong_password(scheme, start_petrel, tls_files, tmp_path):
    user, pw = f"dave@{LOCAL_DOMAIN}", "dave-Pa55word"
    petrel = start_with_users(start_petrel, tls_files, tmp_path, {user: SCHEMES[scheme](pw)})
    with petrel.raw_tls() as s:
        r = s.auth_plain(user, pw + "x")
    assert (r.code, r.enhanced) == (535, "5.7.8"), r


HASH_SCHEMES = ["CRYPT", "BLF-CRYPT", "SHA512-CRYPT", "ARGON2ID", "SCRAM-SHA-256"]


def hash_password(scheme, password):
    r = subprocess.run([PETRELD, "--hash-password", scheme], input=password.encode() + b"\n",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


@pytest.mark.parametrize("scheme", HASH_SCHEMES)
def test_hash_password_prints_one_scheme_tagged_line_and_exits_0(scheme):
    status, out, err = hash_password(scheme, "erin-Pa55word")
    assert status == 0, err
    lines = out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("{" + scheme + "}"), out
    assert "erin-Pa55word" not in out


@pytest.mark.parametrize("scheme", HASH_SCHEMES)
def test_hash_password_output_in_the_passwd_file_logs_in(scheme, start_petrel, tls_files, tmp_path):
    status, out, err = hash_password(scheme, "erin-Pa55word")
    assert status == 0, err
    user = f"erin@{LOCAL_DOMAIN}"
    petrel = start_with_users(start_petrel, tls_files, tmp_path, {user: out.strip()})
    with petrel.raw_tls() as s:
        assert s.auth_plain(user, "erin-Pa55word-").code == 535
        r = s.auth_plain(user, "erin-Pa55word")
    assert r.code == 235, r


def test_hash_password_salts_each_hash(tmp_path):
    _, a, _ = hash_password("SHA512-CRYPT", "same")
    _, b, _ = hash_password("SHA512-CRYPT", "same")
    assert a != b


def test_hash_password_with_an_unknown_scheme_fails(tmp_path):
    status, out, err = hash_password("MD5-NONSENSE", "x")
    assert status != 0 and out == "", (status, out, err)


def test_missing_passwd_file_stops_petreld(tmp_path, tls_files):
    from test_starttls import start_must_fail
    status, err = start_must_fail(tmp_path, "--tls-cert", tls_files.cert, "--tls-key", tls_files.key,
                                  "--passwd-file", str(tmp_path / "no-users"))
    assert status != 0, err
    assert "no-users" in err, err


# --------------------------------------------------------------------------
# failure delay and lockout

def test_failed_auth_is_answered_after_the_delay_which_doubles(start_secure):
    petrel = start_secure("--auth-failure-delay", "150ms", "--auth-lockout-failures", "100")
    waits = []
    with petrel.raw_tls() as s:
        for _ in range(3):
            t0 = time.monotonic()
            assert s.auth_plain(ALICE, "wrong").code == 535
            waits.append(time.monotonic() - t0)
    assert waits[0] >= 0.14, waits
    assert waits[1] >= 0.29, waits
    assert waits[2] >= 0.59, waits
    assert waits[2] < 5, waits


def test_successful_auth_is_not_delayed(start_secure):
    petrel = start_secure("--auth-failure-delay", "2s")
    with petrel.raw_tls() as s:
        t0 = time.monotonic()
        assert s.auth_plain(ALICE, PASSWORDS[ALICE]).code == 235
        assert time.monotonic() - t0 < 1.5


def auth_attempt(petrel, user, password, source=None, state=None):
    """One AUTH PLAIN over TLS, on the session kept in state["s"] (a new
    one when there is none or the server closed it). Returns the reply
    code that ended the attempt: the greeting's when it is not 220."""
    if state is None:                      # one attempt on a session of its own
        state = {}
        try:
            return auth_attempt(petrel, user, password, source, state)
        finally:
            if "s" in state:
                state["s"].close()
    for _ in range(2):
        s = state.get("s")
        if s is None:
            s = petrel.connect(source=source)
            greeting = s.reply()
            if greeting.code != 220:
                s.close()
                return greeting
            s.command("EHLO client.test")
            s.starttls()
            state["s"] = s
        try:
            r = s.auth_plain(user, password)
        except (Closed, OSError):
            s.close()
            state.pop("s")
            continue
        if r.code == 421:
            s.close()
            state.pop("s")
        return r
    raise AssertionError("the server closed two sessions in a row before answering AUTH")


def lockout_server(start_secure, failures=10, *flags):
    return start_secure("--auth-lockout-failures", str(failures), "--auth-lockout-window", "10m",
                        "--max-errors", "1000", *flags)


def test_fifty_wrong_passwords_from_one_ip_lead_to_the_lockout(start_secure):
    petrel = lockout_server(start_secure, 10)
    state = {}
    replies = [auth_attempt(petrel, ALICE, f"guess-{i}", state=state) for i in range(50)]
    codes = [r.code for r in replies]
    assert codes[:10] == [535] * 10, replies[:12]
    assert codes[10:] == [421] * 40, [r for r in replies[10:] if r.code != 421][:5]
    assert all(r.enhanced == "4.7.0" for r in replies[10:]), replies[10:12]
    if "s" in state:
        state["s"].close()


def test_locked_out_ip_is_refused_even_with_the_right_password(start_secure):
    petrel = lockout_server(start_secure, 5)
    for i in range(5):
        assert auth_attempt(petrel, ALICE, f"guess-{i}").code == 535
    r = auth_attempt(petrel, ALICE, PASSWORDS[ALICE])
    assert (r.code, r.enhanced) == (421, "4.7.0"), r


def test_lockout_of_one_ip_does_not_lock_out_another(start_secure):
    petrel = lockout_server(start_secure, 5)
    for i in range(6):
        auth_attempt(petrel, ALICE, f"guess-{i}", source="127.0.0.1")
    assert auth_attempt(petrel, ALICE, PASSWORDS[ALICE], source="127.0.0.1").code == 421
    r = auth_attempt(petrel, ALICE, PASSWORDS[ALICE], source="127.0.0.2")
    assert (r.code, r.enhanced) == (235, "2.7.0"), r


def test_lockout_ends_after_the_lockout_duration(start_secure, tmp_path):
    config = tmp_path / "lockout.toml"
    config.write_text('[auth]\nlockout_duration = "2s"\n')
    petrel = start_secure("--config", str(config), "--auth-lockout-failures", "3")
    for i in range(3):
        assert auth_attempt(petrel, ALICE, f"guess-{i}").code == 535
    assert auth_attempt(petrel, ALICE, PASSWORDS[ALICE]).code == 421
    time.sleep(2.5)
    r = auth_attempt(petrel, ALICE, PASSWORDS[ALICE])
    assert r.code == 235, r


def test_failures_older_than_the_window_do_not_count(start_secure):
    petrel = start_secure("--auth-lockout-failures", "3", "--auth-lockout-window", "1s")
    for i in range(2):
        assert auth_attempt(petrel, ALICE, f"old-{i}").code == 535
    time.sleep(1.5)
    for i in range(2):
        assert auth_attempt(petrel, ALICE, f"new-{i}").code == 535
    r = auth_attempt(petrel, ALICE, PASSWORDS[ALICE])
    assert r.code == 235, r


def test_successful_logins_do_not_count_toward_the_lockout(start_secure):
    petrel = lockout_server(start_secure, 3)
    for _ in range(6):
        assert auth_attempt(petrel, ALICE, PASSWORDS[ALICE]).code == 235
