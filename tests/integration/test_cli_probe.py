"""`petrel probe`: against petreld (plain, STARTTLS, implicit TLS), Postfix's
smtp-sink, scripted servers that misbehave on purpose, a port with nothing
listening, a listener that never speaks, and MX targets served by dnsmasq.
Each finding has a test that makes it appear; every --json document is
validated against the schema in docs/probe-json.md.

    PETRELD=/work/main/build/petreld /usr/bin/python3 -m pytest -q tests/integration/test_cli_probe.py
"""
import json
import os
import re
import shutil
import socket
import subprocess

import pytest

from dns_zone import DnsZone, dnsmasq_binary
from harness import HOST, PETRELD, ROOT, free_port
from misbehaving_smtp import MisbehavingSmtp

PETREL = os.path.join(os.path.dirname(PETRELD), "petrel")
TIMEOUT = "2"  # seconds, per step: short, so that failing cases end quickly


# --------------------------------------------------------------------------
# running petrel probe, and the schema

def probe(*args, env=None):
    """petrel probe ARGS: (exit status, stdout, stderr)."""
    r = subprocess.run([PETREL, "probe", "--timeout", TIMEOUT, *args], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=60, env=env)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def probe_json(*args):
    """petrel probe --json ARGS: (exit status, document), the document checked against the schema."""
    status, out, err = probe("--json", *args)
    doc = json.loads(out)
    validate(doc, SCHEMA)
    assert doc["exit_status"] == status
    return status, doc


def load_schema():
    with open(os.path.join(ROOT, "docs", "probe-json.md")) as f:
        text = f.read()
    block = re.search(r"```json\n(.*?)```", text, re.S)
    return json.loads(block.group(1))


SCHEMA = load_schema()
TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _is(value, name):
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, TYPES[name])


def validate(value, schema, path="$"):
    """The keywords docs/probe-json.md's schema uses: type, properties,
    required, items, enum, minimum, $ref (to #/$defs/...)."""
    if "$ref" in schema:
        schema = SCHEMA["$defs"][schema["$ref"].split("/")[-1]]
    types = schema.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        assert any(_is(value, t) for t in types), f"{path}: {value!r} is not {types}"
    if "enum" in schema:
        assert value in schema["enum"], f"{path}: {value!r} not in {schema['enum']}"
    if "minimum" in schema and _is(value, "number"):
        assert value >= schema["minimum"], f"{path}: {value} < {schema['minimum']}"
    if isinstance(value, dict):
        for key in schema.get("required", []):
            assert key in value, f"{path}: missing {key}"
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                validate(value[key], sub, f"{path}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            validate(item, schema["items"], f"{path}[{i}]")


def findings(doc, finding_id):
    return [f for f in doc["findings"] if f["id"] == finding_id]


def grade(doc, finding_id):
    found = findings(doc, finding_id)
    assert found, f"no finding {finding_id}: {doc['findings']}"
    return found[0]["grade"]


def not_passed(doc):
    """The ids of the findings graded warn or fail."""
    return sorted(f["id"] for f in doc["findings"] if f["grade"] in ("warn", "fail"))


# petreld calls itself petrel.test, but 127.0.0.1's PTR is localhost: the
# one warning every probe of a test petreld gets.
LOOPBACK_PTR = ["reverse_dns"]


def silent_listener():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((HOST, 0))
    s.listen(4)
    return s


# --------------------------------------------------------------------------
# petreld

def test_petreld_plain_is_graded_and_explained(petrel):
    status, doc = probe_json(f"{HOST}:{petrel.port}")
    host = doc["hosts"][0]
    assert host["greeting_reply"]["code"] == 220
    assert grade(doc, "connect") == "pass" and grade(doc, "greeting") == "pass"
    assert grade(doc, "ehlo") == "pass"
    assert grade(doc, "open_relay") == "pass"          # 554 Relay access denied
    assert grade(doc, "vrfy_enumeration") == "pass"    # 252 to everyone
    assert grade(doc, "turn") == "pass"
    assert grade(doc, "pipelining") == "pass"
    assert grade(doc, "size") == "pass"                # SIZE= over 50 MiB gets 552
    assert grade(doc, "starttls") == "warn"            # no certificate configured
    assert not_passed(doc) == sorted(LOOPBACK_PTR + ["starttls"])
    assert status == 1
    size = [e for e in host["extensions"] if e["keyword"] == "SIZE"][0]
    assert size["explanation"] == "accepts messages up to 50 MiB (RFC 1870)"
    assert host["checks"]["help"]["code"] == 214
    assert host["checks"]["relay_rcpt"]["code"] == 554
    # never a message: no DATA, and the relay check ends with RSET
    sent = [l["text"] for l in host["transcript"] if l["from"] == "client"]
    assert "DATA" not in sent and "RSET" in sent


def test_text_report_is_plain_when_piped_and_verbose_shows_the_transcript(petrel):
    status, out, _ = probe("-v", f"{HOST}:{petrel.port}")
    assert status == 1
    assert "\x1b[" not in out                          # stdout is a pipe: no colour
    assert "accepts messages up to 50 MiB" in out
    assert "C: EHLO " in out and "S: 220 " in out and "S: 250-" in out
    assert re.search(r"Summary: \d+ pass, 2 warn, 0 fail", out)


def test_colour_only_on_a_terminal_and_never_with_no_color(petrel):
    script = shutil.which("script")
    if not script:
        pytest.skip("util-linux script(1) is needed for a pty")
    cmd = f"{PETREL} probe --timeout {TIMEOUT} {HOST}:{petrel.port}"
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    env["TERM"] = "xterm"
    r = subprocess.run([script, "-qec", cmd, "/dev/null"], capture_output=True, timeout=60, env=env)
    assert b"\x1b[" in r.stdout
    env["NO_COLOR"] = "1"
    r = subprocess.run([script, "-qec", cmd, "/dev/null"], capture_output=True, timeout=60, env=env)
    assert b"\x1b[" not in r.stdout


def test_petreld_starttls_certificate_verified_with_the_test_ca(secure, tls_files):
    status, doc = probe_json("--ca-file", tls_files.ca, f"{HOST}:{secure.port}")
    host = doc["hosts"][0]
    assert grade(doc, "starttls") == "pass"
    assert grade(doc, "certificate_chain") == "pass"
    assert grade(doc, "certificate_name") == "pass"    # the certificate names 127.0.0.1 too
    assert grade(doc, "certificate_expiry") == "pass"
    assert host["tls"]["version"] in ("TLSv1.2", "TLSv1.3")
    assert "mail.petrel.test" in host["tls"]["names"]
    # AUTH only after STARTTLS
    assert not any(e["keyword"] == "AUTH" for e in host["extensions"])
    assert any(e["keyword"] == "AUTH" for e in host["extensions_after_tls"])
    assert not findings(doc, "auth_cleartext")
    assert not_passed(doc) == LOOPBACK_PTR
    assert status == 1


def test_unknown_ca_is_a_chain_warning(secure):
    status, doc = probe_json(f"{HOST}:{secure.port}")
    assert grade(doc, "certificate_chain") == "warn"
    assert not_passed(doc) == sorted(LOOPBACK_PTR + ["certificate_chain"])
    assert status == 1


def test_implicit_tls_on_the_smtps_port(secure, tls_files):
    status, doc = probe_json("--tls", "--ca-file", tls_files.ca, f"{HOST}:{secure.ports['smtps']}")
    host = doc["hosts"][0]
    assert host["implicit_tls"] and host["tls"]["chain_verified"]
    assert grade(doc, "starttls") == "pass"
    assert "Implicit TLS" in findings(doc, "starttls")[0]["title"]
    assert not_passed(doc) == LOOPBACK_PTR
    assert status == 1


# --------------------------------------------------------------------------
# Postfix's smtp-sink: an open relay by design

def smtp_sink_binary():
    for path in ("/usr/sbin/smtp-sink", "/usr/lib/postfix/sbin/smtp-sink"):
        if os.access(path, os.X_OK):
            return path
    return shutil.which("smtp-sink")


def test_smtp_sink_is_an_open_relay():
    sink = smtp_sink_binary()
    if not sink:
        pytest.skip("Postfix's smtp-sink is not installed")
    port = free_port()
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    p = subprocess.Popen([sink, *user, f"{HOST}:{port}", "10"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from harness import wait_until

        def listening():
            try:
                socket.create_connection((HOST, port), timeout=0.5).close()
                return True
            except OSError:
                return False
        assert wait_until(listening, 5)
        status, doc = probe_json(f"{HOST}:{port}")
        assert grade(doc, "open_relay") == "fail"
        assert grade(doc, "auth_cleartext") == "warn"     # AUTH PLAIN LOGIN without TLS
        assert status == 2
    finally:
        p.terminate()
        p.wait(timeout=5)


# --------------------------------------------------------------------------
# servers that misbehave on purpose

def test_no_ehlo_falls_back_to_helo():
    with MisbehavingSmtp(ehlo=False) as server:
        status, doc = probe_json(f"{HOST}:{server.port}")
    assert grade(doc, "ehlo") == "warn"
    assert doc["hosts"][0]["helo"]["code"] == 250
    assert status == 1


def test_slow_greeting_is_waited_for_and_timed():
    with MisbehavingSmtp(greeting_delay=0.5, pipelining=True, size=1000) as server:
        status, doc = probe_json(f"{HOST}:{server.port}")
    assert grade(doc, "greeting") == "pass"
    assert doc["hosts"][0]["greeting"]["ms"] > 0
    unknown = [e for e in doc["hosts"][0]["extensions"] if e["keyword"] == "X-MADE-UP-EXTENSION"]
    assert unknown and unknown[0]["explanation"] is None and unknown[0]["line"] == "X-MADE-UP-EXTENSION 42"


def test_421_at_greeting_is_a_refusal_of_this_client():
    with MisbehavingSmtp(greeting="421 4.7.0 {name} too busy, go away") as server:
        status, out, _ = probe(f"{HOST}:{server.port}")
    assert "refuses this client" in out
    assert status == 2


def test_554_at_greeting_is_a_refusal_of_this_client():
    with MisbehavingSmtp(greeting="554 5.7.1 no SMTP service for you") as server:
        status, doc = probe_json(f"{HOST}:{server.port}")
    assert grade(doc, "greeting") == "fail"
    assert status == 2


def test_open_relay_is_a_failure():
    with MisbehavingSmtp(open_relay=True) as server:
        status, doc = probe_json(f"{HOST}:{server.port}")
        assert not any(c.upper().startswith("DATA") for c in server.commands)
    assert grade(doc, "open_relay") == "fail"
    assert status == 2


def test_vrfy_that_differs_is_user_enumeration():
    with MisbehavingSmtp(vrfy_users={"postmaster"}) as server:
        status, doc = probe_json(f"{HOST}:{server.port}")
    assert grade(doc, "vrfy_enumeration") == "warn"
    assert grade(doc, "expn_enumeration") == "warn"
    assert status == 1


def test_turn_accepted_in_the_clear_is_a_failure():
    with MisbehavingSmtp(accept_turn=True) as server:
        status, doc = probe_json(f"{HOST}:{server.port}")
    assert grade(doc, "turn") == "fail"
    assert status == 2


def test_size_not_enforced_is_a_failure():
    with MisbehavingSmtp(size=1000, enforce_size=False) as server:
        status, doc = probe_json(f"{HOST}:{server.port}")
    assert doc["hosts"][0]["checks"]["size_tried"] == 1001
    assert grade(doc, "size") == "fail"


def test_pipelining_that_loses_replies_is_a_failure():
    with MisbehavingSmtp(pipelining=True, drop_pipelined=True) as server:
        status, doc = probe_json(f"{HOST}:{server.port}")
    assert grade(doc, "pipelining") == "fail"


def test_starttls_offered_but_refused_is_a_failure():
    with MisbehavingSmtp(starttls=True) as server:
        status, doc = probe_json(f"{HOST}:{server.port}")
    assert grade(doc, "starttls") == "fail"
    assert doc["hosts"][0]["checks"]["starttls"]["code"] == 454


# --------------------------------------------------------------------------
# nothing there, or silence

def test_nothing_listening_is_refused_and_exit_3():
    port = free_port()
    status, doc = probe_json(f"{HOST}:{port}")
    assert doc["hosts"][0]["connect"]["error"] == "refused"
    assert "Nothing listens" in findings(doc, "connect")[0]["detail"]
    assert status == 3


def test_a_listener_that_never_speaks_is_a_tarpit():
    with silent_listener() as s:
        status, out, _ = probe(f"{HOST}:{s.getsockname()[1]}")
    assert "never sent its greeting" in out
    assert status == 3


def test_a_reset_at_accept_is_reported_as_reset_and_exit_3():
    # SO_LINGER {on, 0} then close: the kernel answers with a RST, not a FIN.
    with MisbehavingSmtp(reset_at_accept=True) as server:
        status, doc = probe_json(f"{HOST}:{server.port}")
        _, text, _ = probe(f"{HOST}:{server.port}")
    host = doc["hosts"][0]
    # The kernel completes the handshake; on a loaded machine the RST can
    # reach the probe before its connect() has returned, which then reports
    # the reset itself. Either way it is a reset, and status 3.
    assert host["connect"]["error"] in ("none", "reset")
    if host["connect"]["error"] == "none":
        assert host["greeting"]["error"] == "reset"
        assert grade(doc, "greeting") == "fail"
        assert "reset" in findings(doc, "greeting")[0]["title"]
    assert "reset" in text
    assert status == 3


def test_a_reset_in_answer_to_ehlo_is_reported_as_reset():
    with MisbehavingSmtp(reset_on="EHLO") as server:
        status, doc = probe_json(f"{HOST}:{server.port}")
    host = doc["hosts"][0]
    assert host["greeting_reply"]["code"] == 220 and host["ehlo"] is None
    assert host["lost"].startswith("after EHLO: reset")
    assert grade(doc, "ehlo") == "fail"
    assert "reset" in findings(doc, "ehlo")[0]["title"]
    assert grade(doc, "connection_lost") == "warn"
    assert "reset" in findings(doc, "connection_lost")[0]["title"]
    assert status == 2                                 # it greeted: a failure, not "could not connect"


def assert_filtered(doc, status, port):
    host = doc["hosts"][0]
    assert host["connect"]["error"] == "timeout"
    assert not host["greeting"]["attempted"]
    found = findings(doc, "connect")[0]
    assert found["grade"] == "fail"
    assert "filtered" in found["detail"] and "another network" in found["detail"]
    if port != 587:
        assert "--port 587" in found["detail"]
    assert status == 3


def test_a_full_accept_queue_drops_syns_like_a_filter():
    # A listener nobody accepts on: once its queue is full the kernel drops
    # further SYNs, as a firewall would, and connect() times out.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((HOST, 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    held = []
    try:
        for _ in range(4):                             # fill the queue, whatever its real length
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.setblocking(False)
            c.connect_ex((HOST, port))
            held.append(c)
        status, doc = probe_json(f"{HOST}:{port}")
        assert_filtered(doc, status, port)
    finally:
        for c in held:
            c.close()
        listener.close()


FILTERED_ADDRESS = "127.0.0.66"   # nothing else uses it, so the rule touches no other test
FILTERED_PORT = 25                 # where ISPs filter, and the advice names --port 587


def _firewall(*argv):
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=20)


def drop_syns_rule():
    """(add, remove) argv lists for a rule that drops SYNs to
    FILTERED_ADDRESS:FILTERED_PORT, or None when no firewall tool is here."""
    nft, iptables = shutil.which("nft"), shutil.which("iptables")
    if nft:
        table = ["inet", "petrel_probe_test"]
        return ([[nft, "add", "table", *table],
                 [nft, "add", "chain", *table, "out", "{ type filter hook output priority 0 ; }"],
                 [nft, "add", "rule", *table, "out", "ip", "daddr", FILTERED_ADDRESS, "tcp", "dport",
                  str(FILTERED_PORT), "tcp", "flags", "syn", "drop"]],
                [[nft, "delete", "table", *table]])
    if iptables:
        spec = ["OUTPUT", "-d", FILTERED_ADDRESS, "-p", "tcp", "--dport", str(FILTERED_PORT), "--syn", "-j", "DROP"]
        return [[iptables, "-w", "-I", *spec]], [[iptables, "-w", "-D", *spec]]
    return None


def test_a_firewall_that_drops_syns_is_filtered_and_exit_3():
    if os.geteuid() != 0:
        pytest.skip("adding a firewall rule needs root")
    rule = drop_syns_rule()
    if rule is None:
        pytest.skip("neither nft nor iptables is installed (apt: nftables or iptables)")
    add, remove = rule
    try:
        for argv in add:
            r = _firewall(*argv)
            if r.returncode != 0:
                pytest.skip(f"cannot add the rule ({' '.join(argv)}): {r.stderr.decode(errors='replace').strip()}")
        status, doc = probe_json(f"{FILTERED_ADDRESS}:{FILTERED_PORT}")
        assert_filtered(doc, status, FILTERED_PORT)
        assert "ISP" in findings(doc, "connect")[0]["detail"]
    finally:
        for argv in remove:
            _firewall(*argv)


def test_bad_target_is_a_usage_error():
    status, _, err = probe("host:notaport")
    assert status == 2 and "not a domain" in err


# --------------------------------------------------------------------------
# MX targets from dnsmasq

needs_dnsmasq = pytest.mark.skipif(not dnsmasq_binary(), reason="dnsmasq is not installed")


@needs_dnsmasq
def test_domain_first_mx_refused_then_the_next_mx_is_probed():
    port = free_port("127.0.0.3")
    zone = (DnsZone().mx("probe.test", "mx1.probe.test", 10).mx("probe.test", "mx2.probe.test", 20)
            .host("mx1.probe.test", "127.0.0.2").host("mx2.probe.test", "127.0.0.3")
            .ptr("127.0.0.3", "mx2.probe.test"))
    with zone, MisbehavingSmtp(host="127.0.0.3", port=port, name="mx2.probe.test") as server:
        status, doc = probe_json("--resolver", zone.upstream, "--port", str(port), "probe.test")
        _, text, _ = probe("-v", "--resolver", zone.upstream, "--port", str(port), "probe.test")
    assert doc["dns"]["by_mx"] and not doc["dns"]["implicit_mx"]
    first, second = doc["hosts"]
    assert (first["host"], first["preference"]) == ("mx1.probe.test", 10)
    assert first["connect"]["error"] == "refused"
    assert (second["host"], second["preference"]) == ("mx2.probe.test", 20)
    assert grade(doc, "connect") == "warn"            # one MX down, the next took over
    assert grade(doc, "reverse_dns") == "pass"         # PTR 127.0.0.3 = mx2.probe.test = greeting
    assert "trying the next MX host: mx2.probe.test" in text
    assert status == 1


@needs_dnsmasq
def test_greeting_name_unlike_the_ptr_is_a_warning():
    port = free_port("127.0.0.3")
    zone = DnsZone().mx("ptr.test", "mx.ptr.test", 10).host("mx.ptr.test", "127.0.0.3").ptr("127.0.0.3", "elsewhere.test")
    with zone, MisbehavingSmtp(host="127.0.0.3", port=port, name="mx.ptr.test"):
        status, doc = probe_json("--resolver", zone.upstream, "--port", str(port), "ptr.test")
    assert doc["hosts"][0]["ptr"] == ["elsewhere.test"]
    assert grade(doc, "reverse_dns") == "warn"


@needs_dnsmasq
def test_null_mx_and_implicit_mx_are_called_out():
    port = free_port("127.0.0.4")
    zone = DnsZone().mx("nullmx.test", ".", 0).host("implicit.test", "127.0.0.4")
    with zone, MisbehavingSmtp(host="127.0.0.4", port=port, name="implicit.test"):
        status, doc = probe_json("--resolver", zone.upstream, "nullmx.test")
        assert doc["dns"]["null_mx"] and doc["hosts"] == [] and status == 3
        status, doc = probe_json("--resolver", zone.upstream, "--port", str(port), "implicit.test")
        assert doc["dns"]["implicit_mx"]
        assert grade(doc, "dns") == "warn"
        assert doc["hosts"][0]["address"] == "127.0.0.4"


@needs_dnsmasq
def test_all_mx_probes_every_host():
    port = free_port("127.0.0.3")
    zone = (DnsZone().mx("all.test", "a.all.test", 10).mx("all.test", "b.all.test", 20)
            .host("a.all.test", "127.0.0.3").host("b.all.test", "127.0.0.5"))
    with zone, MisbehavingSmtp(host="127.0.0.3", port=port), MisbehavingSmtp(host="127.0.0.5", port=port):
        _, doc = probe_json("--resolver", zone.upstream, "--port", str(port), "all.test")
        assert len(doc["hosts"]) == 1
        _, doc = probe_json("--all-mx", "--resolver", zone.upstream, "--port", str(port), "all.test")
        assert [h["host"] for h in doc["hosts"]] == ["a.all.test", "b.all.test"]


@needs_dnsmasq
def test_a_clean_server_found_by_mx_passes_everything_and_exits_0(servers, tls_files):
    server = servers("mx", "--tls-cert", tls_files.cert, "--tls-key", tls_files.key, host="127.0.0.3")
    # The certificate's name as the MX host; the PTR as the greeting's name.
    zone = (DnsZone().mx("clean.test", "mail.petrel.test", 10).host("mail.petrel.test", "127.0.0.3")
            .ptr("127.0.0.3", "petrel.test"))
    with zone:
        status, doc = probe_json("--ca-file", tls_files.ca, "--resolver", zone.upstream,
                                 "--port", str(server.port), "clean.test")
    assert not_passed(doc) == [], doc["findings"]
    assert grade(doc, "certificate_name") == "pass" and grade(doc, "reverse_dns") == "pass"
    assert status == 0
