"""Relay control: mail for a domain that is not local is accepted only from
trusted networks and authenticated users; everyone else gets 554 5.7.1
"Relay access denied", however the address is dressed up (Postfix's
reject_unauth_destination is the model)."""
import pytest

from harness import LOCAL_DOMAIN, PASSWORDS, message, queue_id

ALICE = f"alice@{LOCAL_DOMAIN}"


def rcpt(petrel, address, source=None):
    with petrel.raw(source=source) as s:
        assert s.command("EHLO client.test").code == 250
        assert s.command("MAIL FROM:<sender@client.test>").code == 250
        arg = address if address.startswith("<") else f"<{address}>"
        return s.command(f"RCPT TO:{arg}")


def assert_relay_denied(r):
    assert (r.code, r.enhanced) == (554, "5.7.1"), r
    assert "relay access denied" in r.text.lower(), r


def test_unauthenticated_client_relaying_gets_554_5_7_1_relay_access_denied(petrel):
    assert_relay_denied(rcpt(petrel, "user@other.example"))


@pytest.mark.parametrize("address", [
    f"user%other.example@{LOCAL_DOMAIN}",          # percent hack
    f"<@{LOCAL_DOMAIN}:user@other.example>",       # source route: the route is ignored
    f'<"user@other.example"@{LOCAL_DOMAIN}>',      # quoted local part holding an address
    "user@other.example.",                         # trailing dot on a foreign domain
    f"other.example!user@{LOCAL_DOMAIN}",          # bang path (UUCP): routed like %, Postfix refuses it
    f'<"user%other.example"@{LOCAL_DOMAIN}>',      # quoted percent hack
], ids=["percent", "source-route", "quoted-at", "trailing-dot", "bang-path", "quoted-percent"])
def test_relay_trick_gets_554_5_7_1(petrel, address):
    assert_relay_denied(rcpt(petrel, address))


def test_address_with_two_at_signs_is_refused(petrel):
    r = rcpt(petrel, f"user@other.example@{LOCAL_DOMAIN}")
    assert r.code in (501, 553, 554), r        # malformed or denied: either way not relayed


@pytest.mark.parametrize("address", [f"user@{LOCAL_DOMAIN.upper()}", f"user@{LOCAL_DOMAIN}."],
                         ids=["upper-case", "trailing-dot"])
def test_local_domain_variant_is_accepted_and_delivered_locally(petrel, address):
    with petrel.smtp() as c:
        assert c.sendmail("sender@client.test", [address], message("variant")) == {}
    [got] = petrel.wait_for_messages("user", 1)
    assert got.message == message("variant")


def test_source_route_to_a_local_mailbox_is_delivered_to_that_mailbox(petrel):
    with petrel.raw() as s:
        s.command("EHLO client.test")
        assert s.command("MAIL FROM:<sender@client.test>").code == 250
        r = s.command(f"RCPT TO:<@other.example:user@{LOCAL_DOMAIN}>")
        assert r.code == 250, r
        assert s.command("DATA").code == 354
        s.send(message("routed") + b".\r\n")
        assert s.reply().code == 250
    [got] = petrel.wait_for_messages("user", 1)
    assert got.message == message("routed")


def test_relay_denial_does_not_spoil_the_transaction_for_local_recipients(petrel):
    with petrel.raw() as s:
        s.command("EHLO client.test")
        assert s.command("MAIL FROM:<sender@client.test>").code == 250
        assert s.command("RCPT TO:<user@other.example>").code == 554
        assert s.command(f"RCPT TO:<user@{LOCAL_DOMAIN}>").code == 250
        assert s.command("DATA").code == 354
        s.send(message("mixed") + b".\r\n")
        assert s.reply().code == 250
    petrel.wait_for_messages("user", 1)


def test_client_in_a_trusted_network_may_relay(start_petrel):
    petrel = start_petrel("--trusted-network", "127.0.0.0/8")
    with petrel.raw() as s:
        s.command("EHLO client.test")
        assert s.command("MAIL FROM:<sender@client.test>").code == 250
        r = s.command("RCPT TO:<user@other.example>")
        assert r.code == 250, r
        assert s.command("DATA").code == 354
        s.send(message("relayed") + b".\r\n")
        r = s.reply()
        assert r.code == 250 and queue_id(r), r
    assert petrel.all_message_files() == []          # queued for other.example, not delivered here


def test_trusted_network_covers_only_its_own_addresses(start_petrel):
    petrel = start_petrel("--trusted-network", "127.0.0.2/32")
    assert rcpt(petrel, "user@other.example", source="127.0.0.2").code == 250
    assert_relay_denied(rcpt(petrel, "user@other.example", source="127.0.0.1"))
    assert_relay_denied(rcpt(petrel, "user@other.example", source="127.0.0.3"))


def test_trusted_network_flag_is_repeatable(start_petrel):
    petrel = start_petrel("--trusted-network", "127.0.0.2/32", "--trusted-network", "127.0.0.3/32")
    assert rcpt(petrel, "user@other.example", source="127.0.0.2").code == 250
    assert rcpt(petrel, "user@other.example", source="127.0.0.3").code == 250
    assert_relay_denied(rcpt(petrel, "user@other.example", source="127.0.0.4"))


def test_bad_trusted_network_stops_petreld_naming_it(tmp_path):
    from test_starttls import start_must_fail
    status, err = start_must_fail(tmp_path, "--trusted-network", "127.0.0.0/33")
    assert status == 2, err
    assert "127.0.0.0/33" in err, err


def test_authenticated_client_may_relay_on_the_smtp_port(secure):
    with secure.raw_auth(ALICE, listener=None) as s:
        assert s.command(f"MAIL FROM:<{ALICE}>").code == 250
        r = s.command("RCPT TO:<user@other.example>")
    assert r.code == 250, r


def test_tls_without_auth_does_not_permit_relaying(secure):
    with secure.raw_tls() as s:
        assert s.command("MAIL FROM:<sender@client.test>").code == 250
        assert_relay_denied(s.command("RCPT TO:<user@other.example>"))


def test_failed_auth_does_not_permit_relaying(secure):
    with secure.raw_tls() as s:
        assert s.auth_plain(ALICE, PASSWORDS[ALICE] + "x").code == 535
        assert s.command("MAIL FROM:<sender@client.test>").code == 250
        assert_relay_denied(s.command("RCPT TO:<user@other.example>"))
