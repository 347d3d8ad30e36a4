#!/usr/bin/env bash
# What the event log and one webhook cost (issue 13: at most 10 % of the
# durable accept rate, A, and of the relay rate, R1). Petrel alone, in
# rounds of "off" then "on" so both see the same machine; each variant gets
# a --config file, the "on" one with [events] file and one
# [[events.webhook]] to bench/webhook_sink.py on loopback (200 to all).
#
#   bench/events_overhead.sh [ROUNDS]      # default 3; prints the medians and the ratio
#   VARIANTS="off log hook on" bench/events_overhead.sh 1   # the log alone, the webhook alone
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PY="${BENCH_PYTHON:-/usr/bin/python3}"
ROUNDS="${1:-3}"

if [ "${BENCH_NETNS:-}" != 1 ] && unshare -n true 2>/dev/null; then
  exec unshare -n -- env BENCH_NETNS=1 "$0" "$@"
fi
if [ "${BENCH_NETNS:-}" = 1 ]; then
  ip link set lo up
fi

WORK="$(mktemp -d /tmp/petrel-events-bench.XXXXXX)"
trap 'kill $SINK 2>/dev/null || true; rm -rf "$WORK"' EXIT
PORT=18088
"$PY" "$HERE/webhook_sink.py" "$PORT" > "$WORK/sink.out" 2>&1 &
SINK=$!
printf 'bench-secret\n' > "$WORK/secret"
printf '[events]\nkeep = 10\n' > "$WORK/off.toml"
printf '[events]\nfile = "%s/events.jsonl"\n' "$WORK" > "$WORK/log.toml"
cat > "$WORK/hook.toml" <<CONF
[[events.webhook]]
name = "bench"
url = "http://127.0.0.1:$PORT/hook"
secret_file = "$WORK/secret"
CONF
cat > "$WORK/on.toml" <<CONF
[events]
file = "$WORK/events.jsonl"

[[events.webhook]]
name = "bench"
url = "http://127.0.0.1:$PORT/hook"
secret_file = "$WORK/secret"
CONF

for round in $(seq 1 "$ROUNDS"); do
  for variant in ${VARIANTS:-off on}; do
    echo "== round $round: events $variant" >&2
    "$PY" "$HERE/bench.py" --only petrel --scenarios A-p20-4k,R1-relay-p20-4k --repeat 1 \
      --petreld-args "--config $WORK/$variant.toml" --out "$WORK/$variant-$round.md" 2>&1 | grep -E "^\[petrel\].*:" >&2 || true
    grep -E "^\| (A-p20-4k|R1-relay-p20-4k) \| petrel" "$WORK/$variant-$round.md" \
      | awk -F'|' -v v="$variant" '{gsub(/[ ,]/, "", $5); gsub(/[ ,]/, "", $6); print v, $2, $5, $6}' >> "$WORK/rates"
  done
done
kill "$SINK"; wait "$SINK" 2>/dev/null || true
cat "$WORK/sink.out"
"$PY" - "$WORK/rates" <<'PYEOF'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
print("| scenario | figure | events off | with events | ratio |")
print("|---|---|---|---|---|")
for scenario in ("A-p20-4k", "R1-relay-p20-4k"):
    for column, name in ((2, "accept/s"), (3, "e2e/s")):
        def median(variant):
            v = [float(r[column]) for r in rows if r[0] == variant and r[1] == scenario and r[column] not in ("-", "")]
            return statistics.median(v) if v else None
        off = median("off")
        for variant in ("log", "hook", "on"):
            b = median(variant)
            if off and b:
                print(f"| {scenario} | {name} | {off:,.0f} | {variant}: {b:,.0f} | {b / off:.2f} |")
PYEOF
