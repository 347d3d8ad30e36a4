// Fuzzes petrel catch's grader (src/catch/) with whole client byte streams
// played against the server session it watches, the way
// src/cli/catch_server.cpp drives it.
//
// Input: two settings octets, then what the client sends.
//   0: bit 0 plain RFC 821 server (EHLO refused), bit 1 STARTTLS offered,
//      bit 2 AUTH offered, bits 3-7 which of five keywords are advertised
//   1: how the stream is split into reads (see Splitter)
//
// The stream is played in one read and in reads of the chosen sizes. Only
// the pipelining findings may differ (they are about reads); every other
// finding, the messages and the replies must be the same, and the JSON
// report must be well formed.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catch/catch_auth.hpp"
#include "catch/caught_session.hpp"
#include "catch/report.hpp"
#include "fuzz_check.hpp"

using namespace petrel;
using Need = catcher::CaughtSession::Need;

namespace {

class AcceptAll : public smtp::EnvelopePolicy {
 public:
  std::optional<smtp::Reply> check_recipient(const smtp::Address&, const smtp::ClientIdentity&) const override {
    return std::nullopt;
  }
};

struct Outcome {
  std::string replies;
  std::vector<std::string> stored;
  std::vector<std::string> findings;  // "id count", pipelining left out
  std::vector<std::uint64_t> sizes;
};

smtp::SessionOptions options_from(std::uint8_t bits) {
  smtp::SessionOptions o;
  o.hostname = "catch.test";
  o.auth_without_tls = true;
  o.limits.body_in_memory = 0;
  o.limits.max_message_size = 4096;
  o.limits.max_errors = 50;
  o.esmtp = (bits & 1) == 0;
  o.starttls = (bits & 2) != 0;
  std::vector<std::string> offer{"STARTTLS", "AUTH"};
  const char* optional[] = {"PIPELINING", "SIZE", "8BITMIME", "CHUNKING", "SMTPUTF8"};
  for (int i = 0; i < 5; ++i) {
    if (bits & (8 << i)) offer.emplace_back(optional[i]);
  }
  o.ehlo_offer = offer;
  return o;
}

Outcome play(const smtp::SessionOptions& options, bool with_auth, std::string_view stream, std::optional<std::uint8_t> split) {
  AcceptAll policy;
  catcher::CatchAuthenticator auth(std::map<std::string, std::string>{{"a", "b"}});
  catcher::CaughtSession s(options, policy, "127.0.0.1", with_auth ? &auth : nullptr,
                           catcher::GraderOptions{options.esmtp, options.limits.max_text_line});
  Outcome out;
  s.greet();
  out.replies += s.take_output();
  fuzz::Splitter splitter(split.value_or(0));
  while (!stream.empty() && s.need() != Need::close) {
    const std::size_t n = split ? std::min(stream.size(), splitter.next()) : stream.size();
    std::string_view read = stream.substr(0, n);
    stream.remove_prefix(n);
    s.read_started();
    while (!read.empty() && s.need() == Need::input) {
      const std::size_t used = s.feed(read);
      FUZZ_CHECK(used <= read.size());
      read.remove_prefix(used);
      if (s.need() == Need::store_message) {
        out.stored.push_back(s.take_message().content);
        s.message_stored("Q");
      }
      if (s.need() == Need::start_tls) {
        // The rest of this read, and of the stream, is the clear text a
        // real client could not have sent: stop here in both plays.
        out.replies += s.take_output();
        s.tls_started(smtp::TlsFacts{"TLSv1.3", "X", 256});
        stream = {};
        read = {};
      }
    }
    out.replies += s.take_output();
  }
  if (s.need() != Need::close) s.connection_lost("client closed");
  s.finish();
  for (const auto& f : s.grader().findings()) {
    FUZZ_CHECK(f.level == catcher::level_of(f.id));
    if (f.id.starts_with("pipelining")) continue;
    out.findings.push_back(f.id + " " + std::to_string(f.count));
  }
  for (const auto& m : s.grader().messages()) out.sizes.push_back(m.size);
  const std::string json = catcher::json_report(s.grader(), catcher::SessionFacts{});
  FUZZ_CHECK(!json.empty() && json.back() == '\n');
  FUZZ_CHECK(!nlohmann::json::parse(json, nullptr, false).is_discarded());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input input(data, size);
  const std::uint8_t bits = input.setting();
  const std::uint8_t split = input.setting();
  const smtp::SessionOptions options = options_from(bits);
  const bool with_auth = (bits & 4) != 0;
  const Outcome whole = play(options, with_auth, input.rest(), std::nullopt);
  const Outcome pieces = play(options, with_auth, input.rest(), split);
  FUZZ_CHECK(whole.stored == pieces.stored);
  FUZZ_CHECK(whole.sizes == pieces.sizes);
  FUZZ_CHECK(whole.findings == pieces.findings);
  return 0;
}
