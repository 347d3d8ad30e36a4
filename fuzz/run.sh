#!/usr/bin/env bash
# Builds and runs Petrel's libFuzzer targets (docs/security.md).
#
#   fuzz/run.sh build           configure and build build-fuzz/ (clang)
#   fuzz/run.sh fuzz [TARGET]   fuzz each target for FUZZ_SECONDS (300)
#   fuzz/run.sh regress         each target over its checked-in corpus, then
#                               FUZZ_SHORT (20) seconds each; fails on a crash
#   fuzz/run.sh merge [TARGET]  minimize the work corpus into fuzz/corpus/
#
# New inputs go to build-fuzz/corpus/<target>/ so the checked-in corpus
# (fuzz/corpus/<target>/) changes only through "merge". Crashes are saved
# as build-fuzz/artifacts/<target>/crash-*; see docs/security.md for what
# to do with one.
set -euo pipefail

cd "$(dirname "$0")/.."
FUZZ_DIR=${FUZZ_DIR:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-300}
FUZZ_SHORT=${FUZZ_SHORT:-20}
JOBS=${JOBS:-2}
TARGETS=(fuzz_command_line fuzz_server_session fuzz_dot_reader fuzz_envelope_codec fuzz_config fuzz_client_session
         fuzz_mta_sts fuzz_eight_bit_downgrade fuzz_bulk_headers fuzz_arf fuzz_dkim_canon fuzz_inject_request
         fuzz_campaign_csv fuzz_events fuzz_spf_record fuzz_dmarc_record fuzz_dkim_verify fuzz_maildrop fuzz_aliases
         fuzz_shell_reverse fuzz_catch_grader fuzz_redis_url)

# Per-target libFuzzer options: the longest useful input and a dictionary.
options() {
  case "$1" in
    fuzz_command_line)   echo "-max_len=1200 -dict=fuzz/smtp.dict" ;;
    fuzz_server_session) echo "-max_len=8192 -dict=fuzz/smtp.dict" ;;
    fuzz_dot_reader)     echo "-max_len=4096 -dict=fuzz/smtp.dict" ;;
    fuzz_shell_reverse)  echo "-max_len=4096 -dict=fuzz/smtp.dict" ;;
    fuzz_catch_grader)   echo "-max_len=8192 -dict=fuzz/smtp.dict" ;;
    fuzz_envelope_codec) echo "-max_len=2048" ;;
    fuzz_redis_url)      echo "-max_len=512" ;;
    fuzz_maildrop)       echo "-max_len=4096" ;;
    fuzz_aliases)        echo "-max_len=4096 -dict=fuzz/aliases.dict" ;;
    fuzz_client_session) echo "-max_len=4096 -dict=fuzz/smtp_client.dict" ;;
    fuzz_config)         echo "-max_len=4096 -dict=fuzz/toml.dict" ;;
    fuzz_mta_sts)        echo "-max_len=4096 -dict=fuzz/mta_sts.dict" ;;
    fuzz_eight_bit_downgrade) echo "-max_len=4096 -dict=fuzz/mime.dict" ;;
    fuzz_bulk_headers)   echo "-max_len=2048 -dict=fuzz/mime.dict" ;;
    fuzz_arf)            echo "-max_len=8192 -dict=fuzz/arf.dict" ;;
    fuzz_dkim_canon)     echo "-max_len=4096" ;;
    fuzz_dkim_verify)    echo "-max_len=8192" ;;
    fuzz_inject_request) echo "-max_len=4096 -dict=fuzz/json.dict" ;;
    fuzz_campaign_csv)   echo "-max_len=4096 -dict=fuzz/csv.dict" ;;
    fuzz_events)         echo "-max_len=2048" ;;
    fuzz_spf_record)     echo "-max_len=2048 -dict=fuzz/spf.dict" ;;
    fuzz_dmarc_record)   echo "-max_len=2048 -dict=fuzz/dmarc.dict" ;;
  esac
}
# Every run: a hang of 10 s or 2 GB of memory is a finding too.
COMMON=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1)

ensure_clang() {
  local missing=()
  for p in clang-14 libclang-rt-14-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "fuzz: installing ${missing[*]}"
    local sudo=""
    [[ $(id -u) -ne 0 ]] && sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

build() {
  bash scripts/install-deps.sh --build-only
  ensure_clang
  if [[ ! -f "$FUZZ_DIR/build.ninja" ]]; then
    cmake -S . -B "$FUZZ_DIR" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPETREL_FUZZ=ON -DPETREL_TESTS=OFF
  fi
  cmake --build "$FUZZ_DIR" -j "$JOBS"
}

selected() { if [[ -n "${1:-}" ]]; then echo "$1"; else echo "${TARGETS[@]}"; fi; }

# fuzz_one TARGET SECONDS: fuzz into the work corpus, seeded from the
# checked-in one.
fuzz_one() {
  local t=$1 seconds=$2
  mkdir -p "$FUZZ_DIR/corpus/$t" "$FUZZ_DIR/artifacts/$t"
  # shellcheck disable=SC2046
  "$FUZZ_DIR/$t" $(options "$t") "${COMMON[@]}" -max_total_time="$seconds" \
    -artifact_prefix="$FUZZ_DIR/artifacts/$t/" "$FUZZ_DIR/corpus/$t" "fuzz/corpus/$t"
}

cmd=${1:-}
shift || true
case "$cmd" in
  build)
    build
    ;;
  fuzz)
    build
    for t in $(selected "${1:-}"); do
      echo "=== $t: ${FUZZ_SECONDS}s"
      fuzz_one "$t" "$FUZZ_SECONDS"
    done
    ;;
  regress)
    build
    for t in "${TARGETS[@]}"; do
      echo "=== $t: checked-in corpus"
      mkdir -p "$FUZZ_DIR/artifacts/$t"
      # shellcheck disable=SC2046
      "$FUZZ_DIR/$t" $(options "$t") "${COMMON[@]}" -runs=0 \
        -artifact_prefix="$FUZZ_DIR/artifacts/$t/" "fuzz/corpus/$t"
    done
    for t in "${TARGETS[@]}"; do
      echo "=== $t: ${FUZZ_SHORT}s"
      fuzz_one "$t" "$FUZZ_SHORT"
    done
    echo "fuzz-regress: every target passed"
    ;;
  merge)
    build
    for t in $(selected "${1:-}"); do
      echo "=== $t: merging build-fuzz/corpus/$t into fuzz/corpus/$t"
      # shellcheck disable=SC2046
      "$FUZZ_DIR/$t" $(options "$t") "${COMMON[@]}" -merge=1 "fuzz/corpus/$t" "$FUZZ_DIR/corpus/$t"
    done
    ;;
  *)
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
