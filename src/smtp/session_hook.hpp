// A narrow way for a test server to answer some commands otherwise than the
// session would: petrel catch --script injects faults through it
// (docs/petrel-catch.md, SCRIPTED FAULTS). petreld sets no hook, and the
// session then behaves exactly as without one.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "smtp/reply.hpp"

namespace petrel::smtp {

class ServerSession;

// Where the session asks its hook: the greeting, the commands that carry
// a message (HELO counts as EHLO), and the end of a message's content.
enum class HookPoint { connect, ehlo, mail, rcpt, data, bdat, end_of_data };

struct HookOverride {
  // 4xx or 5xx: the answer instead of carrying the command out (a BDAT
  // chunk is still read and the reply follows it; at the end of data the
  // message is not kept). A 421, or any refusal at connect, closes the
  // session after it. 2xx: the command is carried out as usual, and this
  // replaces the session's next reply if that is a 2xx.
  std::optional<Reply> reply;
  bool close = false;                   // close the connection now, with no reply
  std::chrono::milliseconds delay{0};   // hold the replies back (take_reply_delay())
  std::string close_reason = "hook";    // for stats().close_reason when it closes
};

class SessionHook {
 public:
  virtual ~SessionHook() = default;
  // `argument` is the command's, as sent ("FROM:<a@b> SIZE=10"); "" at
  // connect and at the end of data. The session is as before the command.
  virtual HookOverride at(HookPoint point, std::string_view argument, const ServerSession& session) = 0;
};

}  // namespace petrel::smtp
