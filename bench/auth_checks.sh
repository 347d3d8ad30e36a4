#!/usr/bin/env bash
# What the inbound checks cost (issue 14: SPF, DKIM and DMARC on may make
# the durable accept rate, A, at most 25 % slower, and it must stay at
# least 3x Postfix's without any milter). Every message is the same
# DKIM-signed file (python3-dkim, RSA 2048) from news@bench.test, whose SPF,
# DKIM key and DMARC p=reject records dnsmasq serves on loopback; after the
# warm-up, libunbound answers them from its cache. Rounds of "off" then
# "on" so both see the same machine; Postfix gets the same file, once.
#
#   bench/auth_checks.sh [ROUNDS]     # default 3; prints the medians and the ratios
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PY="${BENCH_PYTHON:-/usr/bin/python3}"
ROUNDS="${1:-3}"
SCENARIO="${SCENARIO:-A-p20-4k}"

if [ "${BENCH_NETNS:-}" != 1 ] && unshare -n true 2>/dev/null; then
  exec unshare -n -- env BENCH_NETNS=1 "$0" "$@"
fi
if [ "${BENCH_NETNS:-}" = 1 ]; then
  ip link set lo up
fi

WORK="$(mktemp -d /tmp/petrel-auth-bench.XXXXXX)"
trap 'kill $DNS 2>/dev/null || true; rm -rf "$WORK"' EXIT
openssl genrsa -traditional -out "$WORK/key.pem" 2048 2>/dev/null
RECORD="v=DKIM1; k=rsa; p=$(openssl rsa -in "$WORK/key.pem" -pubout -outform DER 2>/dev/null | base64 -w0)"
"$PY" - "$WORK/key.pem" "$WORK/message.txt" <<'PYEOF'
import sys
import dkim
key = open(sys.argv[1], "rb").read()
body = "".join(f"Line {i} of a bench message, long enough to look like mail.\r\n" for i in range(40))
msg = ("From: Bench News <news@bench.test>\r\nTo: user@bench.local\r\nSubject: DKIM-signed bench message\r\n"
       "Message-ID: <bench@bench.test>\r\nDate: Mon, 07 Dec 2026 06:00:00 +0000\r\n\r\n" + body).encode()
signed = dkim.sign(msg, b"bench", b"bench.test", key, include_headers=[b"from", b"to", b"subject", b"message-id"]) + msg
# smtp-source -F ends each line with CRLF itself.
open(sys.argv[2], "wb").write(signed.replace(b"\r\n", b"\n"))
PYEOF
DNSPORT=18053
TXT=()
for ((i = 0; i < ${#RECORD}; i += 200)); do TXT+=("${RECORD:i:200}"); done
KEYREC=$(IFS=,; echo "${TXT[*]}")
dnsmasq --keep-in-foreground --port="$DNSPORT" --listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts \
  --local=/test/ --txt-record="bench.test,v=spf1 ip4:127.0.0.0/8 -all" \
  --txt-record="_dmarc.bench.test,v=DMARC1; p=reject" --txt-record="bench._domainkey.bench.test,$KEYREC" \
  --local-ttl=300 --log-queries --log-facility="$WORK/dns.log" &
DNS=$!
sleep 0.3
export BENCH_MESSAGE_FILE="$WORK/message.txt" BENCH_SENDER="news@bench.test"

run() {  # variant servers petreld-args
  "$PY" "$HERE/bench.py" --only "$2" --scenarios "$SCENARIO" --repeat 1 --petreld-args "$3" \
    --out "$WORK/$1.md" 2>&1 | grep -E "^\[(petrel|postfix)\].*:" >&2 || true
  grep -E "^\| $SCENARIO \| (petrel|postfix)" "$WORK/$1.md" \
    | awk -F'|' -v v="$1" '{gsub(/[ ,]/, "", $5); print v, $3, $5}' >> "$WORK/rates"
}
for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round: checks off" >&2
  run "off-$round" petrel ""
  echo "== round $round: checks on" >&2
  run "on-$round" petrel "--auth-checks --resolver 127.0.0.1:$DNSPORT"
done
echo "== postfix, no milter" >&2
run "postfix-1" postfix ""
grep -c "query\[TXT\]" "$WORK/dns.log" | sed 's/^/DNS queries that reached dnsmasq: /' >&2 || true
"$PY" - "$WORK/rates" "$SCENARIO" <<'PYEOF'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
def median(prefix):
    v = [float(r[2]) for r in rows if r[0].startswith(prefix) and r[2] not in ("-", "")]
    return statistics.median(v) if v else None
off, on, postfix = median("off"), median("on"), median("postfix")
print(f"| {sys.argv[2]} accept/s | checks off | checks on | on/off | Postfix (no milter) | on/Postfix |")
print("|---|---|---|---|---|---|")
fmt = lambda x: f"{x:,.0f}" if x else "-"
ratio = lambda a, b: f"{a / b:.2f}" if a and b else "-"
print(f"| petrel | {fmt(off)} | {fmt(on)} | {ratio(on, off)} | {fmt(postfix)} | {ratio(on, postfix)} |")
PYEOF
