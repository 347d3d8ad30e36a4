// mailq / sendmail -bp: the queue as Postfix's mailq prints it, from the
// messages petreld's admin channel lists ({"command": "list"}, docs/admin.md).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>

namespace petrel::sendmail {

// "-Queue ID- --Size-- ----Arrival Time---- -Sender/Recipient-------" then
// per message its ID ("*" when being delivered, "!" when held), size,
// arrival (local time), sender ("MAILER-DAEMON" for <>), the last error in
// parentheses and the recipients still to be delivered; then
// "-- N Kbytes in M Requests." ("Mail queue is empty" when it is).
// `messages` is a JSON array of the admin channel's message objects.
std::string format_mailq(const nlohmann::json& messages);

}  // namespace petrel::sendmail
