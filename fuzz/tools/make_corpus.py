#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<target>/ (docs/security.md).

Run from anywhere: python3 fuzz/tools/make_corpus.py. Each seed is a small,
real piece of SMTP (or TOML, or a spool record) with the settings octets
its target reads first. Files named regress-* are crash reproducers kept by
hand and are never written here.
"""
import pathlib
import struct

ROOT = pathlib.Path(__file__).resolve().parent.parent / "corpus"


def write(target, name, data):
    d = ROOT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


# ---- fuzz_server_session: 4 settings octets, then the client's bytes ----
# s0: bits 0-1 size (3 = 50 MiB), bit 2 normalize, bit 3 EXPN 252
# s1: bits 0-2 max recipients - 1, bits 3-7 max errors - 2
# s2: bits 0-2 command line (5 = 512), bits 6-7 text line (3 = 1000)
# s3: split seed
def session(name, text, s0=3, s1=7 | (18 << 3), s2=5 | (3 << 6), s3=0x05):
    write("fuzz_server_session", name, bytes([s0, s1, s2, s3]) + text.encode("latin-1"))


EHLO = "EHLO client.example.com\r\n"
ENV = "MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\n"
BODY = "From: alice@example.com\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\nHello Bob.\r\n"

session("simple-data", EHLO + ENV + "DATA\r\n" + BODY + ".\r\nQUIT\r\n")
session("helo-plain", "HELO client\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n")
session("pipelining", EHLO + ENV + "RCPT TO:<carol@example.org>\r\nRCPT TO:<dave@example.net>\r\nDATA\r\n"
        + BODY + ".\r\nMAIL FROM:<>\r\nRCPT TO:<postmaster@example.org>\r\nDATA\r\nbounce\r\n.\r\nQUIT\r\n", s3=0x83)
session("dot-stuffing", EHLO + ENV + "DATA\r\n..\r\n..leading dot\r\n.\r\n.x\r\nend\r\n.\r\nQUIT\r\n")
session("empty-message", EHLO + ENV + "DATA\r\n.\r\nQUIT\r\n")
session("bdat", EHLO + ENV + "BDAT 12\r\nHello world\nBDAT 7 LAST\r\n\r\nBye\r\nQUIT\r\n")
session("bdat-crlf", EHLO + ENV + "BDAT 16\r\nSubject: x\r\n\r\nhi" + "BDAT 2 LAST\r\n\r\nQUIT\r\n")
session("bdat-binarymime", EHLO + "MAIL FROM:<a@example.com> BODY=BINARYMIME\r\nRCPT TO:<b@example.org>\r\n"
        "BDAT 6 LAST\r\n\x00\x01\r\x02\n\xffQUIT\r\n")
session("bdat-zero-last", EHLO + ENV + "BDAT 5\r\nabc\r\nBDAT 0 LAST\r\nQUIT\r\n")
session("bdat-out-of-sequence", EHLO + "BDAT 4\r\nRSETBDAT 3 LAST\r\nabcDATA\r\nQUIT\r\n")
session("bdat-then-data", EHLO + ENV + "BDAT 3\r\nabcDATA\r\nRCPT TO:<c@example.org>\r\nBDAT 0 LAST\r\nQUIT\r\n")
session("bdat-too-big", EHLO + ENV + "BDAT 100 LAST\r\n" + "x" * 100 + "QUIT\r\n", s0=0)
session("smuggling-lf-dot-lf", EHLO + ENV + "DATA\r\nhello\n.\nMAIL FROM:<evil@example.com>\r\n"
        "RCPT TO:<victim@example.org>\r\nDATA\r\nsmuggled\r\n.\r\n.\r\nQUIT\r\n")
session("smuggling-lf-dot-crlf", EHLO + ENV + "DATA\r\nhello\n.\r\nMAIL FROM:<evil@example.com>\r\n.\r\nQUIT\r\n")
session("smuggling-crlf-dot-lf", EHLO + ENV + "DATA\r\nhello\r\n.\nMAIL FROM:<evil@example.com>\r\n.\r\nQUIT\r\n")
session("smuggling-cr-dot-cr", EHLO + ENV + "DATA\r\nhello\r.\rMAIL FROM:<evil@example.com>\r\n.\r\nQUIT\r\n")
session("smuggling-normalize", EHLO + ENV + "DATA\r\nhello\n.\nMAIL FROM:<evil@example.com>\r\n\r.\r\n.\r\nQUIT\r\n",
        s0=3 | 4)
session("smuggling-bdat-lf", EHLO + ENV + "BDAT 40 LAST\r\nhello\n.\nMAIL FROM:<evil@example.com>\n\nQUIT\r\n")
session("bad-addresses", EHLO + "MAIL FROM:alice@example.com\r\nRSET\r\nMAIL FROM:<alice@example.com\r\n"
        "MAIL FROM:<@a.example,@b.example:alice@example.com>\r\nRCPT TO:<>\r\nRCPT TO:<a b@example.org>\r\n"
        "RCPT TO:<\"a b\"@example.org>\r\nRCPT TO:<x@[192.0.2.1]>\r\nRCPT TO:<x@-bad.example>\r\n"
        "RCPT TO:<Postmaster>\r\nRCPT TO:<" + "l" * 70 + "@example.org>\r\nRCPT TO:<x@example.org> junk\r\n"
        "RCPT TO:<reject@example.org>\r\nRCPT TO:<x@example.org>>\r\nQUIT\r\n")
session("too-many-recipients", EHLO + "MAIL FROM:<a@example.com>\r\n" +
        "".join(f"RCPT TO:<u{i}@example.org>\r\n" for i in range(5)) + "DATA\r\nx\r\n.\r\nQUIT\r\n", s1=1 | (18 << 3))
session("line-too-long", EHLO + "NOOP " + "x" * 600 + "\r\nMAIL FROM:<a@example.com> " + "y" * 2000 + "\r\nQUIT\r\n")
session("endless-line", EHLO + "z" * 5000, s1=7 | (1 << 3), s2=0)
session("text-line-too-long", EHLO + ENV + "DATA\r\n" + "t" * 1200 + "\r\n.\r\nQUIT\r\n")
session("message-too-big", EHLO + "MAIL FROM:<a@example.com> SIZE=100\r\nRCPT TO:<b@example.org>\r\nDATA\r\n"
        + "line of text\r\n" * 30 + ".\r\nMAIL FROM:<a@example.com> SIZE=99999999999999999999999\r\nQUIT\r\n", s0=1)
session("dsn-params", EHLO + "MAIL FROM:<a@example.com> RET=HDRS ENVID=QQ+2B314\r\n"
        "RCPT TO:<b@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+40example.org\r\n"
        "RCPT TO:<c@example.org> NOTIFY=NEVER\r\nRCPT TO:<d@example.org> NOTIFY=NEVER,DELAY\r\nDATA\r\nx\r\n.\r\nQUIT\r\n")
session("smtputf8", EHLO + "MAIL FROM:<jos\u00e9@example.com> SMTPUTF8 BODY=8BITMIME\r\n"
        "RCPT TO:<\u00fcser@example.org>\r\nDATA\r\nSubject: caf\u00e9\r\n\r\n\u00e9\r\n.\r\nQUIT\r\n".encode("utf-8").decode("latin-1"))
session("non-ascii-without-smtputf8", EHLO + "MAIL FROM:<a@example.com>\r\nRCPT TO:<\u00fc@example.org>\r\nQUIT\r\n"
        .encode("utf-8").decode("latin-1"))
session("other-verbs", "NOOP\r\nMAIL FROM:<a@example.com>\r\nHELO\r\nEHLO\r\nEHLO x\r\nVRFY bob\r\nEXPN list\r\n"
        "HELP\r\nHELP MAIL\r\nHELP XYZ\r\nTURN\r\nETRN x\r\nATRN\r\nSTARTTLS\r\nAUTH PLAIN\r\nXFOO\r\n\r\n"
        "RSET x\r\nDATA\r\nRCPT TO:<b@example.org>\r\n  noop  \r\nquit\r\n", s0=3 | 8)
session("two-messages", EHLO + ENV + "DATA\r\none\r\n.\r\n" + ENV + "DATA\r\ntwo\r\n.\r\n" + ENV
        + "BDAT 5 LAST\r\nthreeQUIT\r\n", s3=0x11)
session("too-many-errors", "".join("XXXX\r\n" for _ in range(6)) + "NOOP\r\n", s1=7 | (2 << 3))
session("bare-lf-commands", "EHLO a\nMAIL FROM:<a@example.com>\nRCPT TO:<b@example.org>\nDATA\nx\r\n.\r\nQUIT\n")
session("nested-mail", EHLO + ENV + "MAIL FROM:<c@example.com>\r\nDATA extra\r\nRSET\r\nDATA\r\nQUIT\r\n")
session("short-limits", EHLO + ENV + "DATA\r\n0123456789012345678901234567890\r\n.\r\nQUIT\r\n",
        s0=0, s1=0, s2=1 | (1 << 6))

# ---- fuzz_command_line: 1 settings octet, then a command line ----
# bit 0 allow <>, bit 1 SMTPUTF8, bit 2 EHLO, bits 3-4 SIZE limit
lines = [
    (5, "MAIL FROM:<alice@example.com>"),
    (5, "MAIL FROM:<>"),
    (5, "mail from: <alice@example.com> SIZE=1000 BODY=8BITMIME"),
    (7, "MAIL FROM:<jos\u00e9@example.com> SMTPUTF8"),
    (5, "MAIL FROM:<a@example.com> RET=FULL ENVID=abc+2Bdef"),
    (5, "MAIL FROM:<a@example.com> SIZE=99999999999999999999999"),
    (5 | 8, "MAIL FROM:<a@example.com> SIZE=1001"),
    (5, "MAIL FROM:<a@example.com> BODY=BINARYMIME BODY=7BIT"),
    (1, "MAIL FROM:<a@example.com> SIZE=10"),
    (5, "MAIL FROM:<@a.example,@b.example:alice@example.com>"),
    (5, "MAIL FROM:alice@example.com"),
    (4, "RCPT TO:<bob@example.org>"),
    (4, "RCPT TO:<Postmaster>"),
    (4, "RCPT TO:<postmaster@example.org> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;bob+40example.org"),
    (4, "RCPT TO:<bob@example.org> NOTIFY=NEVER"),
    (4, "RCPT TO:<\"john doe\"@example.org>"),
    (4, "RCPT TO:<\"a\\\"b\"@example.org>"),
    (4, "RCPT TO:<x@[192.0.2.1]>"),
    (4, "RCPT TO:<x@[IPv6:2001:db8::1]>"),
    (4, "RCPT TO:<x@example.org.>"),
    (4, "RCPT TO:<a..b@example.org>"),
    (4, "RCPT TO:<x@-bad.example>"),
    (4, "RCPT TO:<x@example.org"),
    (4, "RCPT TO:x@example.org>"),
    (4, "RCPT TO:<>"),
    (4, "RCPT TO:<" + "l" * 65 + "@example.org>"),
    (4, "RCPT TO:<x@" + "d" * 250 + ".org>"),
    (6, "RCPT TO:<\u00fcser@b\u00fccher.example>"),
    (4, "RCPT TO:<\u00fcser@example.org>"),
    (6, "RCPT TO:<\xc0\xaf@example.org>"),
    (4, "EHLO client.example.com"),
    (4, "  helo\tclient  "),
    (4, "BDAT 1000 LAST"),
    (4, "DATA"),
    (4, "VRFY postmaster"),
    (4, "XTEXT +41+42+4"),
]
for i, (flags, line) in enumerate(lines):
    write("fuzz_command_line", f"line-{i:02d}", bytes([flags]) + line.encode("utf-8") if not "\xc0" in line
          else bytes([flags]) + line.encode("latin-1"))

# ---- fuzz_dot_reader: 3 settings octets, then the bytes after 354 ----
# s0: bits 0-2 max size (5 = 1000, 0 = none), bit 3 normalize; s1: bits 0-2
# max line (5 = 1000, 4 = 80); s2: split seed
def dot(name, text, s0=0, s1=5, s2=7):
    write("fuzz_dot_reader", name, bytes([s0, s1, s2]) + text.encode("latin-1"))


dot("simple", BODY + ".\r\n")
dot("empty", ".\r\n")
dot("stuffed", "..\r\n...\r\n.x\r\n\r\n.\r\nafter")
dot("bare-lf-dot-lf", "a\n.\nMAIL FROM:<x@example.com>\r\n.\r\n")
dot("bare-lf-dot-crlf", "a\n.\r\nb\r\n.\r\n")
dot("crlf-dot-lf", "a\r\n.\nb\r\n.\r\n")
dot("cr-dot-cr", "a\r.\rb\r\n.\r\n")
dot("normalize-lf-dot", "a\n.\r\nb\r.\r\n\r\n.\r\n", s0=8)
dot("normalize-cr", "one\rtwo\nthree\r\n.\r\n", s0=8)
dot("too-big", "0123456789\r\n" * 5 + ".\r\n", s0=3)
dot("long-line", "x" * 100 + "\r\n.\r\n", s1=4)
dot("dot-cr-other", ".\rx\r\n.\r\n")
dot("unterminated", "no end\r\n.")

# ---- fuzz_envelope_codec: a spool record (format in envelope_codec.cpp) ----
def s(b):
    b = b.encode() if isinstance(b, str) else b
    return struct.pack("<I", len(b)) + b


def record(sender=("alice", "example.com"), size=None, body=0, utf8=0, ret=0, envid="",
           rcpts=(("bob", "example.org", 0, ""),), client="192.0.2.1", helo="client.example.com",
           proto="ESMTP", arrival=1700000000, attempts=0, version=1):
    out = bytes([version])
    if sender is None:
        out += b"\x00"
    else:
        out += b"\x01" + s(sender[0]) + s(sender[1])
    out += bytes([1 if size is not None else 0]) + struct.pack("<Q", size or 0)
    out += bytes([body, utf8, ret]) + s(envid)
    out += struct.pack("<I", len(rcpts))
    for local, domain, notify, orcpt in rcpts:
        out += s(local) + s(domain) + bytes([notify]) + s(orcpt)
    out += s(client) + s(helo) + s(proto) + struct.pack("<q", arrival) + struct.pack("<I", attempts)
    return out


write("fuzz_envelope_codec", "simple", record())
write("fuzz_envelope_codec", "null-sender", record(sender=None, proto="SMTP"))
write("fuzz_envelope_codec", "dsn", record(size=1234, body=2, ret=2, envid="QQ314",
                                           rcpts=(("bob", "example.org", 2 | 4, "rfc822;bob@example.org"),
                                                  ("Postmaster", "", 1, ""))))
write("fuzz_envelope_codec", "utf8", record(sender=("jos\u00e9".encode(), b"example.com"), utf8=1, body=3,
                                            proto="UTF8SMTP", attempts=3))
write("fuzz_envelope_codec", "many-recipients",
      record(rcpts=tuple((f"u{i}", "example.org", 0, "") for i in range(20))))
write("fuzz_envelope_codec", "binary-fields", record(sender=(b"\x00\r\n", b"\xff"), helo="\x00"))
write("fuzz_envelope_codec", "truncated", record()[:-3])
write("fuzz_envelope_codec", "bad-version", record(version=2))

# ---- fuzz_config: petreld.toml texts ----
FULL = """[server]
hostname = "mx.example.com"
listen = ["0.0.0.0:25", "[::]:25"]
max_sessions = 1000
max_sessions_per_ip = 50
threads = 0

[limits]
max_message_size = "50MiB"
max_recipients = 1000
max_command_line = 512
max_text_line = 1000
max_errors = 20

[timeouts]
command = "5m"
data = "3m"

[smtp]
bare_line_endings = "reject"
expn = "refuse"

[local]
domains = ["example.com", "example.org"]
maildir = "/var/mail/petrel"
users = ["alice", "bob", "postmaster"]
unknown_recipient = "reject"
recipient_delimiter = "+"

[spool]
dir = "/var/spool/petrel"

[delivery]
retry_intervals = ["30s", "5m", "10m", "20m", "40m", "1h"]

[log]
level = "info"
"""
write("fuzz_config", "full", FULL)
write("fuzz_config", "empty", "")
write("fuzz_config", "minimal", '[local]\ndomains = ["example.org"]\n')
write("fuzz_config", "sizes-durations", '[limits]\nmax_message_size = 1048576\nmax_text_line = 0\n'
      '[timeouts]\ncommand = "1500ms"\ndata = 180\n[smtp]\nbare_line_endings = "normalize"\nexpn = 252\n')
write("fuzz_config", "unknown-key", '[server]\nlisen = ["127.0.0.1:25"]\n')
write("fuzz_config", "bad-values", '[limits]\nmax_recipients = -1\nmax_message_size = "50XB"\n'
      '[delivery]\nretry_intervals = []\n')
write("fuzz_config", "wrong-types", '[server]\nlisten = "127.0.0.1:25"\nthreads = 1.5\nhostname = 7\n')
write("fuzz_config", "bad-toml", '[server\nhostname = "x\n')
write("fuzz_config", "dotted-inline", 'server.hostname = "a.example"\nlocal = { domains = ["b.example"] }\n')
write("fuzz_config", "ipv6-listen", '[server]\nlisten = ["[::1]:2525", "127.0.0.1:0"]\n[log]\nlevel = "trace"\n')
