// A test client for ServerSession: feeds a whole client dialogue, plays the
// caller's part (storing messages under fake queue ids), and returns the
// replies parsed back into code, enhanced code and text.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/envelope_policy.hpp"
#include "smtp/reply_codes.hpp"
#include "smtp/server_session.hpp"

namespace petrel::smtp::testing {

// Accepts recipients in the local domains example.test and example.org and
// the bare <Postmaster>; refuses everything else as relaying (554 5.7.1).
class LocalDomainsPolicy : public EnvelopePolicy {
 public:
  std::optional<Reply> check_recipient(const Address& rcpt, const ClientIdentity& client) const override {
    if (is_bare_postmaster(Path{rcpt}) || client.may_relay()) return std::nullopt;
    const std::string domain = normalize_domain(rcpt.domain);
    if (domain == "example.test" || domain == "example.org") return std::nullopt;
    return Reply(codes::k554RelayDenied, "Relay access denied");
  }
};

// One reply as the client sees it.
struct WireReply {
  int code = 0;
  std::string enhanced;            // "" when the reply has none
  std::vector<std::string> lines;  // text after the code and enhanced code

  // "250 2.1.0", or "354" without an enhanced code.
  std::string status() const { return enhanced.empty() ? std::to_string(code) : std::to_string(code) + " " + enhanced; }
  std::string text() const {
    std::string all;
    for (const auto& l : lines) all += (all.empty() ? "" : "\n") + l;
    return all;
  }
};

struct Replies : std::vector<WireReply> {
  // "250 2.1.0 | 250 2.1.5 | 354": the shape of a dialogue at a glance.
  std::string statuses() const {
    std::string s;
    for (const auto& r : *this) s += (s.empty() ? "" : " | ") + r.status();
    return s;
  }
};

inline bool looks_enhanced(std::string_view t) {
  // class "." subject "." detail (RFC 3463), e.g. 5.1.7 or 2.0.0
  std::size_t i = 0;
  for (int part = 0; part < 3; ++part) {
    const std::size_t start = i;
    while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i;
    if (i == start || i - start > 3) return false;
    if (part < 2) {
      if (i >= t.size() || t[i] != '.') return false;
      ++i;
    }
  }
  return i == t.size();
}

// Splits wire output ("250-a\r\n250 b\r\n...") into replies.
inline Replies parse_replies(std::string_view wire) {
  Replies out;
  WireReply current;
  while (!wire.empty()) {
    const auto eol = wire.find("\r\n");
    std::string_view line = wire.substr(0, eol);
    wire.remove_prefix(eol == std::string_view::npos ? wire.size() : eol + 2);
    current.code = std::stoi(std::string(line.substr(0, 3)));
    const bool more = line.size() > 3 && line[3] == '-';
    std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view{};
    const auto space = text.find(' ');
    if (looks_enhanced(text.substr(0, space))) {
      current.enhanced = std::string(text.substr(0, space));
      text = space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
    }
    current.lines.emplace_back(text);
    if (!more) {
      out.push_back(std::move(current));
      current = WireReply{};
    }
  }
  return out;
}

// A client connected to a ServerSession. send() feeds bytes the way
// src/server/connection.cpp does: in pieces of `piece` octets, keeping what the
// session did not consume, storing a message whenever the session asks.
class Dialogue {
 public:
  static constexpr std::size_t kAllAtOnce = std::numeric_limits<std::size_t>::max();

  explicit Dialogue(SessionOptions options = {}, std::string client_address = "192.0.2.10",
                    Authenticator* authenticator = nullptr, bool implicit_tls = false)
      : options_(std::move(options)), session_(options_, policy_, std::move(client_address), authenticator) {
    if (implicit_tls) session_.tls_started(test_tls());
    session_.greet();
    greeting = collect();
  }

  static TlsFacts test_tls() { return {"TLSv1.3", "TLS_AES_256_GCM_SHA384", 256}; }

  // The caller's side of STARTTLS: the handshake succeeded.
  void complete_tls() { session_.tls_started(test_tls()); }

  // Feeds `bytes` and returns the replies they caused.
  Replies send(std::string_view bytes, std::size_t piece = kAllAtOnce) { return parse_replies(send_raw(bytes, piece)); }

  // Same, as the raw reply bytes.
  std::string send_raw(std::string_view bytes, std::size_t piece = kAllAtOnce) {
    std::size_t pos = 0;
    while (pos < bytes.size() && session_.need() != ServerSession::Need::close) {
      const std::size_t n = std::min(piece, bytes.size() - pos);
      pending_.append(bytes.substr(pos, n));
      pos += n;
      drain();
    }
    return take_output();
  }

  // EHLO and its reply, for tests about what comes after.
  void ehlo() { send("EHLO client.test\r\n"); }

  // Replaces the fake spool: nullopt stores the message, a reply fails it.
  void store_with(std::function<std::optional<Reply>(const ReceivedMessage&)> store) { store_ = std::move(store); }

  ServerSession& session() { return session_; }
  ServerSession::Need need() const { return session_.need(); }
  const std::string& unconsumed() const { return pending_; }

  Replies greeting;
  std::vector<ReceivedMessage> stored;  // what the fake spool accepted
  int store_requests = 0;
  int authentications = 0;  // SASL steps the session handed to the caller
  int spills = 0;                  // Need::spill served
  std::vector<std::size_t> heads;  // per stored message: octets the session kept in memory
  std::size_t max_memory = 0;      // most content memory seen at a spill or store

 private:
  void drain() {
    while (!pending_.empty() && session_.need() == ServerSession::Need::input) {
      const std::size_t used = session_.feed(pending_);
      pending_.erase(0, used);
      serve_need();
    }
    serve_need();
  }

  void serve_need() {
    if (session_.need() == ServerSession::Need::spill) spill();
    if (session_.need() == ServerSession::Need::store_message) store();
    if (session_.need() == ServerSession::Need::authenticate) {
      ++authentications;
      session_.authenticate();
    }
  }

  // The caller's spill file: started afresh for each message.
  void spill() {
    if (session_.spilled_size() == 0) spill_file_.clear();
    spill_file_ += session_.spill_bytes();
    ++spills;
    max_memory = std::max(max_memory, session_.content_memory());
    session_.spilled();
  }

  void store() {
    ++store_requests;
    ReceivedMessage message = session_.take_message();
    max_memory = std::max(max_memory, session_.content_memory());
    heads.push_back(message.content.size());
    if (message.spilled_size > 0) {
      EXPECT_EQ(message.spilled_size, spill_file_.size());
      message.content += spill_file_;  // the whole message, as the server stores it
      spill_file_.clear();
    }
    if (store_) {
      if (auto failure = store_(message)) {
        session_.message_failed(*failure);
        return;
      }
    }
    stored.push_back(std::move(message));
    session_.message_stored("Q" + std::to_string(stored.size()));
  }

  std::string take_output() {
    std::string out = std::move(session_.output());
    session_.output().clear();
    return out;
  }
  Replies collect() { return parse_replies(take_output()); }

  SessionOptions options_;
  LocalDomainsPolicy policy_;
  ServerSession session_;
  std::string pending_;
  std::string spill_file_;
  std::function<std::optional<Reply>(const ReceivedMessage&)> store_;
};

}  // namespace petrel::smtp::testing
