// Fuzzes the server session state machine (src/smtp/server_session.cpp,
// session_commands.cpp) with whole client byte streams: commands,
// pipelining, DATA and BDAT, the way src/server/connection.cpp drives it.
//
// Input: four settings octets, then what the client sends.
//   0: bits 0-1 max message size, bit 2 normalize bare line endings,
//      bit 3 EXPN answers 252
//   1: bits 0-2 max recipients - 1, bits 3-7 max errors (2..33)
//   2: bits 0-2 max command line, bits 6-7 max text line
//   3: how the stream is split into reads (see Splitter)
//
// The stream is played twice, in one read and in reads of the chosen
// sizes; the replies and the messages stored must be the same octets,
// because TCP may split a client's writes anywhere.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "smtp/envelope_policy.hpp"
#include "smtp/reply_codes.hpp"
#include "smtp/server_session.hpp"
#include "wire_check.hpp"

using namespace petrel;
using Need = smtp::ServerSession::Need;

namespace {

constexpr std::uint64_t kMessageSizes[] = {64, 300, 4000, 50ull * 1024 * 1024};
constexpr std::size_t kCommandLines[] = {16, 32, 64, 100, 200, 512, 512, 1000};
constexpr std::size_t kTextLines[] = {0, 20, 78, 1000};

// Recipients in example.org are local; "reject@example.org" does not exist;
// any other domain is relaying.
class Policy : public smtp::EnvelopePolicy {
 public:
  std::optional<smtp::Reply> check_recipient(const smtp::Address& rcpt, const smtp::ClientIdentity&) const override {
    if (smtp::is_bare_postmaster(smtp::Path{rcpt})) return std::nullopt;
    if (smtp::normalize_domain(rcpt.domain) != "example.org") {
      return smtp::Reply(smtp::codes::k554RelayDenied, "Relay access denied");
    }
    if (rcpt.local_part == "reject") return smtp::Reply(smtp::codes::k550NoSuchUser, "No such user");
    return std::nullopt;
  }
};

// PLAIN-like: a response "AGEAYg==" authenticates, other base64-looking
// text fails, anything else is malformed. LOGIN-like: two challenges.
class ScriptedExchange : public smtp::SaslExchange {
 public:
  explicit ScriptedExchange(int steps) : steps_(steps) {}
  smtp::SaslStep step(std::optional<std::string_view> response) override {
    using Outcome = smtp::SaslStep::Outcome;
    if (response && response->find_first_not_of(
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != std::string_view::npos) {
      return {Outcome::malformed, "", ""};
    }
    if (!response || --steps_ > 0) return {Outcome::challenge, "VXNlcm5hbWU6", ""};
    if (*response == "AGEAYg==") return {Outcome::success, "", "a@example.org"};
    return {Outcome::failure, "", ""};
  }

 private:
  int steps_;
};

class ScriptedAuthenticator : public smtp::Authenticator {
 public:
  std::vector<std::string> mechanisms() const override { return {"PLAIN", "LOGIN"}; }
  std::unique_ptr<smtp::SaslExchange> start(std::string_view mechanism) override {
    if (mechanism == "PLAIN") return std::make_unique<ScriptedExchange>(1);
    if (mechanism == "LOGIN") return std::make_unique<ScriptedExchange>(2);
    return nullptr;
  }
  std::optional<smtp::Reply> refuse_client(std::string_view) override {
    if (failures_ >= 3) return smtp::Reply(smtp::codes::k421AuthLockedOut, "locked out");
    return std::nullopt;
  }
  std::chrono::milliseconds record_outcome(std::string_view, bool success) override {
    if (!success) ++failures_;
    return std::chrono::milliseconds(success ? 0 : 10);
  }

 private:
  int failures_ = 0;
};

struct Transcript {
  std::string replies;
  std::vector<smtp::ReceivedMessage> stored;
  Need end = Need::input;
};

// Plays the server's part: feeds what it has, stores a message when asked
// (every other one fails with 452), and checks the session's promises.
class Driver {
 public:
  Driver(const smtp::SessionOptions& options, smtp::EnvelopePolicy& policy, bool implicit_tls)
      : options_(options), session_(options, policy, "192.0.2.1", &authenticator_) {
    if (implicit_tls) session_.tls_started({"TLSv1.3", "TLS_AES_128_GCM_SHA256", 128});
    session_.greet();
    take_output();
  }

  // One read from the socket; false once the session wants to close.
  bool receive(std::string_view bytes) {
    pending_.append(bytes);
    while (!pending_.empty() && session_.need() == Need::input) {
      const std::size_t given = pending_.size();
      const std::size_t used = session_.feed(pending_);
      FUZZ_CHECK(used <= given);
      // feed() takes everything unless it stops to ask for something.
      FUZZ_CHECK(used == given || session_.need() != Need::input);
      pending_.erase(0, used);
      serve_need();
    }
    serve_need();
    // Replies are flushed after each read (RFC 2920): only whole replies.
    take_output();
    // STARTTLS drops the rest of the read it came in (CVE-2011-0411), so
    // what follows depends on how the bytes were split: the transcript
    // ends there. Sessions after TLS are fuzzed by starting in TLS.
    if (session_.need() == Need::start_tls) {
      FUZZ_CHECK(pending_.empty());
      return false;
    }
    return session_.need() != Need::close;
  }

  Transcript finish() {
    session_.connection_lost("client closed");
    take_output();
    transcript_.end = session_.need();
    return std::move(transcript_);
  }

 private:
  void serve_need() {
    if (session_.need() == Need::store_message) store();
    if (session_.need() == Need::authenticate) {
      session_.authenticate();
      FUZZ_CHECK(session_.need() == Need::input || session_.need() == Need::close);
    }
  }

  void store() {
    smtp::ReceivedMessage m = session_.take_message();
    check_message(m);
    if (++stores_ % 2 == 1) {
      session_.message_stored("Q1");
      transcript_.stored.push_back(std::move(m));
    } else {
      session_.message_failed(smtp::Reply(smtp::codes::k452StorageFull, "Insufficient system storage"));
    }
    FUZZ_CHECK(session_.need() == Need::input);
  }

  void check_message(const smtp::ReceivedMessage& m) {
    const auto& limits = options_.limits;
    FUZZ_CHECK(!m.envelope.recipients.empty());
    FUZZ_CHECK(m.envelope.recipients.size() <= limits.max_recipients);
    FUZZ_CHECK(m.content.size() <= limits.max_message_size);
    if (m.envelope.params.body != smtp::BodyType::binary_mime) {
      // No bare CR or LF gets into the spool: the smuggling defence.
      FUZZ_CHECK(fuzz::crlf_clean(m.content));
      if (limits.max_text_line) FUZZ_CHECK(fuzz::longest_line(m.content) <= limits.max_text_line);
    }
  }

  void take_output() {
    fuzz::check_wire_replies(session_.output());
    transcript_.replies += session_.output();
    session_.output().clear();
  }

  const smtp::SessionOptions& options_;
  ScriptedAuthenticator authenticator_;
  smtp::ServerSession session_;
  std::string pending_;
  int stores_ = 0;
  Transcript transcript_;
};

bool same_messages(const std::vector<smtp::ReceivedMessage>& a, const std::vector<smtp::ReceivedMessage>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].content != b[i].content || a[i].envelope.recipients.size() != b[i].envelope.recipients.size() ||
        a[i].envelope.reverse_path.str() != b[i].envelope.reverse_path.str()) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input input(data, size);
  const std::uint8_t s0 = input.setting(), s1 = input.setting(), s2 = input.setting(), s3 = input.setting();

  smtp::SessionOptions options;
  options.hostname = "mx.example.org";
  options.limits.max_message_size = kMessageSizes[s0 & 3];
  options.bare_line_endings = (s0 & 4) ? smtp::BareLineEndingPolicy::normalize : smtp::BareLineEndingPolicy::reject;
  options.expn = (s0 & 8) ? smtp::ExpnPolicy::answer_252 : smtp::ExpnPolicy::refuse;
  options.limits.max_recipients = 1 + (s1 & 7);
  options.limits.max_errors = 2 + (s1 >> 3);
  options.limits.max_command_line = kCommandLines[s2 & 7];
  options.limits.max_text_line = kTextLines[s2 >> 6];
  options.starttls = (s2 & 8) != 0;
  options.submission = (s2 & 16) != 0;
  options.auth_without_tls = (s2 & 32) != 0;
  const bool implicit_tls = (s0 & 16) != 0;
  Policy policy;
  const std::string_view stream = input.rest();

  Driver whole(options, policy, implicit_tls);
  whole.receive(stream);
  const Transcript a = whole.finish();

  Driver pieces(options, policy, implicit_tls);
  fuzz::Splitter split(s3);
  for (std::size_t pos = 0; pos < stream.size();) {
    const std::size_t n = std::min(split.next(), stream.size() - pos);
    if (!pieces.receive(stream.substr(pos, n))) break;
    pos += n;
  }
  const Transcript b = pieces.finish();

  if (a.replies != b.replies) {
    std::fprintf(stderr, "in one read:\n%s\nin pieces:\n%s\n", a.replies.c_str(), b.replies.c_str());
  }
  FUZZ_CHECK(a.replies == b.replies);
  FUZZ_CHECK(same_messages(a.stored, b.stored));
  return 0;
}
