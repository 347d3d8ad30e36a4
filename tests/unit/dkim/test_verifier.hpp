// A DKIM verifier for the tests, written from RFC 6376 §6 with OpenSSL
// doing the cryptography, so that the signer is checked by something that
// does not share its code (only the canonicalizers, which have tests of
// their own from the RFC).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace petrel::dkim::test {

// Verifies the `index`-th DKIM-Signature field from the top of `message`
// (relaxed/relaxed, rsa-sha256 or ed25519-sha256) with the key record
// `record`. "" when it verifies, else what failed.
std::string verify(std::string_view message, std::string_view record, std::size_t index = 0);

// The value of tag `name` in the index-th DKIM-Signature field, unfolded
// and without whitespace ("" if absent).
std::string signature_tag(std::string_view message, std::string_view name, std::size_t index = 0);

}  // namespace petrel::dkim::test
