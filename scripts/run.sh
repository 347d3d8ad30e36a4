#!/usr/bin/env bash
# make run: start petreld on its embedded defaults, everything under ./var/.
set -euo pipefail
cd "$(dirname "$0")/.."
PETRELD="${1:-build/petreld}"
mkdir -p var/spool var/mail
# The HTTP API on loopback, with a token made on the first run (mode 0600).
if [[ ! -s var/api_tokens ]]; then
  (umask 077; echo "local:$(od -An -N24 -tx1 /dev/urandom | tr -d " \n")" > var/api_tokens)
fi
chmod 600 var/api_tokens
TOKEN="$(cut -d: -f2 var/api_tokens | head -n 1)"
cat <<'MSG'
petreld: listening on 127.0.0.1:2525 (STARTTLS with a self-signed certificate
in ./var/tls/), local domain "localhost"; spool in ./var/spool, mail
delivered to ./var/mail/localhost/<user>/new/.

Send it a message from another terminal, for example:
  swaks --server 127.0.0.1:2525 --from you@example.org --to alice@localhost
  swaks --server 127.0.0.1:2525 --tls --from you@example.org --to alice@localhost
  /usr/bin/python3 -c 'import smtplib; smtplib.SMTP("127.0.0.1", 2525).sendmail("you@example.org", ["alice@localhost"], "Subject: hi\r\n\r\nhello\r\n")'
then: ls var/mail/localhost/alice/new/
and:  build/petrel queue list      (what waits for delivery)

MSG
cat <<MSG
The HTTP API listens on 127.0.0.1:8025 (docs/api.md); the token is in
var/api_tokens:
  curl -s -H "Authorization: Bearer ${TOKEN}" -H 'Content-Type: application/json' \\
    -d '{"envelope_sender":"you@localhost","from":{"email":"you@localhost"},
         "recipients":[{"email":"alice@localhost","vars":{"first":"Alice"}}],
         "subject":"Hello {{first}}","text":"Hi {{first}}!"}' \\
    http://127.0.0.1:8025/api/v1/messages

The dashboard is at http://127.0.0.1:8025/ (sign in with that token),
Prometheus metrics at http://127.0.0.1:8025/metrics, and every event is a
line of var/log/events.jsonl (docs/events.md).

Ctrl-C stops it.
MSG
# The embedded defaults (docs/config.md), plus a throwaway certificate so
# STARTTLS can be tried; a real server names its own with --tls-cert/--tls-key.
exec "$PETRELD" --tls-cert var/tls/cert.pem --tls-key var/tls/key.pem --self-signed-cert \
  --http-listen 127.0.0.1:8025 --api-tokens-file var/api_tokens --events-file var/log/events.jsonl
