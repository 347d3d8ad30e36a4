// sendmail -bs: SMTP with the caller on stdin/stdout. The protocol is
// petreld's own session (smtp::ServerSession, the same state machine as
// on the network), driven here over the two pipes; each message accepted
// goes to the maildrop as with -bm, under the caller's uid, and is answered
// 250 only once it is there.
#pragma once

#include "sendmail/submission.hpp"

namespace petrel::config {
struct Config;
}

namespace petrel::sendmail {

// Returns EX_OK when the dialogue ended (QUIT or end of input), EX_IOERR
// when stdout broke.
int serve_smtp_stdio(const config::Config& config, const Settings& s, const Identity& who);

}  // namespace petrel::sendmail
