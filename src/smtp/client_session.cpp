// The connection phases of ClientSession: greeting, EHLO/HELO/LHLO,
// STARTTLS, AUTH, QUIT, failures. Transactions are in client_transaction.cpp.
#include "smtp/client_session.hpp"

#include <stdexcept>
#include <utility>

#include "smtp/client_commands.hpp"
#include "smtp/client_transaction.hpp"
#include "smtp/reply_codes.hpp"

namespace petrel::smtp {

ClientSession::ClientSession(ClientOptions options) : options_(std::move(options)) {
  pending_.push_back({Expect::greeting});
}

ClientSession::~ClientSession() = default;

std::size_t ClientSession::feed(std::string_view bytes) {
  std::size_t used = 0;
  while (used < bytes.size() && need_ == Need::input) {
    used += reader_.feed(bytes.substr(used));
    if (reader_.error() != ReplyReader::Error::none) {
      protocol_error(std::string(describe(reader_.error())));
    } else if (reader_.ready()) {
      on_reply(reader_.take());
      send_queued();
    }
    update_need();
  }
  return used;
}

void ClientSession::on_reply(const ServerReply& r) {
  log('<', r.str(), &r);
  if (pending_.empty()) {  // cannot happen while need() is input; kept safe
    protocol_error("reply to no command");
    return;
  }
  const Pending p = pending_.front();
  pending_.pop_front();
  if (p.expect == Expect::greeting) greeting_ = r;
  if (p.expect == Expect::quit) {
    done_ = true;  // whatever it says: the session is over
    return;
  }
  // RFC 5321 §3.8: 421 may answer any command; the server is closing.
  if (r.code == codes::k421ShuttingDown.code) {
    fail(r, false);
    return;
  }
  switch (p.expect) {
    case Expect::greeting: on_greeting(r); break;
    case Expect::hello: on_hello(r); break;
    case Expect::helo: on_helo(r); break;
    case Expect::starttls: on_starttls(r); break;
    case Expect::auth: on_auth(r); break;
    case Expect::mail: on_mail(r); break;
    case Expect::rcpt: on_rcpt(r, p.index); break;
    case Expect::data: on_data(r); break;
    case Expect::data_end: on_data_end(r, p.index); break;
    case Expect::bdat: on_bdat(r); break;
    case Expect::rset: on_rset(r); break;
    case Expect::quit: break;
  }
}

// RFC 5321 §3.1: a server that will not talk says 554 (or 421) at once;
// the client then sends QUIT (not after a 421: the server is gone).
void ClientSession::on_greeting(const ServerReply& r) {
  if (r.intermediate()) return protocol_error("greeting " + r.str());
  if (!r.positive()) return fail(r, true);
  const bool lmtp = options_.protocol == ClientProtocol::lmtp;
  send((lmtp ? "LHLO " : "EHLO ") + options_.helo_name + "\r\n", Expect::hello);
}

// RFC 5321 §3.2: a server that does not know EHLO answers 5xx, and HELO
// follows. RFC 2033 §4.1: LMTP has LHLO only.
void ClientSession::on_hello(const ServerReply& r) {
  if (r.positive()) {
    caps_ = parse_capabilities(r);
    return after_hello();
  }
  if (r.intermediate()) return protocol_error("EHLO answered " + r.str());
  if (r.permanent() && options_.protocol == ClientProtocol::smtp) {
    return send("HELO " + options_.helo_name + "\r\n", Expect::helo);
  }
  fail(r, true);
}

void ClientSession::on_helo(const ServerReply& r) {
  if (r.intermediate()) return protocol_error("HELO answered " + r.str());
  if (!r.positive()) return fail(r, true);
  caps_ = Capabilities{};
  if (!r.lines.empty()) caps_.server_name = r.lines.front().substr(0, r.lines.front().find(' '));
  after_hello();
}

// After each EHLO: STARTTLS by policy, then AUTH if configured, then ready.
void ClientSession::after_hello() {
  if (!encrypted_ && options_.tls != TlsPolicy::none && !starttls_refused_) {
    if (caps_.starttls) return send("STARTTLS\r\n", Expect::starttls);
    if (tls_required(options_.tls) || options_.requiretls) {
      const Status status = options_.requiretls ? codes::k550RequireTlsNoTls : codes::k454TlsRequired;
      return fail(ServerReply::made_here(status, "TLS is required, but the server does not offer STARTTLS"), true);
    }
  }
  if (options_.requiretls && !encrypted_) {
    return fail(ServerReply::made_here(codes::k550RequireTlsNoTls, "REQUIRETLS: the message cannot go in the clear"),
                true);
  }
  // RFC 8689 §4.2.1: the next hop must offer REQUIRETLS (in its EHLO after STARTTLS).
  if (options_.requiretls && !caps_.requiretls) {
    return fail(ServerReply::made_here(codes::k550RequireTlsNotOffered,
                                       "REQUIRETLS support required, but " +
                                           (caps_.server_name.empty() ? std::string("the server") : caps_.server_name) +
                                           " does not offer it"),
                true);
  }
  if (options_.credentials && !authenticated_) start_auth();
}

void ClientSession::on_starttls(const ServerReply& r) {
  if (r.code == codes::k220ReadyForTls.code) {
    tls_pending_ = true;
    return;
  }
  if (r.intermediate() || r.positive()) return protocol_error("STARTTLS answered " + r.str());
  if (tls_required(options_.tls)) return fail(r, true);
  starttls_refused_ = true;  // `may`: go on in the clear
  after_hello();
}

void ClientSession::tls_started() {
  if (done_) return;
  if (!tls_pending_) {
    if (!greeting_) encrypted_ = true;  // implicit TLS, before the greeting
    return;
  }
  tls_pending_ = false;
  encrypted_ = true;
  // RFC 3207 §4.2: forget what the server said in the clear, EHLO again.
  reader_ = ReplyReader{};
  caps_ = Capabilities{};
  const bool lmtp = options_.protocol == ClientProtocol::lmtp;
  send((lmtp ? "LHLO " : "EHLO ") + options_.helo_name + "\r\n", Expect::hello);
  send_queued();
  update_need();
}

void ClientSession::tls_failed(std::string_view reason) {
  if (done_) return;
  const Status status = options_.requiretls ? codes::k550RequireTlsNoTls : codes::k454TlsFailed;
  fail(ServerReply::made_here(status, "TLS handshake failed: " + std::string(reason)), false);
  update_need();
}

// PLAIN with an initial response (RFC 4616, RFC 4954 §4), else LOGIN.
// Credentials go in the clear only when the caller allows it.
void ClientSession::start_auth() {
  if (!encrypted_ && !options_.auth_in_clear) {
    return fail(ServerReply::made_here(codes::k454AuthNotPossible, "Not sending credentials over an unencrypted connection"),
                true);
  }
  const Credentials& c = *options_.credentials;
  auth_step_ = 0;
  if (caps_.offers_auth("PLAIN")) {
    auth_login_ = false;
    const std::string plain = std::string(1, '\0') + c.user + '\0' + c.password;
    return send("AUTH PLAIN " + base64_encode(plain) + "\r\n", Expect::auth, 0, "AUTH PLAIN <credentials>");
  }
  if (caps_.offers_auth("LOGIN")) {
    auth_login_ = true;
    return send("AUTH LOGIN\r\n", Expect::auth);
  }
  fail(ServerReply::made_here(codes::k454AuthNotPossible, caps_.auth.empty()
                                                              ? "The server offers no authentication"
                                                              : "The server offers neither AUTH PLAIN nor AUTH LOGIN"),
       true);
}

// A refused AUTH fails the connection, so the mail is deferred rather than
// bounced for what is a local configuration problem (as Postfix's
// smtp_sasl_auth_soft_bounce does).
void ClientSession::on_auth(const ServerReply& r) {
  if (r.code == codes::k235AuthSucceeded.code) {
    authenticated_ = true;
    return after_hello();
  }
  if (r.code == codes::k334AuthChallenge.code) {
    // LOGIN asks for the user name, then the password.
    if (!auth_login_ || auth_step_ >= 2) return protocol_error("unexpected AUTH challenge");
    const Credentials& c = *options_.credentials;
    ++auth_step_;
    return send(base64_encode(auth_step_ == 1 ? c.user : c.password) + "\r\n", Expect::auth, 0, "<credentials>");
  }
  if (r.intermediate() || r.positive()) return protocol_error("AUTH answered " + r.str());
  fail(r, true);
}

void ClientSession::quit() {
  if (done_ || quitting_) return;
  if (need_ != Need::next_message) throw std::logic_error("ClientSession::quit: not between messages");
  quitting_ = true;
  queued_.clear();
  send("QUIT\r\n", Expect::quit);
  send_queued();
  update_need();
}

void ClientSession::connection_lost(std::string_view reason) {
  if (done_) return;
  if (quitting_) {
    done_ = true;  // after QUIT a lost reply loses nothing
  } else {
    fail(ServerReply::made_here(codes::k421ConnectionLost, "Lost connection with the server: " + std::string(reason)),
         false);
  }
  update_need();
}

ClientSession::Awaiting ClientSession::awaiting() const {
  if (pending_.empty()) return Awaiting::nothing;
  switch (pending_.front().expect) {
    case Expect::greeting: return Awaiting::greeting;
    case Expect::mail: return Awaiting::mail;
    case Expect::rcpt: return Awaiting::rcpt;
    case Expect::data: return Awaiting::data_init;
    case Expect::data_end:
    case Expect::bdat: return Awaiting::data_end;
    default: return Awaiting::other;
  }
}

std::optional<MessageResult> ClientSession::take_results() {
  if (need_ == Need::input || need_ == Need::start_tls) return std::nullopt;
  return std::exchange(result_, std::nullopt);
}

void ClientSession::send(std::string line, Expect expect, std::size_t index, std::string_view logged) {
  queued_.push_back({std::move(line), {expect, index}, std::string(logged)});
}

// Without PIPELINING one command at a time; with it, what is queued is one
// group (RFC 2920 §3.1: EHLO, STARTTLS, AUTH, DATA, BDAT and QUIT end one,
// and are never queued with anything after them).
void ClientSession::send_queued() {
  while (!queued_.empty() && !done_ && (pending_.empty() || caps_.pipelining)) {
    Command c = std::move(queued_.front());
    queued_.pop_front();
    log('>', c.logged.empty() ? c.line.substr(0, c.line.size() - 2) : c.logged);
    output_ += c.line;
    pending_.push_back(c.pending);
  }
}

// Recipients whose outcome is not known yet are deferred with `reason`.
void ClientSession::fail(ServerReply reason, bool send_quit) {
  if (done_) return;
  if (transaction_) {
    Transaction& tx = *transaction_;
    for (std::size_t i = 0; i < tx.settled.size(); ++i) {
      if (!tx.settled[i]) tx.result.recipients[i] = {DeliveryOutcome::deferred, reason};
    }
    result_ = std::move(tx.result);
    transaction_.reset();
  }
  failure_ = std::move(reason);
  pending_.clear();
  queued_.clear();
  tls_pending_ = false;
  if (send_quit) {
    output_ += "QUIT\r\n";
    log('>', "QUIT");
  }
  done_ = true;
}

void ClientSession::protocol_error(std::string text) {
  fail(ServerReply::made_here(codes::k451ProtocolError, "Protocol error: " + std::move(text)), false);
}

void ClientSession::log(char direction, std::string line, const ServerReply* reply) {
  if (options_.watch) options_.watch(direction, line, reply);
  if (transcript_.size() == kTranscriptLines) transcript_.pop_front();
  transcript_.push_back(std::string(1, direction) + ' ' + std::move(line));
}

void ClientSession::update_need() {
  if (transaction_ && transaction_->finished && pending_.empty() && queued_.empty()) {
    result_ = std::move(transaction_->result);
    transaction_.reset();
  }
  if (done_) {
    need_ = Need::done;
  } else if (tls_pending_) {
    need_ = Need::start_tls;
  } else if (!pending_.empty() || !queued_.empty()) {
    need_ = Need::input;
  } else {
    need_ = Need::next_message;
  }
}

}  // namespace petrel::smtp
