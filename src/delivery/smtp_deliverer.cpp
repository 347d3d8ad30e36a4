// The I/O around smtp::ClientSession: connect (TCP or UNIX socket), read
// with the timeout for the reply awaited, write what the session says,
// switch to TLS when it asks, and move on to the next endpoint when a
// connection fails before the server answered for a message.
#include "delivery/smtp_deliverer.hpp"

#include <utility>  // Boost 1.74's awaitable.hpp needs std::exchange

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <deque>
#include <exception>
#include <memory>

#include <openssl/ssl.h>

#include "smtp/reply_codes.hpp"
#include "tls/server_tls.hpp"

namespace petrel::delivery {
namespace asio = boost::asio;
using asio::ip::tcp;
using Millis = std::chrono::milliseconds;
using Need = smtp::ClientSession::Need;

std::string Endpoint::str() const {
  if (!unix_path.empty()) return "unix:" + unix_path;
  return host + "[" + address + "]:" + std::to_string(port);
}

namespace {

constexpr std::size_t kReadBuffer = 16 * 1024;
constexpr std::size_t kWriteBlock = 64 * 1024;
constexpr Millis kTlsShutdownTimeout{2000};

// How a server's certificate is checked in the handshake.
struct TlsCheck {
  bool pkix = false;                  // chain to ca_file (or the system store), and the host name
  std::string ca_file;
  std::vector<dns::TlsaRecord> tlsa;  // DANE instead of PKIX (Endpoint::tlsa)
  std::string next_hop;               // DeliveryOptions::next_hop
};

// One connection's byte stream: TCP or a UNIX socket, then maybe TLS over
// the TCP socket. Every operation is bounded by a timer that cancels the
// socket; the generation tells a stale expiry from a live one.
class Link : public std::enable_shared_from_this<Link> {
 public:
  explicit Link(const asio::any_io_executor& executor) : tcp_(executor), unix_(executor), timer_(executor) {}

  // source: the local address to send from ("": the system's choice); an
  // address of the other family than the endpoint's is not used.
  asio::awaitable<void> connect(const Endpoint& e, const std::string& source, Millis timeout,
                                boost::system::error_code& ec) {
    arm(timeout);
    if (!e.unix_path.empty()) {
      unix_mode_ = true;
      co_await unix_.async_connect(asio::local::stream_protocol::endpoint(e.unix_path),
                                   asio::redirect_error(asio::use_awaitable, ec));
    } else {
      const auto address = asio::ip::make_address(e.address, ec);
      if (!ec && !source.empty()) bind_source(address, source, ec);
      if (!ec) {
        co_await tcp_.async_connect(tcp::endpoint(address, e.port), asio::redirect_error(asio::use_awaitable, ec));
      }
      if (!ec) tcp_.set_option(tcp::no_delay(true), ec);
    }
    disarm();
  }

  // An egress source (RFC 5321 does not care; receivers' reputation does).
  void bind_source(const asio::ip::address& to, const std::string& source, boost::system::error_code& ec) {
    const auto local = asio::ip::make_address(source, ec);
    if (ec || local.is_v4() != to.is_v4()) {
      ec = {};
      return;
    }
    tcp_.open(local.is_v4() ? tcp::v4() : tcp::v6(), ec);
    if (!ec) tcp_.bind(tcp::endpoint(local, 0), ec);
  }

  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, Millis timeout, boost::system::error_code& ec) {
    arm(timeout);
    std::size_t n = 0;
    if (tls_) {
      n = co_await tls_->async_read_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
    } else if (unix_mode_) {
      n = co_await unix_.async_read_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
    } else {
      n = co_await tcp_.async_read_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
    }
    disarm();
    co_return n;
  }

  asio::awaitable<void> write(asio::const_buffer buffer, Millis timeout, boost::system::error_code& ec) {
    arm(timeout);
    if (tls_) {
      co_await asio::async_write(*tls_, buffer, asio::redirect_error(asio::use_awaitable, ec));
    } else if (unix_mode_) {
      co_await asio::async_write(unix_, buffer, asio::redirect_error(asio::use_awaitable, ec));
    } else {
      co_await asio::async_write(tcp_, buffer, asio::redirect_error(asio::use_awaitable, ec));
    }
    disarm();
  }

  // Opportunistic TLS (RFC 7435) verifies no certificate unless asked to;
  // SNI when the host is a name.
  asio::awaitable<void> handshake(const std::string& sni, const TlsCheck& check, Millis timeout,
                                  boost::system::error_code& ec) {
    if (unix_mode_) {
      ec = asio::error::operation_not_supported;
      co_return;
    }
    context_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    const bool dane = !check.tlsa.empty();
    context_->set_verify_mode(check.pkix || dane ? asio::ssl::verify_peer : asio::ssl::verify_none);
    if (check.pkix && !dane) {
      if (check.ca_file.empty()) {
        context_->set_default_verify_paths(ec);
      } else {
        context_->load_verify_file(check.ca_file, ec);
      }
      if (ec) co_return;
    }
    if (dane && SSL_CTX_dane_enable(context_->native_handle()) <= 0) {
      ec = asio::error::operation_not_supported;
      co_return;
    }
    tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(tcp_, *context_);
    if (dane) {
      enable_dane(sni, check, ec);
      if (ec) co_return;
    } else if (check.pkix) {
      tls_->set_verify_callback(asio::ssl::host_name_verification(sni));
    }
    boost::system::error_code not_ip;
    asio::ip::make_address(sni, not_ip);
    if (!sni.empty() && not_ip) SSL_set_tlsext_host_name(tls_->native_handle(), sni.c_str());
    arm(timeout);
    co_await tls_->async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
    disarm();
    // The handshake verified the peer (SSL_VERIFY_PEER); a DANE match is what it must rest on.
    if (!ec && dane && SSL_get0_dane_authority(tls_->native_handle(), nullptr, nullptr) < 0) {
      ec = asio::ssl::error::make_error_code(asio::ssl::error::unspecified_system_error);
    }
  }

  // OpenSSL's DANE (RFC 7671, RFC 7672 §3): the MX host name is the TLSA
  // base domain and, with the next-hop domain, a reference identifier for
  // DANE-TA(2); DANE-EE(3) checks no names (RFC 7672 §3.1.1).
  void enable_dane(const std::string& host, const TlsCheck& check, boost::system::error_code& ec) {
    SSL* ssl = tls_->native_handle();
    if (SSL_dane_enable(ssl, host.c_str()) <= 0) {
      ec = asio::error::invalid_argument;
      return;
    }
    SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
    if (!check.next_hop.empty() && check.next_hop != host) (void)SSL_add1_host(ssl, check.next_hop.c_str());
    int added = 0;
    for (const auto& r : check.tlsa) {
      if (SSL_dane_tlsa_add(ssl, r.usage, r.selector, r.matching_type, r.data.data(), r.data.size()) > 0) ++added;
    }
    if (added == 0) ec = asio::error::invalid_argument;  // the records were checked usable: cannot happen
  }

  // "TLSA 3 1 1" when DANE authenticated the peer, "" otherwise.
  std::string dane_match() const {
    std::uint8_t usage = 0, selector = 0, mtype = 0;
    if (!tls_ || SSL_get0_dane_tlsa(tls_->native_handle(), &usage, &selector, &mtype, nullptr, nullptr) < 0) return "";
    return "TLSA " + std::to_string(usage) + " " + std::to_string(selector) + " " + std::to_string(mtype);
  }

  asio::awaitable<void> close() {
    if (tls_) {
      boost::system::error_code ignored;
      arm(kTlsShutdownTimeout);
      co_await tls_->async_shutdown(asio::redirect_error(asio::use_awaitable, ignored));
      disarm();
    }
    boost::system::error_code ignored;
    tcp_.close(ignored);
    unix_.close(ignored);
  }

  bool timed_out() const { return timed_out_; }
  const ssl_st* tls_session() const { return tls_ ? tls_->native_handle() : nullptr; }

 private:
  void arm(Millis timeout) {
    const std::uint64_t generation = ++generation_;
    timed_out_ = false;
    timer_.expires_after(timeout);
    timer_.async_wait([self = shared_from_this(), generation](const boost::system::error_code& ec) {
      if (ec || self->generation_ != generation) return;
      self->timed_out_ = true;
      boost::system::error_code ignored;
      self->tcp_.cancel(ignored);
      self->unix_.cancel(ignored);
    });
  }
  void disarm() {
    ++generation_;
    timer_.cancel();
  }

  tcp::socket tcp_;
  asio::local::stream_protocol::socket unix_;
  bool unix_mode_ = false;
  asio::steady_timer timer_;
  std::uint64_t generation_ = 0;
  bool timed_out_ = false;
  std::unique_ptr<asio::ssl::context> context_;
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls_;
};

// A message still to deliver, and its report once it has one.
struct Job {
  smtp::OutgoingMessage message;
  std::optional<DeliveryReport> report;
  std::size_t index = 0;  // in the order of deliver()'s numbering
};

// One connection to one endpoint, driving a ClientSession over it.
class Attempt {
 public:
  Attempt(const asio::any_io_executor& executor, const Endpoint& endpoint, const DeliveryOptions& options,
          smtp::TlsPolicy tls, std::vector<std::string>& transcript)
      : link_(std::make_shared<Link>(executor)),
        endpoint_(endpoint),
        options_(options),
        timeouts_(options.timeouts),
        session_(session_options(options, tls)),
        transcript_(transcript),
        policy_(tls) {}

  // Gives the session the jobs without a report, in order, then those
  // options.more has; reports those the server answered for (or that were
  // refused here). Jobs is a deque: taking more keeps `current` valid.
  asio::awaitable<void> run(std::deque<Job>& jobs) {
    boost::system::error_code ec;
    if (options_.watch) options_.watch('*', "connecting to " + endpoint_.str(), nullptr);
    co_await link_->connect(endpoint_, options_.source_address, timeouts_.connect, ec);
    if (ec) {
      const std::string reason = link_->timed_out() ? "timed out" : ec.message();
      note("connect to " + endpoint_.str() + ": " + reason);
      failure_ = smtp::ServerReply::made_here(smtp::codes::k421NoAnswer,
                                              "Connect to " + endpoint_.str() + " failed: " + reason);
      co_await link_->close();
      co_return;
    }
    note("connected to " + endpoint_.str());
    if (options_.implicit_tls) co_await start_tls();
    co_await converse(jobs);
    co_await link_->close();
    for (const auto& line : session_.transcript()) transcript_.push_back(line);  // watched already
    failure_ = session_.failure();
    if (failure_) note("connection failed: " + failure_->str());
  }

  const std::optional<smtp::ServerReply>& failure() const { return failure_; }
  bool tls_failed() const { return tls_failed_; }
  // The server spoke (a greeting at least): a failure is its answer.
  bool answered() const { return session_.greeting().has_value(); }
  const std::string& tls() const { return tls_; }

 private:
  static smtp::ClientOptions session_options(const DeliveryOptions& delivery, smtp::TlsPolicy tls) {
    smtp::ClientOptions options = delivery.client;
    options.tls = tls;
    if (delivery.watch) options.watch = delivery.watch;
    return options;
  }

  asio::awaitable<void> converse(std::deque<Job>& jobs) {
    std::size_t next = 0;
    Job* current = nullptr;
    for (;;) {
      feed_buffered();
      const Need need = session_.need();
      const bool flushed = co_await flush();
      if (!flushed) continue;  // the session now knows the connection is lost
      if (need == Need::done || session_.need() == Need::done) {
        record(current);
        co_return;
      }
      if (need == Need::next_message) {
        record(current);
        current = nullptr;
        while (next < jobs.size() && jobs[next].report) ++next;
        if (next == jobs.size() && options_.more) {
          co_await wait_for_pace();
          if (auto another = options_.more()) jobs.push_back({std::move(*another), std::nullopt, jobs.size()});
        }
        if (next == jobs.size()) {
          session_.quit();
          continue;
        }
        current = &jobs[next++];
        session_.send_message(current->message);  // a copy: the job may go to the next endpoint
        continue;
      }
      if (need == Need::start_tls) {
        buffered_ = 0;  // read in the clear after the 220: dropped
        co_await start_tls();
        continue;
      }
      co_await read_more();
    }
  }

  // A result the server stands behind, or one decided here, is final; a
  // message whose transaction the server never answered stays unreported,
  // for the next endpoint.
  void record(Job* job) {
    if (job == nullptr) return;
    auto result = session_.take_results();
    if (!result) return;
    if (!result->attempted && session_.failure()) return;
    DeliveryReport report;
    report.recipients = std::move(result->recipients);
    report.endpoint = endpoint_;
    report.tls = tls_;
    report.tls_policy = endpoint_.tls_policy;
    report.dsn_passed_on = session_.capabilities().dsn;
    job->report = std::move(report);
    if (options_.reported) options_.reported(job->index, *job->report);
  }

  // Idles while the pace says so (between transactions, after RSET-free
  // completion; servers allow minutes of idleness, RFC 5321 §4.5.3.2.7).
  asio::awaitable<void> wait_for_pace() {
    if (!options_.pace) co_return;
    for (Millis wait = options_.pace(); wait.count() > 0; wait = options_.pace()) {
      asio::steady_timer timer(co_await asio::this_coro::executor);
      timer.expires_after(wait);
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
    }
  }

  void feed_buffered() {
    std::size_t used_total = 0;
    while (used_total < buffered_ && session_.need() == Need::input) {
      const std::size_t used = session_.feed(std::string_view(buffer_.data() + used_total, buffered_ - used_total));
      if (used == 0) break;
      used_total += used;
    }
    std::copy(buffer_.begin() + used_total, buffer_.begin() + buffered_, buffer_.begin());
    buffered_ -= used_total;
  }

  Millis read_timeout() const {
    using Awaiting = smtp::ClientSession::Awaiting;
    switch (session_.awaiting()) {
      case Awaiting::greeting: return timeouts_.greeting;
      case Awaiting::mail: return timeouts_.mail;
      case Awaiting::rcpt: return timeouts_.rcpt;
      case Awaiting::data_init: return timeouts_.data_init;
      case Awaiting::data_end: return timeouts_.data_end;
      default: return timeouts_.command;
    }
  }

  asio::awaitable<void> read_more() {
    if (buffered_ == buffer_.size()) {  // cannot happen: the session takes whole lines up to its limit
      session_.connection_lost("read buffer full");
      co_return;
    }
    const Millis timeout = read_timeout();
    boost::system::error_code ec;
    const std::size_t n =
        co_await link_->read_some(asio::buffer(buffer_.data() + buffered_, buffer_.size() - buffered_), timeout, ec);
    if (link_->timed_out()) {
      session_.connection_lost("timeout after " + std::to_string(timeout.count()) + " ms");
      co_return;
    }
    if (ec) {
      session_.connection_lost(ec == asio::error::eof ? std::string("server closed the connection") : ec.message());
      co_return;
    }
    buffered_ += n;
  }

  // Content goes out in blocks, each with the data-block timeout.
  asio::awaitable<bool> flush() {
    std::string& out = session_.output();
    if (out.empty()) co_return true;
    const bool content = session_.awaiting() == smtp::ClientSession::Awaiting::data_end;
    boost::system::error_code ec;
    for (std::size_t pos = 0; pos < out.size() && !ec; pos += kWriteBlock) {
      const std::size_t n = std::min(kWriteBlock, out.size() - pos);
      co_await link_->write(asio::buffer(out.data() + pos, n), content ? timeouts_.data_block : timeouts_.command, ec);
    }
    out.clear();
    if (ec) {
      session_.connection_lost(link_->timed_out() ? std::string("write timeout") : "write error: " + ec.message());
      co_return false;
    }
    co_return true;
  }

  // The endpoint's own policy (DANE, MTA-STS) decides the checks, else
  // the connection's options.
  TlsCheck tls_check() const {
    TlsCheck check;
    check.pkix = endpoint_.tls ? policy_ == smtp::TlsPolicy::verify : options_.verify_certificate;
    check.ca_file = options_.ca_file;
    check.tlsa = endpoint_.tlsa;
    check.next_hop = options_.next_hop;
    return check;
  }

  asio::awaitable<void> start_tls() {
    boost::system::error_code ec;
    const TlsCheck check = tls_check();
    co_await link_->handshake(endpoint_.host, check, timeouts_.tls_handshake, ec);
    if (ec) {
      tls_failed_ = true;
      std::string reason = link_->timed_out() ? std::string("timeout") : ec.message();
      if (!check.tlsa.empty()) reason += " (DANE: no TLSA record of " + endpoint_.host + " matches)";
      session_.tls_failed(reason);
      co_return;
    }
    const tls::TlsInfo info = tls::describe(link_->tls_session());
    tls_ = info.protocol + " with cipher " + info.cipher + " (" + std::to_string(info.bits) + " bits)";
    note("TLS: " + tls_);
    if (!check.tlsa.empty()) note("DANE: certificate matches " + link_->dane_match());
    session_.tls_started();
  }

  void note(std::string line) {
    if (options_.watch) options_.watch('*', line, nullptr);
    transcript_.push_back(std::move(line));
  }

  std::shared_ptr<Link> link_;
  const Endpoint& endpoint_;
  const DeliveryOptions& options_;
  const SmtpTimeouts& timeouts_;
  smtp::ClientSession session_;
  std::vector<std::string>& transcript_;
  std::array<char, kReadBuffer> buffer_{};
  std::size_t buffered_ = 0;
  std::string tls_;
  bool tls_failed_ = false;
  std::optional<smtp::ServerReply> failure_;
  smtp::TlsPolicy policy_;
};

// A permanent reply made here is a refusal of this client's own (REQUIRETLS,
// RFC 8689 §4.2.1: no next hop could take the message): the message fails.
DeliveryReport unreached(const Job& job, const smtp::ServerReply& reason) {
  DeliveryReport report;
  const auto outcome =
      reason.local && reason.permanent() ? smtp::DeliveryOutcome::failed : smtp::DeliveryOutcome::deferred;
  report.recipients.assign(job.message.recipients.size(), smtp::RecipientResult{outcome, reason});
  return report;
}

// GCC 12 warns of a new/delete mismatch in Asio 1.74's coroutine frame
// allocator for this coroutine's ramp; the frame's own operator new and
// delete are used, as for every other coroutine.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
asio::awaitable<std::vector<DeliveryReport>> run_delivery(std::vector<Endpoint> endpoints, DeliveryOptions options,
                                                          std::vector<smtp::OutgoingMessage> messages) {
  const auto executor = co_await asio::this_coro::executor;
  std::deque<Job> jobs;
  for (auto& m : messages) jobs.push_back({std::move(m), std::nullopt, jobs.size()});
  std::vector<std::string> transcript;
  smtp::ServerReply last_failure =
      smtp::ServerReply::made_here(smtp::codes::k421NoAnswer, "No server to deliver to");
  const auto pending = [&] { return std::any_of(jobs.begin(), jobs.end(), [](const Job& j) { return !j.report; }); };
  std::optional<Endpoint> last_answered;
  std::string last_tls;

  for (const Endpoint& endpoint : endpoints) {
    if (!pending()) break;
    smtp::TlsPolicy tls = endpoint.tls.value_or(options.client.tls);
    for (int tries = 0; tries < 2 && pending(); ++tries) {
      Attempt attempt(executor, endpoint, options, tls, transcript);
      co_await attempt.run(jobs);
      if (attempt.failure()) {
        last_failure = *attempt.failure();
        // The log and a DSN name the server whose reply the outcome rests on.
        if (attempt.answered()) {
          last_answered = endpoint;
          last_tls = attempt.tls();
        }
      }
      // RFC 7435 §3: opportunistic TLS that fails is retried in the clear.
      if (!(attempt.tls_failed() && tls == smtp::TlsPolicy::may) || options.implicit_tls) break;
      tls = smtp::TlsPolicy::none;
      transcript.push_back("retrying " + endpoint.str() + " without TLS");
      if (options.watch) options.watch('*', transcript.back(), nullptr);
    }
  }
  std::vector<DeliveryReport> reports;
  for (auto& job : jobs) {
    DeliveryReport report = job.report ? std::move(*job.report) : unreached(job, last_failure);
    if (!job.report) {
      report.endpoint = last_answered;
      report.tls = last_tls;
      if (last_answered) report.tls_policy = last_answered->tls_policy;
    }
    report.transcript = transcript;
    reports.push_back(std::move(report));
  }
  co_return reports;
}
#pragma GCC diagnostic pop

}  // namespace

void deliver(asio::io_context& io, std::vector<Endpoint> endpoints, DeliveryOptions options,
             std::vector<smtp::OutgoingMessage> messages, std::function<void(std::vector<DeliveryReport>)> done) {
  // Kept for the failure path: the coroutine owns its own copies.
  std::vector<std::size_t> sizes;
  sizes.reserve(messages.size());
  for (const auto& m : messages) sizes.push_back(m.recipients.size());
  asio::co_spawn(io, run_delivery(std::move(endpoints), std::move(options), std::move(messages)),
                 [done = std::move(done), sizes](const std::exception_ptr& error, std::vector<DeliveryReport> reports) {
                   if (error) {
                     // A bug or out of memory: nothing is known, all is deferred.
                     reports.clear();
                     const auto reason =
                         smtp::ServerReply::made_here(smtp::codes::k451LocalError, "Local error in SMTP delivery");
                     for (std::size_t n : sizes) {
                       DeliveryReport r;
                       r.recipients.assign(n, smtp::RecipientResult{smtp::DeliveryOutcome::deferred, reason});
                       reports.push_back(std::move(r));
                     }
                   }
                   done(std::move(reports));
                 });
}

}  // namespace petrel::delivery
