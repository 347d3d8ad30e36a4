// The spool's on-disk form of an envelope: a versioned, length-prefixed
// binary record, so that a field containing any byte round-trips.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "spool/spooled_message.hpp"

namespace petrel::spool {

// Everything in a SpooledMessage but the content.
std::string encode_envelope(const SpooledMessage& m);
// Fills all fields of m but id and content; false on a corrupt record.
bool decode_envelope(std::string_view record, SpooledMessage& m);

}  // namespace petrel::spool
