// Leaving a message in the maildrop, durably: written under a temporary
// name (".tmp..."), fsynced, renamed to its final name, and the rename
// synced, before petrel-sendmail says it is done.
#pragma once

#include <string>
#include <system_error>

#include "pickup/maildrop_format.hpp"

namespace petrel::sendmail {

// The file's final name in `name`. An error says what failed in `what`.
std::error_code drop_message(const std::string& maildrop, const pickup::MaildropMessage& message, std::string& name,
                             std::string& what);

}  // namespace petrel::sendmail
