#!/usr/bin/env bash
# Petrel vs Postfix vs smtp-sink on loopback.  See docs/performance.md.
#
#   bench/run.sh                       # all servers, all scenarios (~5-10 min)
#   bench/run.sh --quick               # N/10: a smoke test
#   bench/run.sh --only petrel,sink --scenarios A-p20-4k
#   bench/run.sh --scenarios T1-tls-handshake,T2-tls-p20-4k   # STARTTLS: Petrel vs Postfix
#   bench/run.sh --scenarios R1-relay-p20-4k,R2-relay-p20-4k-r5,R3-relay-drain-4k   # relaying to an smtp-sink
#   bench/run.sh --only petrel,postfix --scenarios B1-backlog --backlog 100000   # memory with a standing backlog
#
# The run happens in a private network namespace that has only a loopback
# interface (unshare -n), so no packet and no DNS query leaves the machine.
# Where no namespace can be made it runs in the host namespace, still on
# 127.0.0.1 only.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PY="${BENCH_PYTHON:-/usr/bin/python3}"

if [ "${BENCH_NETNS:-}" != 1 ] && unshare -n true 2>/dev/null; then
  exec unshare -n -- env BENCH_NETNS=1 "$0" "$@"
fi
if [ "${BENCH_NETNS:-}" = 1 ]; then
  ip link set lo up
fi
exec "$PY" "$HERE/bench.py" "$@"
