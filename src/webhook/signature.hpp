// The X-Petrel-Signature header of a webhook POST (docs/events.md):
// "t=UNIX,v1=HEX(HMAC-SHA256(secret, t + "." + body))". Without I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace petrel::webhook {

std::string signature(std::string_view secret, std::int64_t unix_time, std::string_view body);

// Whether `header` is a valid signature of body with secret, made at most
// `tolerance` seconds from `now` (what a receiver checks; the tests use it).
bool verify(std::string_view header, std::string_view secret, std::string_view body, std::int64_t now,
            std::int64_t tolerance = 300);

}  // namespace petrel::webhook
