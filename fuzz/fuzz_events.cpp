// Fuzzes what the events and the dashboard read from outside: a server's
// reply split into code, enhanced code and text (src/events/event.cpp),
// any text as an event's field written as a JSON line, and the Cookie,
// Origin and Referer header fields the dashboard's guard reads
// (src/dashboard/guard.cpp). Whatever comes in: no crash, one line of
// valid JSON that gives the text back (bad UTF-8 replaced), and a cookie
// value that is a part of the header.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "dashboard/guard.hpp"
#include "events/event.hpp"
#include "fuzz_check.hpp"

using namespace petrel;

namespace {

// Strict UTF-8 (RFC 3629), as nlohmann's parser reads it: parse a JSON
// string of the text's \u-free bytes.
bool valid_utf8(std::string_view s) {
  std::string quoted = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return false;  // keep the check simple
    quoted += c;
  }
  quoted += '"';
  return !nlohmann::json::parse(quoted, nullptr, false).is_discarded();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input input(data, size);
  const std::uint8_t what = input.setting();
  const std::string_view text = input.rest();

  const events::Response r = events::parse_response(text);
  FUZZ_CHECK(r.code == 0 || (r.code >= 100 && r.code <= 599));
  FUZZ_CHECK(r.text.size() <= text.size());

  events::Event e;
  e.type = static_cast<events::Type>(what % 9);
  e.event_id = "id";
  e.timestamp_ms = static_cast<std::int64_t>(what) * 1'000'000'007LL;
  e.detail = std::string(text);
  e.response = r;
  const std::string line = events::to_json_line(e);
  FUZZ_CHECK(!line.empty() && line.back() == '\n' && line.find('\n') == line.size() - 1);
  const auto j = nlohmann::json::parse(line, nullptr, false);
  FUZZ_CHECK(!j.is_discarded());
  if (valid_utf8(text)) FUZZ_CHECK(j.value("detail", std::string()) == text);  // absent when empty
  FUZZ_CHECK(events::type_named(j["type"].get<std::string>()) == e.type);

  if (const auto value = dashboard::cookie_value(text, dashboard::kSessionCookie)) {
    FUZZ_CHECK(value->size() <= text.size());
  }
  http::Request request;
  request.host = "127.0.0.1:8025";
  if (what & 1) {
    request.origin = std::string(text);
  } else {
    request.referer = std::string(text);
  }
  (void)dashboard::same_origin(request);
  return 0;
}
