// Plays a client's reads against a CaughtSession (the server session of
// petreld watched by the grader), doing the caller's part: messages are
// "stored", STARTTLS "succeeds". One string per read from the socket.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "catch/catch_auth.hpp"
#include "catch/caught_session.hpp"

namespace petrel::catcher::testing {

class AcceptAll : public smtp::EnvelopePolicy {
 public:
  std::optional<smtp::Reply> check_recipient(const smtp::Address&, const smtp::ClientIdentity&) const override {
    return std::nullopt;
  }
};

struct Run {
  std::vector<Finding> findings;
  std::vector<std::string> offered;
  std::vector<std::string> used;
  std::vector<GradedMessage> messages;
  std::string replies;  // everything the server sent
  std::vector<std::string> stored;

  bool has(std::string_view id) const {
    return std::any_of(findings.begin(), findings.end(), [&](const Finding& f) { return f.id == id; });
  }
  const Finding* find(std::string_view id) const {
    for (const auto& f : findings) {
      if (f.id == id) return &f;
    }
    return nullptr;
  }
  // "bare-lf unstuffed-dot": the ids found, in order.
  std::string ids() const {
    std::string s;
    for (const auto& f : findings) s += (s.empty() ? "" : " ") + f.id;
    return s;
  }
};

inline smtp::SessionOptions catch_options() {
  smtp::SessionOptions o;
  o.hostname = "catch.test";
  o.auth_without_tls = true;
  o.limits.body_in_memory = 0;
  o.ehlo_offer = std::vector<std::string>{"PIPELINING", "SIZE", "8BITMIME", "SMTPUTF8", "CHUNKING", "BINARYMIME",
                                          "DSN", "STARTTLS", "AUTH", "ENHANCEDSTATUSCODES"};
  return o;
}

inline Run play(const smtp::SessionOptions& options, const std::vector<std::string>& reads, bool with_auth = false,
                ScriptHook* script = nullptr) {
  AcceptAll policy;
  CatchAuthenticator auth(std::map<std::string, std::string>{{"alice", "secret"}});
  CaughtSession s(options, policy, "127.0.0.1", with_auth ? &auth : nullptr, GraderOptions{options.esmtp, 1000},
                  script);
  Run run;
  s.greet();
  run.replies += s.take_output();
  for (const auto& read : reads) {
    if (s.need() == CaughtSession::Need::close) break;
    s.read_started();
    std::string_view rest = read;
    while (!rest.empty() && s.need() == CaughtSession::Need::input) {
      rest.remove_prefix(s.feed(rest));
      if (s.need() == CaughtSession::Need::store_message) {
        run.stored.push_back(s.take_message().content);
        s.message_stored("Q" + std::to_string(run.stored.size()));
      }
      if (s.need() == CaughtSession::Need::start_tls) {
        run.replies += s.take_output();
        s.tls_started(smtp::TlsFacts{"TLSv1.3", "TLS_AES_256_GCM_SHA384", 256});
        break;  // the rest of the read came in the clear
      }
    }
    run.replies += s.take_output();
  }
  if (s.need() != CaughtSession::Need::close) s.connection_lost("client closed");
  s.finish();
  run.findings = s.grader().findings();
  run.offered = s.grader().offered();
  run.used = s.grader().used();
  run.messages = s.grader().messages();
  return run;
}

inline constexpr const char* kHeaders =
    "From: Alice <alice@example.org>\r\n"
    "To: bob@example.test\r\n"
    "Date: Mon, 7 Dec 2026 11:00:00 +0000\r\n"
    "Message-ID: <1@example.org>\r\n"
    "Subject: test\r\n"
    "\r\n";

}  // namespace petrel::catcher::testing
