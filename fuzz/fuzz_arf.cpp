// Fuzzes the ARF reader (src/feedback/arf.cpp, mime.cpp), which reads
// feedback-loop mail that anyone can send: whatever comes in, it must
// answer without crashing, in time linear in the input, and the same way
// whether the lines end in LF or CRLF.
#include <cstdint>
#include <string>
#include <string_view>

#include "feedback/arf.hpp"
#include "fuzz_check.hpp"

using namespace petrel;

namespace {

// Every bare LF as CRLF.
std::string with_crlf(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) out += '\r';
    out += s[i];
  }
  return out;
}

bool one_line(const std::string& value, std::size_t input_size) {
  return value.find('\n') == std::string::npos && value.size() <= input_size;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string reason;
  const auto report = feedback::parse_arf(input, reason);
  if (!report) {
    FUZZ_CHECK(!reason.empty());
  } else {
    const feedback::FeedbackReport& r = *report;
    FUZZ_CHECK(!r.feedback_type.empty());
    for (char c : r.feedback_type) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
    for (const std::string* value : {&r.feedback_type, &r.original_rcpt_to, &r.original_mail_from, &r.arrival_date,
                                     &r.source_ip, &r.reported_domain, &r.message_id, &r.from, &r.to,
                                     &r.list_unsubscribe}) {
      FUZZ_CHECK(one_line(*value, size));
    }
    if (r.petrel_ref) FUZZ_CHECK(one_line(*r.petrel_ref, size));
  }
  // Line ends do not change the answer.
  if (size < feedback::kMaxArfScan / 2) {
    std::string other_reason;
    const auto again = feedback::parse_arf(with_crlf(input), other_reason);
    FUZZ_CHECK(again.has_value() == report.has_value());
    if (report) FUZZ_CHECK(*again == *report);
  }
  return 0;
}
