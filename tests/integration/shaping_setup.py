"""The world of the traffic-shaping tests: a DNS zone of 23 domains that
make up 14 sites (a site is the set of MX hosts a domain resolves to), the
recording receivers that stand in for those MX hosts on 127.0.0.4x:25, a
petreld configuration written from Python data, and `petrel queue`.

    zone = shaping_zone().start()
    SHARED.address          # "127.0.0.40": the MX host of s1.test ... s8.test
    config = write_config(path, zone, {"shaping.domain.\"slow.test\"": {"connection_limit": 2}})

Sites (every MX host listens, when a test starts a Recorder there, on port 25):

    shared    s1.test ... s8.test      MX mx.shared.test                      127.0.0.40
    slow      slow.test, slow-alias.test  MX mx.slow.test                     127.0.0.41
    fast      fast.test                MX mx.fast.test                        127.0.0.42
    yahoo     yahoo.test, ymail.test   MX mta5.am0.yahoo.test, mta6.am0.yahoo.test  127.0.0.43
                                       (the provider "yahoo": mx_suffix ".yahoo.test")
    tarpit    tarpit.test              MX mx.tarpit.test                      127.0.0.44
    refused   refused.test             MX mx.refused.test                     127.0.0.45
    o1 ... o8 o1.test ... o8.test      MX mx.oN.test, one site each           127.0.0.51 ... 127.0.0.58
"""
import json
import os
import smtplib
import subprocess
from dataclasses import dataclass

import pytest

from dns_zone import DnsZone, dnsmasq_binary
from harness import LOCAL_DOMAIN, PETRELD, message

PETREL = os.path.join(os.path.dirname(PETRELD), "petrel")


@dataclass(frozen=True)
class Site:
    name: str                # the tests' name for it (petreld names sites its own way)
    address: str             # where its MX hosts point
    mx_hosts: tuple
    domains: tuple


SHARED = Site("shared", "127.0.0.40", ("mx.shared.test",), tuple(f"s{i}.test" for i in range(1, 9)))
SLOW = Site("slow", "127.0.0.41", ("mx.slow.test",), ("slow.test", "slow-alias.test"))
FAST = Site("fast", "127.0.0.42", ("mx.fast.test",), ("fast.test",))
YAHOO = Site("yahoo", "127.0.0.43", ("mta5.am0.yahoo.test", "mta6.am0.yahoo.test"), ("yahoo.test", "ymail.test"))
TARPIT = Site("tarpit", "127.0.0.44", ("mx.tarpit.test",), ("tarpit.test",))
REFUSED = Site("refused", "127.0.0.45", ("mx.refused.test",), ("refused.test",))
OTHERS = tuple(Site(f"o{i}", f"127.0.0.{50 + i}", (f"mx.o{i}.test",), (f"o{i}.test",)) for i in range(1, 9))
SITES = (SHARED, SLOW, FAST, YAHOO, TARPIT, REFUSED) + OTHERS
DOMAINS = tuple(d for s in SITES for d in s.domains)


def shaping_zone():
    """The DnsZone of SITES (not started); skips the test without dnsmasq."""
    if dnsmasq_binary() is None:
        pytest.skip("dnsmasq is not installed (apt-get install dnsmasq-base)")
    zone = DnsZone()
    for site in SITES:
        for domain in site.domains:
            for host in site.mx_hosts:
                zone.mx(domain, host, 10)
        for host in site.mx_hosts:
            zone.host(host, site.address)
    return zone


# --------------------------------------------------------------------------
# the configuration

def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, str):
        if "\\" in v and "'" not in v and "\n" not in v:
            return f"'{v}'"             # a literal string: regexes as written
        return json.dumps(v)
    raise TypeError(f"no TOML for {v!r}")


def toml(sections):
    """sections: {header: {key: value}} in order; a list of dicts as the
    value is an array of tables ([[header]])."""
    out = []
    for header, body in sections.items():
        tables = body if isinstance(body, list) else [body]
        brackets = ("[[", "]]") if isinstance(body, list) else ("[", "]")
        for table in tables:
            out.append(f"{brackets[0]}{header}{brackets[1]}")
            out.extend(f"{k} = {toml_value(v)}" for k, v in table.items())
            out.append("")
    return "\n".join(out)


def write_config(path, zone, sections=None, delivery=None):
    """A petreld configuration: the zone as resolver, the loopback may relay,
    retries after 1 s, no MTA-STS lookups, plus `sections` (shaping and
    queue) and more [delivery] keys. Returns the path as a string."""
    base = {
        "dns": {"resolver": zone.upstream},
        "relay": {"trusted_networks": ["127.0.0.0/8"]},
        "delivery": {"retry_intervals": ["1s"], "mta_sts": False, **(delivery or {})},
    }
    text = toml({**base, **(sections or {})})
    with open(path, "w") as f:
        f.write(text)
    return str(path)


def domain_block(domain):
    """The section name of a domain's limits: shaping.domain."slow.test"."""
    return f'shaping.domain."{domain}"'


# --------------------------------------------------------------------------
# mail in

def inject(relay, recipients, sender=f"sender@{LOCAL_DOMAIN}"):
    """One message per recipient, all in one SMTP session to the relay."""
    with smtplib.SMTP(relay.host, relay.port, local_hostname="client.test", timeout=30) as c:
        for i, rcpt in enumerate(recipients):
            c.sendmail(sender, [rcpt], message(subject=f"shaping {i} to {rcpt}"))


# --------------------------------------------------------------------------
# petrel queue

def petrel_queue(relay, *args, timeout=15):
    if not os.access(PETREL, os.X_OK):
        pytest.fail(f"no petrel CLI at {PETREL} (build the target petrel)")
    r = subprocess.run([PETREL, "queue", "--spool", relay.spool, *args], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=timeout)
    r.out, r.err = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    return r


def queue_json(relay, *args):
    """`petrel queue --spool S --json ARGS...`, parsed; fails the test on an error."""
    r = petrel_queue(relay, "--json", *args)
    assert r.returncode == 0, f"petrel queue --json {' '.join(args)}: status {r.returncode}\n{r.err}{r.out}"
    try:
        return json.loads(r.out)
    except json.JSONDecodeError as e:
        raise AssertionError(f"petrel queue --json {' '.join(args)} printed no JSON ({e}):\n{r.out}")


def sites(relay):
    """The site objects of `petrel queue --json sites`."""
    listing = queue_json(relay, "sites")
    assert isinstance(listing, list), listing
    return listing


def site_of(listing, domain):
    """The site whose `domains` include domain, or None; fails when two do."""
    found = [s for s in listing if domain in s.get("domains", [])]
    assert len(found) <= 1, f"{domain} is in {len(found)} sites: {found}"
    return found[0] if found else None
