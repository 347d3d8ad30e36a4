#include "dkim/algorithm.hpp"

#include <algorithm>
#include <cctype>

namespace petrel::dkim {
namespace {

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

}  // namespace

std::string_view to_string(Algorithm algorithm) {
  return algorithm == Algorithm::rsa_sha256 ? "rsa-sha256" : "ed25519-sha256";
}

std::string_view key_type(Algorithm algorithm) { return algorithm == Algorithm::rsa_sha256 ? "rsa" : "ed25519"; }

std::optional<Algorithm> parse_algorithm(std::string_view text) {
  for (const Algorithm a : {Algorithm::rsa_sha256, Algorithm::ed25519_sha256}) {
    if (equal_ignoring_case(text, to_string(a)) || equal_ignoring_case(text, key_type(a))) return a;
  }
  return std::nullopt;
}

}  // namespace petrel::dkim
