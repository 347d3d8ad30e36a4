#include "webhook/webhooks.hpp"

#include <utility>  // Boost 1.74's Asio needs std::exchange declared first

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <ctime>
#include <random>
#include <thread>

#include "events/bus.hpp"
#include "events/outbox.hpp"
#include "http/client.hpp"
#include "metrics/petrel_metrics.hpp"
#include "spool/spool.hpp"
#include "webhook/signature.hpp"

// GCC 12 warns of a new/delete mismatch in Asio 1.74's coroutine frame
// allocator; the frame's own operator new and delete are used.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace petrel::webhook {
namespace {

namespace asio = boost::asio;
using json = nlohmann::json;

constexpr auto kIdleWait = std::chrono::seconds(1);  // a look at the outbox at least this often
constexpr auto kFillLook = std::chrono::milliseconds(100);  // a filling batch is looked at again this often
constexpr std::string_view kCursorPrefix = "oc/";
constexpr std::string_view kFailedPrefix = "of/";

// Unix milliseconds of "2026-12-07T03:04:05.678Z"; 0 if it is not that.
std::int64_t parse_timestamp(std::string_view s) {
  std::tm tm{};
  const std::string text(s.substr(0, 19));
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end || *end != '\0') return 0;
  std::int64_t ms = static_cast<std::int64_t>(timegm(&tm)) * 1000;
  if (s.size() >= 23 && s[19] == '.') {
    int frac = 0;
    std::from_chars(s.data() + 20, s.data() + 23, frac);
    ms += frac;
  }
  return ms;
}

struct Batch {
  std::vector<std::string> events;  // JSON objects
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;        // of the last event looked at (sent or not for this webhook)
  std::int64_t oldest_ms = 0;        // timestamp of the first event in it
};

struct Hook {
  WebhookOptions options;
  std::unique_ptr<http::Client> client;
  std::unique_ptr<asio::steady_timer> wake;
  std::uint64_t cursor = 0;  // events up to this one are done with
  bool idle = false;         // waiting for events (not for a batch to fill, nor to retry)
};

enum class Verdict { delivered, failed, retry };

}  // namespace

struct Webhooks::Impl {
  events::Outbox& outbox;
  spool::Spool& spool;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
  std::vector<std::unique_ptr<Hook>> hooks;
  std::size_t subscription = 0;
  std::atomic<bool> poked{false};
  std::atomic<std::size_t> idle_hooks{0};  // hooks a new event should wake
  std::atomic<bool> stopping{false};
  unsigned reader = 0;  // the webhooks' reader number in the outbox
  std::mt19937_64 random{std::random_device{}()};
  std::thread thread;

  Impl(events::Outbox& o, spool::Spool& s, unsigned r) : outbox(o), spool(s), reader(r) {}

  void load_cursor(Hook& hook) {
    std::string value;
    std::error_code ec;
    if (spool.read_record(std::string(kCursorPrefix) + hook.options.name, value, ec)) {
      std::from_chars(value.data(), value.data() + value.size(), hook.cursor);
    }
  }

  // A new event: idle webhooks look at the outbox (coalesced; one filling
  // a batch or retrying is not disturbed, so a busy outbox costs no
  // wake-up per event).
  void poke() {
    if (idle_hooks.load(std::memory_order_relaxed) == 0 || poked.exchange(true)) return;
    asio::post(io, [this] {
      poked = false;
      for (auto& h : hooks) {
        if (h->idle) h->wake->cancel();
      }
    });
  }

  // Without parsing the event: its type is its first field, and a quoted
  // "tenant":" can only be the key (quotes in values are escaped).
  static bool wanted(const Hook& hook, std::string_view text) {
    if (!hook.options.types.empty()) {
      constexpr std::string_view kType = R"({"type":")";
      if (!text.starts_with(kType)) return false;
      const std::string_view rest = text.substr(kType.size());
      const auto type = events::type_named(rest.substr(0, rest.find('"')));
      if (!type || !hook.options.types.count(*type)) return false;
    }
    if (hook.options.tenant.empty()) return true;
    return text.find(R"("tenant":")" + hook.options.tenant + "\"") != std::string_view::npos;
  }

  static std::int64_t timestamp_of(std::string_view text) {
    constexpr std::string_view kKey = R"("timestamp":")";
    const auto at = text.find(kKey);
    return at == std::string_view::npos ? 0 : parse_timestamp(text.substr(at + kKey.size(), 24));
  }

  Batch collect(const Hook& hook) {
    Batch b;
    b.last_seq = hook.cursor;
    outbox.scan(hook.cursor, [&](std::uint64_t seq, std::string_view text) {
      if (seq <= hook.cursor) return true;
      if (b.events.size() >= hook.options.batch_size) return false;
      b.last_seq = seq;
      if (!wanted(hook, text)) return true;
      if (b.events.empty()) {
        b.first_seq = seq;
        b.oldest_ms = timestamp_of(text);
      }
      b.events.emplace_back(text);
      return true;
    });
    return b;
  }

  // Where the webhook stands, and a failed batch with it, in one write.
  void advance(Hook& hook, std::uint64_t to, std::optional<std::string> failed) {
    hook.cursor = to;
    std::vector<spool::Spool::Record> records;
    records.push_back({std::string(kCursorPrefix) + hook.options.name, std::to_string(to)});
    if (failed) records.push_back({fmt::format("{}{}/{:016x}", kFailedPrefix, hook.options.name, to), std::move(*failed)});
    // Not synced: a cursor lost in a crash only sends events again, which
    // at-least-once allows (receivers drop duplicates by event_id).
    if (auto ec = spool.write_records(records)) {
      spdlog::error("webhooks: where a webhook stands was not recorded: {} (its events may be sent again)",
                    ec.message());
    }
    forget();
  }

  // Events every webhook is done with are passed on to the outbox, which
  // forgets those its other readers (NATS) are done with too.
  void forget() {
    std::uint64_t upto = hooks.empty() ? 0 : hooks.front()->cursor;
    for (const auto& h : hooks) upto = std::min(upto, h->cursor);
    if (auto ec = outbox.passed(reader, upto)) {
      spdlog::error("webhooks: delivered events not removed from the outbox: {}", ec.message());
    }
  }

  asio::awaitable<void> sleep(Hook& hook, std::chrono::milliseconds d) {
    boost::system::error_code ec;
    hook.wake->expires_after(d);
    co_await hook.wake->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  std::chrono::milliseconds backoff(const Hook& hook, unsigned failures, std::optional<unsigned> retry_after) {
    const auto cap = hook.options.max_retry_interval;
    auto base = std::chrono::milliseconds(1000LL << std::min(failures, 20u));
    base = std::min(base, cap);
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    auto d = std::chrono::milliseconds(static_cast<long long>(static_cast<double>(base.count()) * jitter(random)));
    if (retry_after) d = std::max(d, std::chrono::milliseconds(std::min<long long>(*retry_after * 1000LL, cap.count())));
    return d;
  }

  static Verdict verdict(unsigned status) {
    if (status >= 200 && status < 300) return Verdict::delivered;
    if (status >= 400 && status < 500 && status != 408 && status != 429) return Verdict::failed;
    return Verdict::retry;
  }

  static std::string failed_record(const Hook& hook, const Batch& b, unsigned status, const std::string& reason) {
    json events = json::array();
    for (const auto& e : b.events) events.push_back(json::parse(e, nullptr, false));
    return json{{"webhook", hook.options.name}, {"first_seq", b.first_seq}, {"status", status}, {"reason", reason},
                {"at", std::time(nullptr)}, {"events", events}}
        .dump(-1, ' ', false, json::error_handler_t::replace);
  }

  // Sends one batch until it is delivered or set aside.
  asio::awaitable<void> send(Hook& hook, Batch b) {
    std::string body = "[";
    for (std::size_t i = 0; i < b.events.size(); ++i) {
      if (i) body += ',';
      body += b.events[i];
    }
    body += ']';
    const auto count = static_cast<std::uint64_t>(b.events.size());
    for (unsigned failures = 0;; ++failures) {
      if (stopping) co_return;
      http::Client::Fields fields;  // signed again at each attempt, with its time
      fields.emplace_back("X-Petrel-Signature", signature(hook.options.secret, std::time(nullptr), body));
      const http::ClientReply reply = co_await hook.client->post(body, fields);
      if (stopping) co_return;
      const Verdict v = verdict(reply.status);
      const std::string why = reply.status ? "HTTP " + std::to_string(reply.status) : reply.error;
      if (v == Verdict::delivered) {
        metrics::webhook_events().with({hook.options.name, "delivered"}).inc(count);
        advance(hook, b.last_seq, std::nullopt);
        co_return;
      }
      const bool too_old = b.oldest_ms > 0 && events::now_ms() - b.oldest_ms > hook.options.max_age.count();
      if (v == Verdict::failed || too_old) {
        const std::string reason = too_old ? "not delivered within max_age: " + why : why;
        spdlog::error("webhook {}: {} event(s) set aside ({}); see petrel events failed", hook.options.name, count,
                      reason);
        metrics::webhook_events().with({hook.options.name, "failed"}).inc(count);
        advance(hook, b.last_seq, failed_record(hook, b, reply.status, reason));
        co_return;
      }
      metrics::webhook_events().with({hook.options.name, "retried"}).inc(count);
      const auto wait = backoff(hook, failures, reply.retry_after);
      spdlog::warn("webhook {}: {} event(s) not delivered ({}), again in {} ms", hook.options.name, count, why,
                   wait.count());
      boost::system::error_code ec;
      asio::steady_timer timer(io);
      timer.expires_after(wait);
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  asio::awaitable<void> run(Hook& hook) {
    while (!stopping) {
      Batch b = collect(hook);
      if (b.events.empty()) {
        if (b.last_seq > hook.cursor) advance(hook, b.last_seq, std::nullopt);  // none of its types
        forget();  // what the last batches left
        hook.idle = true;
        ++idle_hooks;
        co_await sleep(hook, kIdleWait);
        --idle_hooks;
        hook.idle = false;
        continue;
      }
      const auto age = std::chrono::milliseconds(std::max<std::int64_t>(0, events::now_ms() - b.oldest_ms));
      if (b.events.size() < hook.options.batch_size && age < hook.options.batch_max_delay) {
        // Not woken by new events meanwhile: the batch goes when it is old
        // enough (or is full at the next look).
        co_await sleep(hook, std::min<std::chrono::milliseconds>(hook.options.batch_max_delay - age, kFillLook));
        continue;
      }
      co_await send(hook, std::move(b));
    }
  }
};

Webhooks::Webhooks(std::vector<WebhookOptions> hooks, events::Outbox& outbox, unsigned reader, spool::Spool& spool)
    : impl_(std::make_unique<Impl>(outbox, spool, reader)) {
  for (auto& o : hooks) {
    std::string error;
    auto url = http::parse_url(o.url, error);
    if (!url) throw std::runtime_error("webhook " + o.name + ": " + error);
    auto hook = std::make_unique<Hook>();
    http::ClientOptions client;
    client.ca_file = o.ca_file;
    client.timeout = o.timeout;
    client.user_agent = "petrel-webhook";
    hook->client = std::make_unique<http::Client>(impl_->io, *url, client);
    hook->wake = std::make_unique<asio::steady_timer>(impl_->io);
    hook->options = std::move(o);
    impl_->load_cursor(*hook);
    impl_->hooks.push_back(std::move(hook));
  }
  Impl* impl = impl_.get();
  impl_->subscription = events::bus().subscribe([impl](const events::Event&) { impl->poke(); });
  for (auto& h : impl_->hooks) asio::co_spawn(impl_->io, impl_->run(*h), asio::detached);
  impl_->thread = std::thread([impl] { impl->io.run(); });
}

Webhooks::~Webhooks() { stop(); }

void Webhooks::stop() {
  if (impl_->stopping.exchange(true)) return;
  events::bus().unsubscribe(impl_->subscription);
  asio::post(impl_->io, [impl = impl_.get()] {
    for (auto& h : impl->hooks) {
      h->wake->cancel();
      h->client->close();
    }
  });
  impl_->guard.reset();
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace petrel::webhook

#pragma GCC diagnostic pop
