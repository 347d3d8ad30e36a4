// The session's byte handling: assembling command lines, the DATA and BDAT
// phases, replies and closing. The command handlers are in session_commands.cpp.
#include "smtp/server_session.hpp"

#include <algorithm>

#include "smtp/command.hpp"
#include "smtp/reply_codes.hpp"

namespace petrel::smtp {
namespace {

// RFC 1869 §4.1.2 and RFC 3461 §5: each MAIL/RCPT parameter may lengthen the
// line; this covers SIZE, BODY, SMTPUTF8, RET, ENVID, NOTIFY and ORCPT together.
constexpr std::size_t kParameterAllowance = 1024;

}  // namespace

std::string TlsFacts::describe() const {
  return protocol + " with cipher " + cipher + " (" + std::to_string(bits) + "/" + std::to_string(bits) + " bits)";
}

ServerSession::ServerSession(const SessionOptions& options, EnvelopePolicy& policy, std::string client_address,
                             Authenticator* authenticator)
    : options_(options), policy_(policy), client_address_(std::move(client_address)), authenticator_(authenticator) {}

ServerSession::~ServerSession() = default;

void ServerSession::greet() {
  if (overridden(HookPoint::connect, "")) return;
  reply(codes::k220Greeting, options_.hostname + " ESMTP Petrel");
}

bool ServerSession::overridden(HookPoint point, std::string_view argument) {
  if (hook_ == nullptr) return false;
  HookOverride o = hook_->at(point, argument, *this);
  reply_delay_ += o.delay;
  if (o.close) {
    phase_ = Phase::closed;
    need_ = Need::close;
    stats_.close_reason = std::move(o.close_reason);
    return true;
  }
  if (!o.reply) return false;
  if (o.reply->status.positive()) {
    success_override_ = std::move(o.reply);
    return false;
  }
  reply(*o.reply);
  // RFC 5321 §3.8: a 421 closes; a refused greeting leaves nothing to say.
  if (o.reply->code() == 421 || point == HookPoint::connect) {
    phase_ = Phase::closed;
    need_ = Need::close;
    stats_.close_reason = std::move(o.close_reason);
  }
  return true;
}

bool ServerSession::bdat_overridden(std::string_view argument) {
  if (hook_ == nullptr) return false;
  HookOverride o = hook_->at(HookPoint::bdat, argument, *this);
  reply_delay_ += o.delay;
  if (o.close || (o.reply && o.reply->code() == 421)) {
    // The connection ends: the chunk is not read.
    if (o.reply) reply(*o.reply);
    bdat_remaining_ = 0;
    phase_ = Phase::closed;
    need_ = Need::close;
    stats_.close_reason = std::move(o.close_reason);
    return true;
  }
  if (o.reply && o.reply->status.positive()) {
    success_override_ = std::move(o.reply);
  } else if (o.reply) {
    bdat_failure_ = std::move(o.reply);  // sent after the chunk
  }
  return false;
}

void ServerSession::refuse(const Reply& r) {
  reply(r);
  phase_ = Phase::closed;
  need_ = Need::close;
  stats_.close_reason = "refused";
}

void ServerSession::tls_started(TlsFacts facts) {
  // RFC 3207 §4.2: forget everything learnt before the handshake, EHLO
  // included; no new greeting is sent.
  tls_ = std::move(facts);
  reset_transaction();
  sasl_.reset();
  auth_user_.clear();
  helo_name_.clear();
  esmtp_ = false;
  line_.clear();
  discarding_line_ = false;
  discarded_ = 0;
  if (phase_ != Phase::closed) {
    phase_ = Phase::greeting;
    need_ = Need::input;
  }
}

void ServerSession::reply(const Reply& r) {
  if (success_override_) {
    const Reply instead = std::move(*success_override_);
    success_override_.reset();
    if (r.code() >= 200 && r.code() < 300) return instead.append_wire(output_, enhanced_codes());
  }
  r.append_wire(output_, enhanced_codes());
}

// RFC 2034 §3: enhanced status codes are for a client that was offered
// them; petreld always offers them, a server with a chosen offer (petrel
// catch --offer) may not.
bool ServerSession::enhanced_codes() const {
  if (!options_.ehlo_offer) return true;
  const auto& offer = *options_.ehlo_offer;
  return std::find(offer.begin(), offer.end(), "ENHANCEDSTATUSCODES") != offer.end();
}

void ServerSession::reply(Status s, std::string text) { reply(Reply(s, std::move(text))); }

void ServerSession::error_reply(Status s, std::string text) {
  ++stats_.errors;
  if (stats_.errors >= options_.limits.max_errors) {
    reply(s, std::move(text));
    close_with(codes::k421TooManyErrors, options_.hostname + " Too many errors, closing connection",
               "too many errors");
    return;
  }
  reply(s, std::move(text));
}

void ServerSession::close_with(Status s, std::string text, std::string reason) {
  reply(s, std::move(text));
  phase_ = Phase::closed;
  need_ = Need::close;
  stats_.close_reason = std::move(reason);
}

void ServerSession::timed_out() {
  if (phase_ == Phase::closed) return;
  close_with(codes::k421Timeout, options_.hostname + " Timeout exceeded, closing connection", "timeout");
}

void ServerSession::connection_lost(std::string_view reason) {
  if (phase_ == Phase::closed) return;
  phase_ = Phase::closed;
  need_ = Need::close;
  stats_.close_reason = std::string(reason);
}

std::chrono::milliseconds ServerSession::read_timeout() const {
  return (phase_ == Phase::data || phase_ == Phase::bdat) ? options_.limits.data_timeout
                                                          : options_.limits.command_timeout;
}

void ServerSession::reset_transaction() {
  envelope_ = Envelope{};
  recipients_refused_ = 0;
  content_.clear();
  content_.shrink_to_fit();
  dot_reader_.reset();
  line_checker_.reset();
  spilled_ = 0;
  head_size_ = 0;
  complete_after_spill_ = false;
  content_failure_.reset();
  bdat_in_progress_ = false;
  bdat_failure_.reset();
  if (phase_ != Phase::greeting && phase_ != Phase::closed) phase_ = Phase::ready;
}

std::string ServerSession::protocol_name() const {
  // RFC 3848 / RFC 6531 §3.7.3 "with" protocol types: S for TLS, A for AUTH.
  std::string name = envelope_.params.smtputf8 ? "UTF8SMTP" : esmtp_ ? "ESMTP" : "SMTP";
  if (tls_) name += 'S';
  if (!auth_user_.empty()) name += 'A';
  return name;
}

std::size_t ServerSession::feed(std::string_view bytes) {
  std::size_t pos = 0;
  while (pos < bytes.size() && need_ == Need::input) {
    std::string_view rest = bytes.substr(pos);
    switch (phase_) {
      case Phase::data: pos += feed_data(rest); break;
      case Phase::bdat: pos += feed_bdat(rest); break;
      case Phase::closed: return bytes.size();
      default: pos += feed_command_bytes(rest); break;
    }
  }
  // CVE-2011-0411: whatever the client pipelined after STARTTLS came in the
  // clear and must not be executed inside the TLS session.
  if (need_ == Need::start_tls) return bytes.size();
  return pos;
}

std::size_t ServerSession::feed_command_bytes(std::string_view bytes) {
  const std::size_t hard_limit =
      phase_ == Phase::auth ? options_.max_auth_line : options_.limits.max_command_line + kParameterAllowance;
  const auto newline = bytes.find('\n');
  const std::string_view chunk = newline == std::string_view::npos ? bytes : bytes.substr(0, newline + 1);

  // The octets of an overlong line past hard_limit are skipped and only
  // counted, never kept. Each hard_limit of them costs one error, however
  // the line is split into reads, so an endless line ends at max_errors
  // instead of never, and the same bytes always get the same replies.
  const auto skip = [&](std::uint64_t octets) {
    discarded_ += octets;
    while (discarded_ > hard_limit && need_ == Need::input) {
      discarded_ -= hard_limit;
      ++stats_.errors;
      if (stats_.errors >= options_.limits.max_errors) {
        close_with(codes::k421TooManyErrors, options_.hostname + " Too many errors, closing connection",
                   "too many errors");
      }
    }
    discarding_line_ = newline == std::string_view::npos;
    if (!discarding_line_) discarded_ = 0;
    return chunk.size();
  };
  if (discarding_line_) return skip(chunk.size());

  if (line_.size() + chunk.size() > hard_limit) {
    const std::size_t excess = line_.size() + chunk.size() - hard_limit;
    line_.clear();
    discarded_ = 0;
    error_reply(codes::k500LineTooLong, "Line too long");
    return skip(excess);
  }
  if (newline == std::string_view::npos) {
    line_.append(chunk);
    return chunk.size();
  }

  // A whole line: use it in place when nothing was buffered before it.
  std::string_view line = chunk;
  if (!line_.empty()) {
    line_.append(chunk);
    line = line_;
  }
  line.remove_suffix(1);                                   // LF
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CR (a bare LF is tolerated in commands)
  if (phase_ == Phase::auth) {
    auth_response(line);
  } else {
    on_command(line);
  }
  line_.clear();
  return chunk.size();
}

void ServerSession::message_stored(std::string_view queue_id) {
  ++stats_.messages_accepted;
  reply(codes::k250Queued, "Ok: queued as " + std::string(queue_id));
  need_ = Need::input;
  reset_transaction();
}

void ServerSession::message_failed(const Reply& r) {
  ++stats_.messages_rejected;
  need_ = Need::input;
  reset_transaction();
  if (r.code() == 421) {
    close_with(r.status, r.lines.front(), "storage failure");
    return;
  }
  reply(r);
}

}  // namespace petrel::smtp
