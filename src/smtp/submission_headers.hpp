// RFC 6409 §8: a submission server may complete a message its client left
// incomplete. Petrel adds the two header fields RFC 5322 §3.6 requires of
// every message and mail clients most often omit.
#pragma once

#include <ctime>
#include <string>
#include <string_view>

namespace petrel::smtp {

// The fields `content` lacks among Message-ID and Date, ready to put in
// front of it ("" when it has both). Only the header section (up to the
// first empty line) is looked at.
std::string missing_submission_headers(std::string_view content, std::string_view hostname,
                                       std::string_view queue_id, std::time_t now);

}  // namespace petrel::smtp
