#include "cli/campaign_api.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <csignal>
#include <exception>

// GCC 12 warns of a new/delete mismatch in Asio 1.74's coroutine frame
// allocator; the frame's own operator new and delete are used.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace petrel::cli {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr auto kTick = std::chrono::milliseconds(250);
constexpr auto kWaitSlice = std::chrono::milliseconds(100);
constexpr unsigned kMaxBackoff = 60;       // seconds between tries after errors
constexpr unsigned kDefaultRetryAfter = 1;  // a 429/503/409 without Retry-After
constexpr unsigned kMaxRetryAfter = 600;    // longer requests are cut to this

// 429 Too Many Requests, 503 Service Unavailable and 409 Conflict (the
// same key is being served): the server asks for the same batch later.
bool asks_to_wait(unsigned status) { return status == 409 || status == 429 || status == 503; }

// Errors that may pass: no reply at all, or a 5xx other than 503.
bool may_pass(unsigned status) { return status == 0 || (status >= 500 && status != 503); }

std::chrono::seconds backoff(unsigned failures) {
  return std::chrono::seconds(std::min(kMaxBackoff, 1u << std::min(failures - 1, 6u)));
}

class ApiCampaign {
 public:
  ApiCampaign(CampaignRun& run, const http::Url& url, std::string token)
      : run_(run),
        token_(std::move(token)),
        list_(run.list.path),
        source_(list_, run.flags.batch, [&run](std::uint64_t row) { return run.state->done(row); }),
        pacer_(run.rate),
        progress_(run.list.rows, run.state->earlier(), run.progress),
        signals_(io_, SIGINT, SIGTERM),
        ticker_(io_),
        fingerprint_(run.identity.fingerprint()) {
    http::ClientOptions options;
    options.insecure = run.flags.insecure;
    options.ca_file = run.flags.ca_file;
    options.timeout = std::chrono::milliseconds(static_cast<long long>(run.flags.timeout * 1000));
    options.user_agent = "petrel/" PETREL_VERSION;
    for (std::size_t i = 0; i < run.flags.concurrency; ++i) clients_.push_back(std::make_unique<http::Client>(io_, url, options));
  }

  CampaignOutcome run();

 private:
  asio::awaitable<void> worker(std::size_t slot);
  asio::awaitable<void> send(http::Client& client, const Batch& batch);
  std::optional<std::chrono::seconds> retry_delay(const Batch& batch, const http::ClientReply& reply, unsigned& failures);
  asio::awaitable<bool> wait_until(Clock::time_point when);
  asio::awaitable<void> tick();
  void accept(const Batch& batch, const http::ClientReply& reply);
  void record(const Batch& batch, const std::vector<RecipientResult>& results);
  void fail(std::string message);
  void on_signal(const boost::system::error_code& ec, int signal);
  void worker_done(std::exception_ptr error);
  bool going() const { return stops_ == 0 && error_.empty(); }
  std::string batch_name(const Batch& b) const { return "batch " + std::to_string(b.number + 1); }

  asio::io_context io_;
  CampaignRun& run_;
  std::string token_;
  ListReader list_;
  BatchSource source_;
  RatePacer pacer_;
  Progress progress_;
  asio::signal_set signals_;
  asio::steady_timer ticker_;
  std::string fingerprint_;
  std::vector<std::unique_ptr<http::Client>> clients_;
  std::size_t workers_ = 0;
  std::size_t in_flight_ = 0;
  int stops_ = 0;  // signals received: 1 = no new batches, 2 = abandon those in flight
  int signal_ = 0;
  std::string error_;
};

CampaignOutcome ApiCampaign::run() {
  const auto started = Clock::now();
  signals_.async_wait([this](const boost::system::error_code& ec, int signal) { on_signal(ec, signal); });
  workers_ = clients_.size();
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    asio::co_spawn(io_, worker(i), [this](std::exception_ptr e) { worker_done(e); });
  }
  asio::co_spawn(io_, tick(), asio::detached);
  io_.run();
  progress_.finish(Clock::now());
  CampaignOutcome outcome;
  outcome.signal = signal_;
  outcome.error = error_;
  outcome.run = progress_.this_run();
  outcome.all = progress_.all();
  outcome.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return outcome;
}

void ApiCampaign::worker_done(std::exception_ptr error) {
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      fail(e.what());
    }
  }
  if (--workers_ > 0) return;
  signals_.cancel();
  ticker_.cancel();
}

void ApiCampaign::on_signal(const boost::system::error_code& ec, int signal) {
  if (ec) return;
  signal_ = signal;
  if (++stops_ == 1) {
    progress_.note("interrupted: no new batches; waiting for the replies to " + std::to_string(in_flight_) +
                   " in flight (Ctrl-C again to abandon them)");
    signals_.async_wait([this](const boost::system::error_code& e, int s) { on_signal(e, s); });
    return;
  }
  progress_.note("interrupted again: abandoning the batches in flight (a rerun with the same --state posts them again)");
  for (auto& client : clients_) client->close();
}

void ApiCampaign::fail(std::string message) {
  if (error_.empty()) error_ = std::move(message);
}

asio::awaitable<void> ApiCampaign::tick() {
  while (workers_ > 0) {
    ticker_.expires_after(kTick);
    boost::system::error_code ec;
    co_await ticker_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (workers_ > 0) progress_.tick(Clock::now());
  }
}

// Sleeps in short steps so that a Ctrl-C or another batch's failure ends
// the wait; false when the run is stopping.
asio::awaitable<bool> ApiCampaign::wait_until(Clock::time_point when) {
  asio::steady_timer timer(io_);
  while (going() && Clock::now() < when) {
    timer.expires_at(std::min(when, Clock::now() + kWaitSlice));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return going();
}

asio::awaitable<void> ApiCampaign::worker(std::size_t slot) {
  http::Client& client = *clients_[slot];
  while (going()) {
    std::optional<Batch> batch = source_.next();
    if (!batch) break;
    if (batch->valid() == 0) {
      record(*batch, invalid_results(*batch));
      continue;
    }
    const bool turn = co_await wait_until(pacer_.reserve(batch->valid(), Clock::now()));
    if (!turn) break;
    co_await send(client, *batch);
  }
}

// Posts one batch until the server answers it for good. A batch given up
// by Ctrl-C is not recorded: a rerun posts it again under the same key.
// (co_await only in statements of their own: GCC 12 mishandles
// temporaries around it in conditions.)
asio::awaitable<void> ApiCampaign::send(http::Client& client, const Batch& batch) {
  const std::string key = idempotency_key(run_.identity.campaign, fingerprint_, batch.number);
  const std::string body = batch_body(run_.message.request, batch, key);
  unsigned failures = 0;
  http::Client::Fields fields;  // (not a braced temporary in the co_await: GCC 12)
  fields.emplace_back("Authorization", "Bearer " + token_);
  for (;;) {
    ++in_flight_;
    http::ClientReply reply = co_await client.post(body, fields);
    --in_flight_;
    if (reply.status == 200) {
      accept(batch, reply);
      co_return;
    }
    if (stops_ >= 2) co_return;
    const auto delay = retry_delay(batch, reply, failures);
    if (!delay) co_return;
    const bool again = co_await wait_until(Clock::now() + *delay);
    if (!again) co_return;
  }
}

// How long to wait before posting the batch again; nullopt when it has
// failed for good (the run then stops).
std::optional<std::chrono::seconds> ApiCampaign::retry_delay(const Batch& batch, const http::ClientReply& reply,
                                                             unsigned& failures) {
  const std::string what =
      reply.status == 0 ? reply.error : describe_problem(reply.status, reply.body, run_.message.path, run_.message.raw);
  if (reply.hopeless) {
    fail(batch_name(batch) + ": " + what);
    return std::nullopt;
  }
  if (may_pass(reply.status)) {
    if (++failures > run_.flags.retries) {
      fail(batch_name(batch) + " failed " + std::to_string(failures) + " times: " + what);
      return std::nullopt;
    }
    const auto delay = backoff(failures);
    progress_.note(batch_name(batch) + ": " + what + "; trying again in " + format_duration(delay.count()));
    return delay;
  }
  if (asks_to_wait(reply.status)) {
    const auto delay = std::chrono::seconds(std::min(reply.retry_after.value_or(kDefaultRetryAfter), kMaxRetryAfter));
    if (reply.status != 409) progress_.note(batch_name(batch) + ": " + what + "; waiting " + format_duration(delay.count()) + " as asked");
    return delay;
  }
  fail(batch_name(batch) + " refused: " + what);
  return std::nullopt;
}

void ApiCampaign::accept(const Batch& batch, const http::ClientReply& reply) {
  const json parsed = json::parse(reply.body, nullptr, false);
  if (!parsed.is_object()) return fail(batch_name(batch) + ": the server's reply (200) is not a JSON object");
  record(batch, batch_results(batch, parsed));
}

void ApiCampaign::record(const Batch& batch, const std::vector<RecipientResult>& results) {
  for (const auto& r : results) progress_.add(r.status);
  if (std::string error = run_.state->record(batch.number, results, true); !error.empty()) fail(std::move(error));
}

}  // namespace

std::optional<http::Url> parse_api_url(std::string_view text, std::string& error) {
  constexpr std::string_view kEndpoint = "/api/v1/messages";
  auto url = http::parse_url(text, error);
  if (url && !url->target.ends_with(kEndpoint)) url->target += std::string(kEndpoint);
  return url;
}

CampaignOutcome run_api_campaign(CampaignRun& run, const http::Url& url, const std::string& token) {
  ApiCampaign campaign(run, url, token);
  return campaign.run();
}

}  // namespace petrel::cli

#pragma GCC diagnostic pop
