// Fuzzes the campaign/tenant field reader (src/smtp/bulk_headers.cpp),
// which edits the header section of a trusted client's message: whatever
// it takes out, the body and every other field must come through intact.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "smtp/bulk_headers.hpp"

using namespace petrel;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::string content = input;
  const smtp::BulkFields fields = smtp::take_bulk_fields(content, "X-Campaign", "X-Tenant");
  FUZZ_CHECK(content.size() <= input.size());
  FUZZ_CHECK(fields.campaign.size() <= 128 && fields.tenant.size() <= 128);
  // The body (after the first empty line) is never touched.
  const auto blank = input.find("\r\n\r\n");
  if (blank != std::string::npos && !input.starts_with("\r\n")) {
    const std::string_view body = std::string_view(input).substr(blank + 2);
    FUZZ_CHECK(std::string_view(content).ends_with(body));
  }
  // Taking twice takes nothing more.
  std::string again = content;
  const smtp::BulkFields second = smtp::take_bulk_fields(again, "X-Campaign", "X-Tenant");
  FUZZ_CHECK(again == content && second.campaign.empty() && second.tenant.empty());
  return 0;
}
