#!/usr/bin/env bash
# make run: start petreld on its embedded defaults, everything under ./var/.
set -euo pipefail
cd "$(dirname "$0")/.."
PETRELD="${1:-build/petreld}"
mkdir -p var/spool var/mail
cat <<'MSG'
petreld: listening on 127.0.0.1:2525, local domain "localhost";
spool in ./var/spool, mail delivered to ./var/mail/localhost/<user>/new/.

Send it a message from another terminal, for example:
  swaks --server 127.0.0.1:2525 --from you@example.org --to alice@localhost
  /usr/bin/python3 -c 'import smtplib; smtplib.SMTP("127.0.0.1", 2525).sendmail("you@example.org", ["alice@localhost"], "Subject: hi\r\n\r\nhello\r\n")'
then: ls var/mail/localhost/alice/new/

Ctrl-C stops it.
MSG
exec "$PETRELD"   # the embedded defaults: see docs/config.md
