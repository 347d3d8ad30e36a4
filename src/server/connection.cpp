// The I/O around one smtp::ServerSession: read with a timeout, feed the
// session, write its replies, switch to TLS when it asks, and store
// finished messages in the spool before the session may say 250.
#include "server/connection.hpp"

#include <array>
#include <chrono>
#include <cstring>
#include <optional>
#include <ctime>

#include <unistd.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "auth_checks/checker.hpp"
#include "authres/authres.hpp"
#include "dkim/signer.hpp"
#include "events/mail_events.hpp"
#include "events/outbox.hpp"
#include "metrics/petrel_metrics.hpp"
#include "server/client_stream.hpp"
#include "server/odmr_relay.hpp"
#include "server/proxy_header_reader.hpp"
#include "server/spill_file.hpp"
#include "spool/body_files.hpp"
#include "smtp/received_header.hpp"
#include "smtp/reply_codes.hpp"
#include "smtp/server_session.hpp"
#include "smtp/bulk_headers.hpp"
#include "smtp/header_field.hpp"
#include "smtp/submission_headers.hpp"
#include "tls/server_tls.hpp"
#include "util/async_callback.hpp"

namespace petrel::server {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// An idle session keeps a small read buffer; one receiving a message gets a
// large one for as long as the message lasts, so thousands of idle sessions
// cost little and a 50 MiB message is not read 4 KiB at a time.
constexpr std::size_t kCommandBufferSize = 4 * 1024;
constexpr std::size_t kMessageBufferSize = 64 * 1024;
// A client that does not answer close_notify is not waited for long.
constexpr std::chrono::milliseconds kTlsShutdownTimeout{2000};

// Completes with the spool's verdict on the caller's executor. Records
// (the reception's event for the webhook outbox) go in the same commit.
template <typename Token>
auto async_store(spool::Spool& spool, const std::shared_ptr<const spool::SpooledMessage>& message,
                 std::vector<spool::Spool::Record> records, Token&& token) {
  auto start = [&spool, message, records = std::move(records)](std::function<void(std::error_code)> done) mutable {
    if (records.empty()) {
      spool.store(message, std::move(done));
    } else {
      spool.store_group({message}, std::move(records), std::move(done));
    }
  };
  return util::async_callback<std::error_code>(std::move(start), std::forward<Token>(token));
}

// Completes when the sink has recorded what the message means.
template <typename Token>
auto async_consume(const ServerExtras& extras, const smtp::Address& rcpt, const std::string& content, Token&& token) {
  auto start = [&extras, &rcpt, &content](std::function<void(std::error_code)> done) {
    extras.sink_consume(rcpt, content, std::move(done));
  };
  return util::async_callback<std::error_code>(std::move(start), std::forward<Token>(token));
}

// Completes with the inbound checks' verdict; `input` must outlive it.
template <typename Token>
auto async_check(auth_checks::Checker& checker, const auth_checks::Input& input, Token&& token) {
  auto start = [&checker, &input](std::function<void(auth_checks::Verdict)> done) {
    checker.check(input, std::move(done));
  };
  return util::async_callback<auth_checks::Verdict>(std::move(start), std::forward<Token>(token));
}

// A big message's tail, read from its spill file for a check over the whole
// body. Throws std::system_error when the file cannot be read.
dkim::BodyRest tail_of(const spool::SpooledMessage& message) {
  if (message.spill_file.empty()) return {};
  return [path = message.spill_file](const std::function<void(std::string_view)>& piece) {
    spool::read_pieces(path, piece);
  };
}

// Our mail (submitted, or relayed for a trusted network) is signed for its
// From: domain, after every change the server makes to it.
void sign(spool::SpooledMessage& message, const std::vector<dkim::DomainKey>& keys) {
  if (keys.empty()) return;
  try {
    message.content.insert(0, dkim::sign_all(keys, message.content, std::time(nullptr), tail_of(message)));
  } catch (const std::exception& e) {  // a key that cannot sign: logged, the mail goes unsigned
    spdlog::error("dkim: cannot sign qid={}: {}", message.id.value, e.what());
  }
}

std::string join_recipients(const smtp::Envelope& envelope) {
  std::string out;
  for (const auto& r : envelope.recipients) {
    if (!out.empty()) out += ',';
    out += '<' + r.forward_path.str() + '>';
  }
  return out;
}

std::shared_ptr<spool::SpooledMessage> prepare(smtp::ReceivedMessage received, const config::Config& config,
                                               bool complete_headers, bool trusted_client) {
  auto message = std::make_shared<spool::SpooledMessage>();
  if (trusted_client) {
    // Campaign and tenant are the sender's word only when we know the sender.
    auto bulk = smtp::take_bulk_fields(received.content, config.bulk.campaign_header, config.bulk.tenant_header);
    received.envelope.campaign = std::move(bulk.campaign);
    received.envelope.tenant = std::move(bulk.tenant);
  }
  message->id = spool::make_queue_id();
  message->arrival_unix_seconds = std::time(nullptr);
  const auto now = static_cast<std::time_t>(message->arrival_unix_seconds);
  std::string trace = smtp::received_header(received.envelope, config.hostname, message->id.value, now);
  if (complete_headers) {
    trace += smtp::missing_submission_headers(received.content, config.hostname, message->id.value, now);
  }
  message->content.reserve(trace.size() + received.content.size());
  message->content = trace;
  message->content += received.content;
  message->tail_size = received.spilled_size;
  message->envelope = std::move(received.envelope);
  return message;
}


class Connection {
 public:
  Connection(std::shared_ptr<ClientStream> stream, SessionContext& context, const Listener& listener,
             const ClientAddress& client, auth_checks::Checker* checker)
      : stream_(std::move(stream)),
        context_(context),
        listener_(listener),
        checker_(checker),
        session_(listener.options, context.policy, client.ip, context.authenticator),
        spill_(context.spool.spill_directory()),
        peer_(client.peer()),
        via_(client.via),
        sessions_(metrics::sessions().with({listener.address})),
        received_(metrics::messages_received().with({listener.address})) {
    sessions_.add(1);
  }
  ~Connection() {
    context_.body_budget.resize(memory_held_, 0);
    sessions_.sub(1);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // refusal: a reply (421) to send instead of the greeting.
  asio::awaitable<void> run(std::optional<smtp::Reply> refusal) {
    session_.set_trusted_network(context_.trusted(session_.client_address()));
    if (listener_.implicit_tls()) {
      const bool secured = co_await start_tls();
      if (!secured) co_return;
    }
    if (refusal) {
      session_.refuse(*refusal);
    } else {
      session_.greet();
    }
    co_await serve();
  }

  void log_session(std::chrono::steady_clock::duration elapsed) const {
    const auto& s = session_.stats();
    const auto& tls = session_.tls();
    spdlog::info("session client={} port={} helo={} tls={} auth={} messages={} rejected={} recipients={} errors={} "
                 "result=\"{}\" duration={:.3f}s{}",
                 peer_, listener_kind_name(listener_.kind), session_.helo_name().empty() ? "-" : session_.helo_name(),
                 tls ? tls->protocol + "/" + tls->cipher : "no",
                 session_.auth_user().empty() ? "-" : session_.auth_user(), s.messages_accepted, s.messages_rejected,
                 s.recipients_accepted, s.errors, s.close_reason, std::chrono::duration<double>(elapsed).count(),
                 via_.empty() ? "" : " via=" + via_);
  }

 private:
  using Need = smtp::ServerSession::Need;

  asio::awaitable<void> serve() {
    for (;;) {
      feed_buffered();
      if (session_.need() == Need::spill) {
        spill();
        continue;
      }
      if (session_.need() == Need::store_message) {
        co_await store_message();
        continue;
      }
      if (session_.need() == Need::authenticate) {
        co_await authenticate();
        continue;
      }
      if (session_.need() == Need::atrn) {
        co_await look_for_mail();
        continue;
      }
      if (const auto delay = session_.take_reply_delay(); delay.count() > 0) co_await stream_->pause(delay);
      if (session_.need() == Need::start_tls) {
        const bool flushed = co_await flush();
        if (!flushed) co_return;
        buffered_ = 0;  // the session took (and dropped) what was pipelined in the clear
        const bool secured = co_await start_tls();
        if (!secured) co_return;
        continue;
      }
      // GCC 12 miscompiles co_await inside a condition: await into locals.
      const bool flushed = co_await flush();
      if (!flushed) co_return;
      if (session_.need() == Need::close) {
        co_await stream_->shutdown_tls(kTlsShutdownTimeout);
        co_return;
      }
      if (session_.need() == Need::reversed) {
        co_await relay();
        co_await stream_->shutdown_tls(kTlsShutdownTimeout);
        co_return;
      }
      const bool got_input = co_await read_more();
      if (!got_input) {
        const bool flushed = co_await flush();
        // After the client's close_notify (or our 421), answer in kind, so the
        // TLS session stays resumable; a truncated one is dropped as it must be.
        if (flushed && orderly_end_) co_await stream_->shutdown_tls(kTlsShutdownTimeout);
        co_return;
      }
    }
  }

  void feed_buffered() {
    while (buffered_ > 0 && session_.need() == Need::input) {
      const std::size_t used = session_.feed(std::string_view(buffer_.get(), buffered_));
      if (used == 0) break;
      std::memmove(buffer_.get(), buffer_.get() + used, buffered_ - used);
      buffered_ -= used;
    }
    account_memory();
  }

  // The session's message content counts against body_memory_budget; a
  // message that would pass it is dropped and refused with 452 4.3.1.
  void account_memory() {
    if (context_.body_budget.resize(memory_held_, session_.content_memory())) return;
    spdlog::warn("message client={} result=refused reason=\"body_memory_budget of {} octets in use\"", peer_,
                 context_.body_budget.limit());
    session_.discard_message(smtp::Reply(smtp::codes::k452StorageFull, "Insufficient system storage, try again later"));
    context_.body_budget.resize(memory_held_, session_.content_memory());
  }

  // A big message past its head goes to a file as it arrives.
  void spill() {
    const std::error_code ec = spill_.append(session_.spill_bytes(), session_.spilled_size() == 0);
    if (!ec) {
      session_.spilled();
      account_memory();
      return;
    }
    spdlog::error("message client={} result=not-stored error=\"spill file: {}\"", peer_, ec.message());
    const bool full = ec == std::errc::no_space_on_device;
    session_.discard_message(full ? smtp::Reply(smtp::codes::k452StorageFull, "Insufficient system storage")
                                  : smtp::Reply(smtp::codes::k451LocalError, "Local error in processing, try again later"));
  }

  void size_buffer() {
    const std::size_t want = session_.receiving_message() ? kMessageBufferSize : kCommandBufferSize;
    if (buffer_size_ == want || buffered_ > want) return;
    auto resized = std::make_unique<char[]>(want);
    if (buffered_ > 0) std::memcpy(resized.get(), buffer_.get(), buffered_);  // the first buffer is null
    buffer_ = std::move(resized);
    buffer_size_ = want;
  }

  // The command timeout bounds the whole line, not each read of it: a client
  // dripping one byte at a time would otherwise hold a session for ever
  // (slowloris). DATA keeps its per-read timeout (RFC 5321 §4.5.3.2.5).
  std::chrono::milliseconds next_read_timeout() {
    if (!session_.receiving_command()) {
      command_deadline_.reset();
      return session_.read_timeout();
    }
    const auto now = std::chrono::steady_clock::now();
    if (!command_deadline_) command_deadline_ = now + context_.config.session.limits.command_timeout;
    return std::max(std::chrono::milliseconds(0),
                    std::chrono::duration_cast<std::chrono::milliseconds>(*command_deadline_ - now));
  }

  // The session is not touched by anything else while the pool runs the
  // step: this coroutine waits for it.
  asio::awaitable<void> authenticate() {
    if (context_.auth_pool == nullptr) {
      session_.authenticate();
      co_return;
    }
    co_await asio::co_spawn(
        *context_.auth_pool,
        [this]() -> asio::awaitable<void> {
          session_.authenticate();
          co_return;
        },
        asio::use_awaitable);
  }

  // ATRN (RFC 2645): a first batch of the mail waiting, claimed for this
  // session; 453 when there is none.
  asio::awaitable<void> look_for_mail() {
    claims_ = co_await claim_odmr(context_.queue, context_.auth_pool, session_.atrn_domains(),
                                  context_.config.odmr.claim_batch);
    if (claims_.empty()) {
      spdlog::info("odmr client={} user={} result=\"no mail\"", peer_, session_.auth_user());
      session_.atrn_no_mail();
    } else {
      session_.atrn_accepted();
    }
  }

  // The roles reversed: this connection's customer is now the server.
  asio::awaitable<void> relay() {
    OdmrRelayContext relay{*stream_, context_.queue, context_.auth_pool, context_.config.hostname, peer_,
                           session_.auth_user(), session_.tls() ? session_.tls()->describe() : std::string(),
                           session_.atrn_domains(), context_.config.odmr.claim_batch,
                           context_.config.odmr.reply_timeout};
    std::string leftover(buffer_.get(), buffered_);
    buffered_ = 0;
    co_await relay_on_demand(std::move(relay), std::move(claims_), std::move(leftover));
  }

  // A failed handshake ends this session only: a log line, no reply (there
  // is no channel to send one on).
  asio::awaitable<bool> start_tls() {
    if (context_.tls == nullptr) {
      session_.connection_lost("TLS requested without a certificate");
      co_return false;
    }
    boost::system::error_code ec;
    co_await stream_->handshake(context_.tls->context(), context_.config.tls.handshake_timeout, ec);
    if (ec) {
      const std::string reason = stream_->timed_out() ? "TLS handshake timeout" : "TLS handshake failed: " + ec.message();
      spdlog::warn("tls client={} port={} result=failed reason=\"{}\"", peer_, listener_kind_name(listener_.kind), reason);
      session_.connection_lost(reason);
      co_return false;
    }
    const tls::TlsInfo info = tls::describe(stream_->tls_session());
    session_.tls_started({info.protocol, info.cipher, info.bits});
    co_return true;
  }

  asio::awaitable<bool> read_more() {
    size_buffer();
    boost::system::error_code ec;
    const std::size_t n = co_await stream_->read_some(asio::buffer(buffer_.get() + buffered_, buffer_size_ - buffered_),
                                                      next_read_timeout(), ec);
    if (stream_->timed_out()) {
      session_.timed_out();
      orderly_end_ = true;
      co_return false;
    }
    if (ec) {
      orderly_end_ = ec == asio::error::eof;
      session_.connection_lost(orderly_end_ ? "client closed" : "read error: " + ec.message());
      co_return false;
    }
    buffered_ += n;
    co_return true;
  }

  // A client that does not read its replies is cut off after the command timeout.
  asio::awaitable<bool> flush() {
    std::string& out = session_.output();
    if (out.empty()) co_return true;
    boost::system::error_code ec;
    co_await stream_->write(asio::buffer(out), context_.config.session.limits.command_timeout, ec);
    out.clear();
    if (ec) {
      session_.connection_lost(stream_->timed_out() ? "write timeout" : "write error: " + ec.message());
      co_return false;
    }
    co_return true;
  }

  asio::awaitable<void> store_message() {
    namespace codes = smtp::codes;
    co_await flush();  // replies to earlier chunks or commands go out while the disk works
    const bool complete_headers =
        listener_.kind != ListenerKind::smtp && context_.config.submission.add_missing_headers;
    const bool trusted_client = context_.trusted(session_.client_address()) || !session_.auth_user().empty();
    smtp::ReceivedMessage received = session_.take_message();
    // A spilled message's file is this message's now (the spool renames it
    // when it stores it); deleted here if it is not stored.
    const std::string spill_path = received.spilled_size > 0 ? spill_.release() : std::string();
    const bool stored = co_await check_and_store(std::move(received), spill_path, complete_headers, trusted_client);
    if (!stored && !spill_path.empty()) ::unlink(spill_path.c_str());
  }

  asio::awaitable<bool> check_and_store(smtp::ReceivedMessage received, const std::string& spill_path,
                                        bool complete_headers, bool trusted_client) {
    namespace codes = smtp::codes;
    std::string auth_summary;
    if (checker_ && !trusted_client) {
      auto summary = co_await check_authentication(received, spill_path);
      if (!summary) co_return false;
      auth_summary = " auth=\"" + *summary + "\"";
    }
    auto message = prepare(std::move(received), context_.config, complete_headers, trusted_client);
    message->spill_file = spill_path;
    if (trusted_client && context_.extras.dkim_keys) sign(*message, *context_.extras.dkim_keys);
    if (!co_await consume_sink_recipients(*message)) co_return false;
    if (message->envelope.recipients.empty()) {  // all were the server's own
      session_.message_stored(message->id.value);
      co_return false;
    }
    std::optional<events::Event> reception;
    std::vector<spool::Spool::Record> records;
    if (events::wanted()) {
      reception = events::reception(*message, listener_.address, session_.client_address());
      records = events::outbox_records({*reception});
    }
    const std::error_code ec = co_await async_store(context_.spool, message, std::move(records), asio::use_awaitable);
    const auto size = message->content.size() + message->tail_size;
    if (!ec) {
      message->spill_file.clear();  // the spool's now
      context_.queue.submit(message);
      session_.message_stored(message->id.value);
      received_.inc();
      if (reception) events::emit(*reception);
      spdlog::info("message qid={} client={} from={} to={} size={}{}{}{} result=queued", message->id.value, peer_,
                   message->envelope.reverse_path.str(), join_recipients(message->envelope), size,
                   message->envelope.campaign.empty() ? "" : " campaign=" + message->envelope.campaign,
                   message->envelope.tenant.empty() ? "" : " tenant=" + message->envelope.tenant, auth_summary);
      co_return true;
    }
    spdlog::error("message client={} from={} size={} result=not-stored error=\"{}\"", peer_,
                  message->envelope.reverse_path.str(), size, ec.message());
    if (ec == std::errc::no_space_on_device) {
      session_.message_failed(smtp::Reply(codes::k452StorageFull, "Insufficient system storage"));
    } else {
      session_.message_failed(smtp::Reply(codes::k451LocalError, "Local error in processing, try again later"));
    }
    co_return false;
  }

  // SPF, DKIM, DMARC and ARC (docs/auth-checks.md), judged on the message
  // as it came; then the Authentication-Results field goes on top, after
  // any that claimed our name was removed (RFC 8601 §5). The log's summary
  // of the results, or nullopt (and a 550) when the message is refused.
  asio::awaitable<std::optional<std::string>> check_authentication(smtp::ReceivedMessage& received,
                                                                  const std::string& spill_path) {
    const auto& path = received.envelope.reverse_path;
    auth_checks::Input input{session_.client_address(), session_.helo_name(),
                             path.is_null() ? std::string() : path.mailbox->str(), received.content,
                             static_cast<std::int64_t>(std::time(nullptr)), {}};
    if (!spill_path.empty()) input.body_rest = verification_tail(spill_path);
    const auth_checks::Verdict verdict = co_await async_check(*checker_, input, asio::use_awaitable);
    count(verdict);
    if (verdict.action == auth_checks::Action::reject) {
      spdlog::info("message client={} from={} to={} size={} auth=\"{}\" result=refused reply=\"{}\"", peer_,
                   path.str(), join_recipients(received.envelope), received.content.size() + received.spilled_size, verdict.summary,
                   verdict.reply->lines.front());
      session_.message_failed(*verdict.reply);
      co_return std::nullopt;
    }
    const bool quarantine = verdict.action == auth_checks::Action::quarantine;
    authres::remove_forged(received.content, context_.config.hostname);
    smtp::remove_fields(received.content, [](std::string_view f) { return smtp::is_field(f, "X-Spam-Flag"); });
    received.content.insert(0, verdict.header + (quarantine ? "X-Spam-Flag: YES\r\n" : ""));
    co_return quarantine ? verdict.summary + " quarantined" : verdict.summary;
  }

  static void count(const auth_checks::Verdict& verdict) {
    for (const auto& [method, result] : verdict.results) metrics::auth_results().with({method, result}).inc();
    if (!verdict.refused_by.empty()) metrics::auth_refused().with({verdict.refused_by}).inc();
  }

  // Recipients the server consumes itself (unsubscribe+TOKEN@, complaints)
  // are handed to the sink and leave the envelope; false (and a 451) when
  // the sink could not record one.
  asio::awaitable<bool> consume_sink_recipients(spool::SpooledMessage& message) {
    if (!context_.extras.sink_consume) co_return true;
    std::vector<smtp::Recipient> kept;
    for (const auto& r : message.envelope.recipients) {
      if (!context_.policy.is_sink(r.forward_path)) {
        kept.push_back(r);
        continue;
      }
      const std::error_code ec = co_await async_consume(context_.extras, r.forward_path, message.content, asio::use_awaitable);
      spdlog::info("message qid={} client={} from={} to=<{}> size={} result={}", message.id.value, peer_,
                   message.envelope.reverse_path.str(), r.forward_path.str(), message.content.size(),
                   ec ? "not-stored error=\"" + ec.message() + "\"" : std::string("consumed"));
      if (ec) {
        session_.message_failed(smtp::Reply(smtp::codes::k451LocalError, "Local error in processing, try again later"));
        co_return false;
      }
    }
    message.envelope.recipients = std::move(kept);
    co_return true;
  }

  // A tail whose file cannot be read reads as cut short: the body hash
  // then fails, which is what a damaged message deserves.
  static dkim::BodyRest verification_tail(const std::string& path) {
    return [path](const std::function<void(std::string_view)>& piece) {
      try {
        spool::read_pieces(path, piece);
      } catch (const std::exception& e) {
        spdlog::error("auth checks: {}", e.what());
      }
    };
  }

  std::shared_ptr<ClientStream> stream_;
  SessionContext& context_;
  const Listener& listener_;
  auth_checks::Checker* checker_;  // null: no inbound checks
  smtp::ServerSession session_;
  SpillFile spill_;
  std::uint64_t memory_held_ = 0;  // this session's share of body_memory_budget
  std::string peer_;
  std::string via_;  // the balancer, when a PROXY header named the client
  metrics::Gauge& sessions_;
  metrics::Counter& received_;
  bool orderly_end_ = false;  // the client closed cleanly, or timed out
  std::optional<std::chrono::steady_clock::time_point> command_deadline_;  // while a line is incomplete
  std::unique_ptr<char[]> buffer_;  // sized by size_buffer()
  std::size_t buffer_size_ = 0;
  std::size_t buffered_ = 0;
  std::vector<queue::OdmrClaim> claims_;  // ATRN's first batch, until the roles reverse
};

}  // namespace

const char* listener_kind_name(ListenerKind kind) {
  switch (kind) {
    case ListenerKind::submission: return "submission";
    case ListenerKind::smtps: return "smtps";
    case ListenerKind::odmr: return "odmr";
    case ListenerKind::odmrs: return "odmrs";
    default: return "smtp";
  }
}

bool SessionContext::trusted(std::string_view ip) const {
  return std::any_of(trusted_networks.begin(), trusted_networks.end(),
                     [&](const util::Cidr& net) { return net.contains(ip); });
}

namespace {

// Refuses a connection that cannot have a session before a word is said
// to it: a log line, a count, and the socket closed.
void close_unheard(ClientStream& stream, const Listener& listener, const ClientAddress& client,
                   std::string_view reason) {
  spdlog::info("session client={} port={} result=refused reason={} duration=0.000s", client.peer(),
               listener_kind_name(listener.kind), reason);
  stream.close();
}

// The admission checks of an accepted connection: limits on sessions and
// on the connection rate, by the client's address. `reserved`: a PROXY
// listener's connection already holds one of max_sessions.
struct Admission {
  ConnectionLimiter::Verdict verdict = ConnectionLimiter::Verdict::admitted;
  std::optional<smtp::Reply> refusal;  // 421 instead of the greeting
  const char* reason = "";
};

Admission admit(SessionContext& context, const std::string& ip, const std::string& client, bool reserved) {
  namespace codes = smtp::codes;
  Admission a;
  a.verdict = reserved ? context.limiter.claim(client) : context.limiter.acquire(client);
  if (a.verdict == ConnectionLimiter::Verdict::too_many_from_ip) {
    a.refusal = smtp::Reply(codes::k421TooManyConnections, context.config.hostname + " Too many connections from your address");
    a.reason = "per_ip";
  } else if (a.verdict == ConnectionLimiter::Verdict::too_many_total) {
    a.refusal = smtp::Reply(codes::k421TooManyConnections, context.config.hostname + " Too many connections, try again later");
    a.reason = "sessions";
  } else if (!context.trusted(ip) && !context.connection_rate.admit(client)) {
    a.refusal = smtp::Reply(codes::k421ConnectionRateExceeded,
                            context.config.hostname + " Connection rate limit exceeded, try again later");
    a.reason = "rate";
  }
  return a;
}

// A PROXY listener's connection: the balancer's header names the client,
// which replaces the socket's peer (kept as `via`). False when the
// connection was closed instead (no header, a bad one, an untrusted peer).
asio::awaitable<bool> take_proxy_header(ClientStream& stream, SessionContext& context, const Listener& listener,
                                        ClientAddress& client) {
  std::string error;
  if (!context.may_send_proxy_header(client.ip)) {
    error = "untrusted_peer";
  } else {
    const ProxyHeaderOutcome outcome = co_await read_proxy_header(stream, context.config.proxy.header_timeout);
    if (outcome.header) {
      client.via = client.peer();
      if (outcome.header->source) {
        client.ip = outcome.header->source->address;
        client.port = outcome.header->source->port;
      }
      co_return true;
    }
    error = outcome.error;
  }
  metrics::proxy_header_errors().with({listener.address, error}).inc();
  // A peer that connects and leaves unheard is a port probe, not an attack.
  spdlog::log(error == "closed" ? spdlog::level::info : spdlog::level::warn,
              "proxy client={} port={} result=refused reason={}", client.peer(), listener_kind_name(listener.kind), error);
  stream.close();
  co_return false;
}

}  // namespace

std::string ClientAddress::peer() const {
  const bool v6 = ip.find(':') != std::string::npos;
  return (v6 ? "[" + ip + "]:" : ip + ":") + std::to_string(port);
}

bool SessionContext::may_send_proxy_header(std::string_view ip) const {
  return proxy_trusted.empty() || std::any_of(proxy_trusted.begin(), proxy_trusted.end(),
                                              [&](const util::Cidr& net) { return net.contains(ip); });
}

asio::awaitable<void> run_connection(tcp::socket socket, SessionContext& context, const Listener& listener,
                                     auth_checks::Checker* checker) {
  const auto started = std::chrono::steady_clock::now();
  boost::system::error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  if (ec) co_return;  // the client is already gone
  socket.set_option(tcp::no_delay(true), ec);
  ClientAddress client{endpoint.address().to_string(), endpoint.port(), {}};
  auto stream = std::make_shared<ClientStream>(std::move(socket));
  bool reserved = false;
  if (listener.proxy_protocol) {
    // Who the client is comes with the header; until then the connection
    // holds one of max_sessions, so that headerless peers cannot pile up.
    reserved = context.limiter.reserve();
    if (!reserved) {
      metrics::connections_refused().with({listener.address, "sessions"}).inc();
      close_unheard(*stream, listener, client, "sessions");
      co_return;
    }
    const bool named = co_await take_proxy_header(*stream, context, listener, client);
    if (!named) {
      context.limiter.cancel();
      co_return;
    }
  }
  // Per-IP limits count an IPv6 client by its network (ipv6_client_prefix).
  const std::string network = util::client_network(client.ip, context.config.ipv6_client_prefix);
  const Admission admission = admit(context, client.ip, network, reserved);
  if (admission.refusal) metrics::connections_refused().with({listener.address, admission.reason}).inc();
  if (admission.refusal && listener.implicit_tls()) {
    // A 421 could only be sent after a TLS handshake, which is what an
    // over-limit client must not get to cost: the connection is closed
    // at once (RFC 8314 gives no way to refuse in the clear).
    if (admission.verdict == ConnectionLimiter::Verdict::admitted) context.limiter.release(network);
    close_unheard(*stream, listener, client, admission.reason);
    co_return;
  }
  auto connection = std::make_unique<Connection>(std::move(stream), context, listener, client, checker);
  co_await connection->run(admission.refusal);
  if (admission.verdict == ConnectionLimiter::Verdict::admitted) context.limiter.release(network);
  connection->log_session(std::chrono::steady_clock::now() - started);
}

}  // namespace petrel::server
