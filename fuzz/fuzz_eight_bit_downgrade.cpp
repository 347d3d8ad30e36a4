// Fuzzes the 8BITMIME downgrade (src/smtp/eight_bit_downgrade.cpp): the
// MIME walk over a message from a stranger, done before relaying it to a
// server without 8BITMIME.
//
// Input: the message (headers and body).
//
// Checked: a converted message is all 7-bit; one without 8-bit octets is
// returned unchanged; conversion is deterministic; and what comes out
// converts to itself (it has nothing left to convert).
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "smtp/eight_bit_downgrade.hpp"

using namespace petrel;

namespace {
bool seven_bit(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) > 127; });
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view message(reinterpret_cast<const char*>(data), size);
  const auto out = smtp::downgrade_to_seven_bit(message);
  if (seven_bit(message)) FUZZ_CHECK(out && *out == message);
  if (!out) return 0;
  FUZZ_CHECK(seven_bit(*out));
  FUZZ_CHECK(smtp::downgrade_to_seven_bit(message) == out);
  const auto again = smtp::downgrade_to_seven_bit(*out);
  FUZZ_CHECK(again && *again == *out);
  return 0;
}
