// Fuzzes the injection API's body (src/api/inject_request.cpp) and what it
// feeds: the templates compiled (src/template/) and one message composed
// (src/mime/). Any body a client sends must give a request or a problem,
// and a composed message's header section must not gain fields from
// recipients' variables.
#include <cstdint>
#include <string>
#include <string_view>

#include "api/compose.hpp"
#include "api/inject_request.hpp"
#include "fuzz_check.hpp"

using namespace petrel;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto parsed = api::parse_inject_request(body, {.max_recipients = 50, .max_depth = 16});
  if (auto* problem = std::get_if<http::Problem>(&parsed)) {
    FUZZ_CHECK(problem->status >= 400 && problem->status < 500 && !problem->detail.empty());
    return 0;
  }
  auto& request = std::get<api::InjectRequest>(parsed);
  FUZZ_CHECK(!request.recipients.empty() && request.recipients.size() <= 50);
  auto composer = api::Composer::make(request);
  if (auto* problem = std::get_if<http::Problem>(&composer)) {
    FUZZ_CHECK(problem->status == 422 && !problem->pointer.empty() && problem->line >= 1);
    return 0;
  }
  // As the API does: recipients whose address does not parse are refused.
  const api::RecipientSpec& first = request.recipients.front();
  smtp::Address address;
  if (!api::check_email(first.email, address).empty()) return 0;
  const std::string m = std::get<api::Composer>(composer).compose(first, {}, 0, 42, "host.test", "0123456789ABCDEF");
  FUZZ_CHECK(!m.empty());
  if (!request.raw) {
    // The builder's header section: every line a field or a fold, CRLF only.
    const std::string_view header = std::string_view(m).substr(0, m.find("\r\n\r\n") + 2);
    for (std::size_t at = 0; at < header.size();) {
      const std::size_t end = header.find("\r\n", at);
      FUZZ_CHECK(end != std::string_view::npos);
      const std::string_view line = header.substr(at, end - at);
      FUZZ_CHECK(line.find('\r') == std::string_view::npos && line.find('\n') == std::string_view::npos);
      FUZZ_CHECK(!line.empty() && (line.front() == ' ' || line.front() == '\t' || line.find(':') != std::string_view::npos));
      at = end + 2;
    }
  }
  return 0;
}
