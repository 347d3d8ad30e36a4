// Plays a scripted server against a ClientSession: the server's bytes are
// fed in pieces of a chosen size, messages are given whenever the session
// asks, and everything the client wrote is kept. A dialogue run whole and
// byte by byte must come out the same.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "smtp/client_session.hpp"

namespace petrel::smtp::testing {

inline std::string_view outcome_name(DeliveryOutcome o) {
  switch (o) {
    case DeliveryOutcome::delivered: return "delivered";
    case DeliveryOutcome::deferred: return "deferred";
    case DeliveryOutcome::failed: return "failed";
  }
  return "?";
}

// "delivered 250 2.0.0 ok | failed 550 5.1.1 no": one message at a glance.
inline std::string describe(const MessageResult& m) {
  std::string s;
  for (const auto& r : m.recipients) {
    if (!s.empty()) s += " | ";
    s += std::string(outcome_name(r.outcome)) + " " + r.reply.str();
  }
  return s;
}

struct Run {
  std::string sent;                   // every byte the client wrote
  std::vector<MessageResult> results;  // one per message given
  std::vector<std::string> outcomes;   // describe() of each
  ClientSession::Need end = ClientSession::Need::input;
  std::optional<ServerReply> failure;
  bool encrypted = false;
  bool authenticated = false;
  Capabilities caps;
  std::vector<std::string> transcript;
};

inline OutgoingMessage message(std::vector<std::string> recipients, std::string content = "Subject: t\r\n\r\nhi\r\n",
                               std::string from = "a") {
  OutgoingMessage m;
  m.reverse_path.mailbox = Address{from, "example.org"};
  for (auto& r : recipients) {
    Recipient rcpt;
    rcpt.forward_path = Address{r, "example.net"};
    m.recipients.push_back(rcpt);
  }
  m.content = std::move(content);
  return m;
}

// `segments`: the server's stream; a new segment starts after each TLS
// handshake (what was left of the old one, in the clear, is dropped).
// When the stream ends and the session still waits, the server closed.
inline Run play(const ClientOptions& options, std::vector<OutgoingMessage> messages,
                const std::vector<std::string>& segments, std::size_t piece) {
  using Need = ClientSession::Need;
  ClientSession session(options);
  Run run;
  std::size_t next_message = 0;
  const auto take_results = [&] {
    if (auto r = session.take_results()) {
      run.outcomes.push_back(describe(*r));
      run.results.push_back(std::move(*r));
    }
  };
  // Serves everything but input; false when the segment must be left.
  const auto serve = [&]() -> bool {
    for (;;) {
      run.sent += session.output();
      session.output().clear();
      switch (session.need()) {
        case Need::next_message:
          take_results();
          if (next_message < messages.size()) {
            session.send_message(messages[next_message++]);
          } else {
            session.quit();
          }
          continue;
        case Need::start_tls:
          session.tls_started();
          return false;
        default:
          return true;
      }
    }
  };
  for (const auto& segment : segments) {
    std::string pending;
    bool leave = !serve();
    for (std::size_t pos = 0; pos < segment.size() && !leave; pos += piece) {
      pending += segment.substr(pos, piece);
      while (!pending.empty() && session.need() == Need::input) {
        pending.erase(0, session.feed(pending));
        if (!serve()) {
          leave = true;
          break;
        }
      }
    }
    if (session.need() == Need::done) break;
  }
  if (session.need() == Need::input) session.connection_lost("server closed");
  serve();
  take_results();
  run.sent += session.output();
  run.end = session.need();
  run.failure = session.failure();
  run.encrypted = session.encrypted();
  run.authenticated = session.authenticated();
  run.caps = session.capabilities();
  run.transcript.assign(session.transcript().begin(), session.transcript().end());
  return run;
}

// The dialogue played whole and byte by byte; both must agree.
inline Run play_both(const ClientOptions& options, const std::vector<OutgoingMessage>& messages,
                     const std::vector<std::string>& segments) {
  Run whole = play(options, messages, segments, std::string::npos / 2);
  Run bytes = play(options, messages, segments, 1);
  EXPECT_EQ(whole.sent, bytes.sent);
  EXPECT_EQ(whole.outcomes, bytes.outcomes);
  EXPECT_EQ(whole.end, bytes.end);
  EXPECT_EQ(whole.failure.has_value(), bytes.failure.has_value());
  if (whole.failure && bytes.failure) {
    EXPECT_EQ(whole.failure->str(), bytes.failure->str());
  }
  return whole;
}

inline Run play_both(const ClientOptions& options, const std::vector<OutgoingMessage>& messages,
                     const std::string& server) {
  return play_both(options, messages, std::vector<std::string>{server});
}

inline ClientOptions plain_options(ClientProtocol protocol = ClientProtocol::smtp) {
  ClientOptions o;
  o.helo_name = "client.example.org";
  o.tls = TlsPolicy::none;
  o.protocol = protocol;
  return o;
}

}  // namespace petrel::smtp::testing
