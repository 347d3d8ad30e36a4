"""Rate limits: connections per client IP per minute (421 4.7.0 at the
greeting) and messages per authenticated user per hour (451 4.7.1 at MAIL)."""
from harness import LOCAL_DOMAIN, PASSWORDS, message

ALICE = f"alice@{LOCAL_DOMAIN}"
CAROL = f"carol@{LOCAL_DOMAIN}"
# The harness checks from 127.0.0.1 that each port listens, and those
# connections count: the connection-rate tests use addresses of their own.
CLIENT, OTHER = "127.0.0.21", "127.0.0.22"


def greeting(petrel, source=None):
    with petrel.connect(source=source) as s:
        return s.reply()


def test_fourth_connection_in_a_minute_from_one_ip_gets_421_4_7_0(start_petrel):
    petrel = start_petrel("--rate-connections-per-minute", "3")
    codes = [greeting(petrel, CLIENT).code for _ in range(3)]
    assert codes == [220, 220, 220]
    with petrel.connect(source=CLIENT) as s:
        r = s.reply()
        assert (r.code, r.enhanced) == (421, "4.7.0"), r
        assert s.is_closed()


def test_connection_rate_of_one_ip_does_not_affect_another(start_petrel):
    petrel = start_petrel("--rate-connections-per-minute", "3")
    for _ in range(4):
        greeting(petrel, source=CLIENT)
    assert greeting(petrel, source=CLIENT).code == 421
    assert greeting(petrel, source=OTHER).code == 220


def test_connection_rate_counts_connections_on_every_listener(start_secure):
    petrel = start_secure("--rate-connections-per-minute", "3")
    for listener in (None, "submission", None):
        with petrel.connect(source=CLIENT, listener=listener) as s:
            assert s.reply().code == 220
    with petrel.connect(source=CLIENT, listener="submission") as s:
        r = s.reply()
    assert (r.code, r.enhanced) == (421, "4.7.0"), r


def test_third_message_in_an_hour_by_one_user_gets_451_4_7_1(start_secure):
    petrel = start_secure("--rate-messages-per-hour", "2")
    for n in range(2):
        with petrel.raw_auth(ALICE) as s:               # across sessions
            assert s.command(f"MAIL FROM:<{ALICE}>").code == 250
            assert s.command(f"RCPT TO:<user@{LOCAL_DOMAIN}>").code == 250
            assert s.command("DATA").code == 354
            s.send(message(f"rate {n}") + b".\r\n")
            assert s.reply().code == 250
    with petrel.raw_auth(ALICE) as s:
        r = s.command(f"MAIL FROM:<{ALICE}>")
    assert (r.code, r.enhanced) == (451, "4.7.1"), r


def test_message_rate_of_one_user_does_not_affect_another(start_secure):
    petrel = start_secure("--rate-messages-per-hour", "1")
    with petrel.smtp_tls(listener="submission") as c:
        c.login(ALICE, PASSWORDS[ALICE])
        c.sendmail(ALICE, [f"user@{LOCAL_DOMAIN}"], message("alice's one"))
    with petrel.raw_auth(CAROL) as s:
        r = s.command(f"MAIL FROM:<{CAROL}>")
    assert r.code == 250, r


def test_message_rate_does_not_apply_to_unauthenticated_mail(start_secure):
    petrel = start_secure("--rate-messages-per-hour", "1")
    with petrel.smtp() as c:
        for n in range(3):
            assert c.sendmail("sender@client.test", [f"user@{LOCAL_DOMAIN}"], message(f"inbound {n}")) == {}
    petrel.wait_for_messages("user", 3)
