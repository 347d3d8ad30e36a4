"""The parts of a private Postfix instance that the test peer
(postfix_peer.py) and the benchmark (bench/bench.py) share: main.cf's
settings for an instance with its own directories, and Debian's master.cf
with smtpd moved to our address and no chroot. No pytest here: the
benchmark imports it too."""
import re


def instance_main_cf(queue, data, hostname, domain, interfaces, maillog, log_prefix):
    """main.cf lines for an instance of its own: its queue and data
    directories, Debian's programs, no local delivery and no aliases, the
    log in a file of its own. Callers append their routing and policy."""
    return f"""\
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = {hostname}
mydomain = {domain}
myorigin = $myhostname
mydestination =
inet_interfaces = {interfaces}
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
alias_maps =
alias_database =
local_recipient_maps =
biff = no
maillog_file = {maillog}
maillog_file_prefixes = {log_prefix}
"""


def instance_master_cf(listen):
    """Debian's master.cf with the smtp service on `listen` ("PORT" or
    "HOST:PORT") and no service chrooted (the jail would need /etc files
    copied into the scratch queue)."""
    out = []
    with open("/etc/postfix/master.cf") as f:
        for ln in f.read().splitlines():
            if re.match(r"^smtp\s+inet\s", ln):
                ln = re.sub(r"^smtp(\s+)inet", f"{listen}\\1inet", ln)
            fields = ln.split()
            if re.match(r"^[a-z0-9]", ln) and len(fields) >= 8 and fields[4] == "y":
                fields[4] = "n"
                ln = "  ".join(fields)
            out.append(ln)
    return "\n".join(out) + "\n"
