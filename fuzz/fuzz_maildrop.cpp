// Fuzzes the maildrop file format (src/pickup/maildrop_format.cpp): any
// local user can put any bytes in the maildrop, and petreld reads them. A
// file must be refused with a reason or decoded within the limits; what
// decodes must survive a round trip unchanged.
//
// Input: the file, as petreld would read it.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "pickup/maildrop_format.hpp"

using namespace petrel;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view file(reinterpret_cast<const char*>(data), size);
  const pickup::MaildropLimits limits{.max_content = 1024, .max_recipients = 8};
  std::string error;
  const auto first = pickup::decode_maildrop(file, limits, error);
  if (!first) {
    FUZZ_CHECK(!error.empty());
    return 0;
  }
  FUZZ_CHECK(!first->recipients.empty() && first->recipients.size() <= limits.max_recipients);
  FUZZ_CHECK(first->content.size() <= limits.max_content);
  const std::string encoded = pickup::encode_maildrop(*first);
  const auto second = pickup::decode_maildrop(encoded, limits, error);
  FUZZ_CHECK(second.has_value());
  FUZZ_CHECK(second->sender.mailbox == first->sender.mailbox);
  FUZZ_CHECK(second->recipients == first->recipients);
  FUZZ_CHECK(second->content == first->content);
  FUZZ_CHECK(pickup::encode_maildrop(*second) == encoded);
  // The name check never lets a path through.
  FUZZ_CHECK(!pickup::valid_maildrop_name(file) || file.find('/') == std::string_view::npos);
  return 0;
}
