#include "server/odmr_relay.hpp"

#include <array>
#include <deque>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "server/client_stream.hpp"
#include "smtp/client_session.hpp"

namespace petrel::server {
namespace asio = boost::asio;

namespace {

std::string status_of(const smtp::ServerReply& reply) {
  if (!reply.enhanced.empty()) return reply.enhanced;
  // RFC 3463 §3.1: without an enhanced code, the class is all we know.
  if (reply.positive()) return "2.0.0";
  return reply.permanent() ? "5.0.0" : "4.0.0";
}

smtp::OutgoingMessage outgoing(const queue::OdmrClaim& claim) {
  smtp::OutgoingMessage m = queue::outgoing_envelope(*claim.message, claim.recipients);
  m.content = claim.message->content;
  return m;
}

class Relay {
 public:
  Relay(OdmrRelayContext context, std::vector<queue::OdmrClaim> claims)
      : c_(std::move(context)), client_(options(c_)), waiting_(claims.begin(), claims.end()) {
    if (c_.stream.encrypted()) client_.tls_started();  // no STARTTLS inside TLS
    for (const auto& claim : waiting_) tried_.insert(claim.message->id.value);
  }

  asio::awaitable<void> run(std::string leftover) {
    feed(leftover);
    for (;;) {
      const bool written = co_await flush();
      if (!written) continue;  // the session now knows the connection is gone
      switch (client_.need()) {
        case smtp::ClientSession::Need::input: {
          const bool got = co_await read();
          (void)got;
          break;
        }
        case smtp::ClientSession::Need::start_tls:
          client_.tls_failed("no STARTTLS in a reversed ODMR session");
          break;
        case smtp::ClientSession::Need::next_message: {
          finish_current();
          if (waiting_.empty()) {
            // A message the customer put off (4xx) is not offered again in this session.
            auto more = co_await claim_odmr(c_.queue, c_.pool, c_.domains, c_.batch, tried_);
            for (auto& claim : more) {
              tried_.insert(claim.message->id.value);
              waiting_.push_back(std::move(claim));
            }
          }
          next();
          break;
        }
        case smtp::ClientSession::Need::done:
          finish_current();
          give_back_rest();
          log_end();
          co_return;
      }
    }
  }

 private:
  static smtp::ClientOptions options(const OdmrRelayContext& c) {
    smtp::ClientOptions o;
    o.helo_name = c.helo_name;
    o.tls = smtp::TlsPolicy::none;  // the customer chose TLS (or not) when it connected
    return o;
  }

  void feed(std::string_view bytes) {
    while (!bytes.empty() && client_.need() == smtp::ClientSession::Need::input) {
      const std::size_t used = client_.feed(bytes);
      if (used == 0) break;
      bytes.remove_prefix(used);
    }
    unread_.assign(bytes);
  }

  asio::awaitable<bool> flush() {
    std::string& out = client_.output();
    if (out.empty()) co_return true;
    boost::system::error_code ec;
    co_await c_.stream.write(asio::buffer(out), c_.reply_timeout, ec);
    out.clear();
    if (ec) {
      client_.connection_lost(c_.stream.timed_out() ? "write timeout" : "write error: " + ec.message());
      co_return false;
    }
    co_return true;
  }

  asio::awaitable<bool> read() {
    if (!unread_.empty()) {
      const std::string pending = std::exchange(unread_, {});
      feed(pending);
      co_return true;
    }
    boost::system::error_code ec;
    const std::size_t n = co_await c_.stream.read_some(asio::buffer(buffer_), c_.reply_timeout, ec);
    if (c_.stream.timed_out()) {
      client_.connection_lost("timeout");
      co_return false;
    }
    if (ec) {
      client_.connection_lost(ec == asio::error::eof ? "the client closed the connection" : ec.message());
      co_return false;
    }
    feed(std::string_view(buffer_.data(), n));
    co_return true;
  }

  void next() {
    if (waiting_.empty()) {
      client_.quit();
      return;
    }
    current_ = std::move(waiting_.front());
    waiting_.pop_front();
    client_.send_message(outgoing(*current_));
  }

  // The current message's result, if it has one, goes back to the queue;
  // without one (the connection failed first) it goes back untried.
  void finish_current() {
    if (!current_) return;
    const queue::OdmrClaim claim = std::move(*current_);
    current_.reset();
    auto result = client_.take_results();
    queue::JobResult job;
    job.endpoint = "odmr:" + c_.user + "@" + c_.peer;
    job.tls = c_.tls;
    job.site = "odmr";
    // Not attempted (lost before the server took a command of it): the
    // message goes back untried; refusals made here (SIZE, 8BITMIME) count.
    job.attempted = result && result->attempted;
    if (result) job.outcomes = outcomes(claim, *result);
    for (const auto& o : job.outcomes) {
      if (o.outcome == smtp::DeliveryOutcome::delivered) ++delivered_;
    }
    c_.queue.odmr_done(claim.message->id.value, std::move(job));
  }

  std::vector<queue::RecipientOutcome> outcomes(const queue::OdmrClaim& claim, const smtp::MessageResult& result) {
    std::vector<queue::RecipientOutcome> out;
    for (std::size_t i = 0; i < claim.recipients.size() && i < result.recipients.size(); ++i) {
      const auto& r = result.recipients[i];
      out.push_back({claim.recipients[i], r.outcome, r.reply.str(), status_of(r.reply), r.reply.local ? "" : c_.peer});
    }
    return out;
  }

  void give_back_rest() {
    for (auto& claim : waiting_) {
      queue::JobResult job;
      job.attempted = false;
      c_.queue.odmr_done(claim.message->id.value, std::move(job));
    }
    waiting_.clear();
  }

  void log_end() const {
    const auto& failure = client_.failure();
    std::string domains;
    for (const auto& d : c_.domains) domains += (domains.empty() ? "" : ",") + d;
    spdlog::info("odmr client={} user={} domains={} delivered={} result=\"{}\"", c_.peer, c_.user, domains,
                 delivered_, failure ? failure->str() : "done");
  }

  OdmrRelayContext c_;
  smtp::ClientSession client_;
  std::deque<queue::OdmrClaim> waiting_;
  std::set<std::string> tried_;  // claimed by this session: IDs only, one per message it had
  std::optional<queue::OdmrClaim> current_;
  std::string unread_;
  std::array<char, 16 * 1024> buffer_{};
  std::size_t delivered_ = 0;
};

}  // namespace

asio::awaitable<std::vector<queue::OdmrClaim>> claim_odmr(queue::QueueManager& queue, asio::thread_pool* pool,
                                                          const std::vector<std::string>& domains, std::size_t batch,
                                                          const std::set<std::string>& tried) {
  std::vector<queue::OdmrClaim> claims;
  if (pool == nullptr) {
    claims = queue.claim_odmr(domains, batch, tried);
    co_return claims;
  }
  co_await asio::co_spawn(
      *pool,
      [&claims, &queue, &domains, batch, &tried]() -> asio::awaitable<void> {
        claims = queue.claim_odmr(domains, batch, tried);
        co_return;
      },
      asio::use_awaitable);
  co_return claims;
}

asio::awaitable<void> relay_on_demand(OdmrRelayContext context, std::vector<queue::OdmrClaim> claims,
                                      std::string leftover) {
  auto relay = std::make_unique<Relay>(std::move(context), std::move(claims));
  co_await relay->run(std::move(leftover));
}

}  // namespace petrel::server
