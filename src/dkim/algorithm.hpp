// The two signing algorithms Petrel offers (RFC 8301 retired rsa-sha1):
// rsa-sha256 (RFC 6376 §3.3.1) and ed25519-sha256 (RFC 8463).
#pragma once

#include <optional>
#include <string_view>

namespace petrel::dkim {

enum class Algorithm { rsa_sha256, ed25519_sha256 };

std::string_view to_string(Algorithm algorithm);  // the a= tag: "rsa-sha256", "ed25519-sha256"
std::string_view key_type(Algorithm algorithm);   // the k= tag of the key record: "rsa", "ed25519"

// "rsa", "rsa-sha256", "ed25519" or "ed25519-sha256", in any case.
std::optional<Algorithm> parse_algorithm(std::string_view text);

}  // namespace petrel::dkim
