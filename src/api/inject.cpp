#include "api/inject.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <random>

#include "api/compose.hpp"
#include "api/inject_request.hpp"
#include "dkim/signer.hpp"
#include "events/mail_events.hpp"
#include "events/outbox.hpp"
#include "metrics/petrel_metrics.hpp"
#include "queue/queue_manager.hpp"
#include "spool/spool.hpp"
#include "suppress/suppression_list.hpp"
#include "suppress/unsubscribe.hpp"
#include "util/async_callback.hpp"

namespace petrel::api {
namespace asio = boost::asio;
using nlohmann::json;
using http::Problem;

namespace {

constexpr unsigned kRetryFull = 60;     // seconds, when the disk is short
constexpr unsigned kRetryBacklog = 30;  // when the queue is over max_queued

// Completes with the spool's verdict on the caller's executor.
template <typename Token>
auto async_store_group(spool::Spool& spool, std::vector<std::shared_ptr<const spool::SpooledMessage>> messages,
                       std::vector<spool::Spool::Record> records, Token&& token) {
  auto start = [&spool, messages = std::move(messages),
                records = std::move(records)](std::function<void(std::error_code)> done) mutable {
    spool.store_group(std::move(messages), std::move(records), std::move(done));
  };
  return util::async_callback<std::error_code>(std::move(start), std::forward<Token>(token));
}

std::string hex_sha256(std::string_view text) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char c : d) {
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

std::string window_suffix(std::size_t window) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08zu", window);
  return buf;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string ip_of(const std::string& peer) {
  std::string ip = peer.substr(0, peer.rfind(':'));
  if (ip.size() >= 2 && ip.front() == '[') ip = ip.substr(1, ip.size() - 2);
  return ip;
}

}  // namespace

// One request being served: its results so far, window by window.
struct Injector::Run {
  const http::Request& http;
  const http::Caller& caller;
  InjectRequest request;
  std::string key;  // "i/<caller>/<digest>" or "" without idempotency
  json accepted_messages = json::array();
  json rejected = json::array();
};

Injector::Injector(InjectOptions options, spool::Spool& spool, queue::QueueManager& queue,
                   suppress::SuppressionList& suppressions, const suppress::UnsubscribeTokens& tokens)
    : options_(std::move(options)), spool_(spool), queue_(queue), suppressions_(suppressions), tokens_(tokens) {}

bool Injector::wants_unsubscribe(const Run& run) const {
  if (run.request.unsubscribe) return *run.request.unsubscribe;
  const auto& campaigns = options_.unsubscribe_campaigns;
  return std::any_of(campaigns.begin(), campaigns.end(),
                     [&](const std::string& c) { return c == "*" || (!run.request.campaign.empty() && c == run.request.campaign); });
}

bool Injector::claim(const std::string& key) {
  std::lock_guard lock(mutex_);
  return in_progress_.insert(key).second;
}

void Injector::release(const std::string& key) {
  std::lock_guard lock(mutex_);
  in_progress_.erase(key);
}

std::shared_ptr<spool::SpooledMessage> Injector::make_message(const Run& run, const smtp::Address& to) const {
  auto m = std::make_shared<spool::SpooledMessage>();
  m->id = spool::make_queue_id();
  smtp::Envelope& e = m->envelope;
  e.reverse_path.mailbox = run.request.envelope_sender;
  e.recipients.push_back({to, smtp::notify_unspecified, ""});
  e.client_address = ip_of(run.http.peer);
  e.protocol = run.http.tls ? "HTTPS" : "HTTP";
  e.auth_user = run.caller.name;
  e.campaign = run.request.campaign;
  e.tenant = run.request.tenant;
  const auto non_ascii = [](std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
  };
  e.params.smtputf8 = non_ascii(to.str()) || non_ascii(run.request.envelope_sender.str());
  m->arrival_unix_seconds = unix_now();
  return m;
}

// Window by window: a window already stored (the same request before a
// crash or a lost reply) is taken from its record, not stored again.
asio::awaitable<std::error_code> Injector::store_all(Run& run, Composer& composer) {
  const auto& recipients = run.request.recipients;
  std::mt19937_64 random(std::random_device{}());
  const bool unsubscribe = wants_unsubscribe(run);
  std::vector<std::pair<std::string, std::string>> extra;
  for (std::size_t w = 0; w * options_.window < recipients.size(); ++w) {
    const std::size_t begin = w * options_.window;
    const std::size_t end = std::min(recipients.size(), begin + options_.window);
    const std::string window_key = run.key.empty() ? "" : run.key + "/w/" + window_suffix(w);
    json messages = json::array();
    json rejected = json::array();
    std::string done;
    std::error_code read_error;
    if (!window_key.empty() && spool_.read_record(window_key, done, read_error)) {
      auto record = json::parse(done, nullptr, false);
      if (!record.is_discarded()) {
        for (auto& m : record["messages"]) run.accepted_messages.push_back(std::move(m));
        for (auto& r : record["rejected"]) run.rejected.push_back(std::move(r));
        continue;
      }
    }
    std::vector<std::shared_ptr<const spool::SpooledMessage>> batch;
    std::vector<spool::Spool::Record> records;
    for (std::size_t i = begin; i < end; ++i) {
      const RecipientSpec& r = recipients[i];
      smtp::Address to;
      if (std::string why = check_email(r.email, to); !why.empty()) {
        rejected.push_back({{"email", r.email}, {"reason", std::move(why)}});
        continue;
      }
      std::error_code ec;
      if (const auto entry = suppressions_.find(run.request.tenant, to.str(), ec)) {
        rejected.push_back({{"email", r.email},
                            {"reason", "suppressed (" + std::string(suppress::to_string(entry->reason)) + ")"},
                            {"suppressed", suppress::to_string(entry->reason)}});
        continue;
      }
      if (ec) co_return ec;  // an unreadable list is no reason to mail someone who left it
      auto m = make_message(run, to);
      extra.clear();
      if (unsubscribe) {
        const suppress::Subscription who{suppress::normalize(to.str()), run.request.campaign, run.request.tenant};
        const std::string token = tokens_.make(m->id.value, who);
        std::string links = "<" + options_.public_url + "/u/" + token + ">";
        if (!options_.mailto_domain.empty()) links += ", <mailto:unsubscribe+" + token + "@" + options_.mailto_domain + ">";
        extra.emplace_back("List-Unsubscribe", links);
        extra.emplace_back("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
        records.push_back({suppress::subscription_key(m->id.value), suppress::subscription_value(who)});
      }
      m->content = composer.compose(r, extra, m->arrival_unix_seconds, random(), options_.hostname, m->id.value);
      if (options_.dkim_keys && !options_.dkim_keys->empty()) {
        m->content.insert(0, dkim::sign_all(*options_.dkim_keys, m->content, m->arrival_unix_seconds));
      }
      if (std::any_of(m->content.begin(), m->content.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
        m->envelope.params.body = smtp::BodyType::eight_bit_mime;
      }
      messages.push_back({{"email", r.email}, {"queue_id", m->id.value}});
      batch.push_back(std::move(m));
    }
    if (!window_key.empty()) {
      records.push_back({window_key, json{{"at", unix_now()}, {"messages", messages}, {"rejected", rejected}}.dump()});
    }
    // Their receptions go in the same commit, to the webhook outbox.
    std::vector<events::Event> receptions;
    if (events::wanted()) {
      for (const auto& m : batch) receptions.push_back(events::reception(*m, "api", ip_of(run.http.peer)));
      for (auto& r : events::outbox_records(receptions)) records.push_back(std::move(r));
    }
    if (!batch.empty() || !records.empty()) {
      const std::error_code ec = co_await async_store_group(spool_, batch, std::move(records), asio::use_awaitable);
      if (ec) co_return ec;
    }
    metrics::messages_received().with({"api"}).inc(batch.size());
    for (const auto& e : receptions) events::emit(e);
    for (auto& m : batch) {
      spdlog::info("message qid={} client=api:{} from=<{}> to=<{}> size={}{}{} result=queued", m->id.value, run.caller.name,
                   m->envelope.reverse_path.mailbox->str(), m->envelope.recipients[0].forward_path.str(), m->content.size(),
                   run.request.campaign.empty() ? "" : " campaign=" + run.request.campaign,
                   run.request.tenant.empty() ? "" : " tenant=" + run.request.tenant);
      queue_.submit(std::move(m));
    }
    for (auto& m : messages) run.accepted_messages.push_back(std::move(m));
    for (auto& r : rejected) run.rejected.push_back(std::move(r));
  }
  co_return std::error_code{};
}

asio::awaitable<http::Response> Injector::handle(const http::Request& http_request, const http::Caller& caller) {
  if (http_request.content_type != "application/json") {
    co_return to_response(Problem{415, "Unsupported Media Type", "send the request as Content-Type: application/json"});
  }
  // Refused before any work: the client retries later, nothing half done.
  if (spool_.short_of_space()) {
    co_return to_response(Problem{503, "Service Unavailable", "the spool is short of disk space ([spool] min_free_space)",
                                  "", 0, 0, kRetryFull});
  }
  if (spool_.size() >= options_.max_queued) {
    co_return to_response(Problem{503, "Service Unavailable",
                                  "the queue holds " + std::to_string(spool_.size()) + " messages ([http] max_queued)",
                                  "", 0, 0, kRetryBacklog});
  }
  auto parsed = parse_inject_request(http_request.body, {.max_recipients = options_.max_recipients});
  if (auto* problem = std::get_if<Problem>(&parsed)) co_return to_response(*problem);
  Run run{http_request, caller, std::move(std::get<InjectRequest>(parsed)), "", json::array(), json::array()};
  InjectRequest& request = run.request;

  if (!caller.tenant.empty()) {
    if (!request.tenant.empty() && request.tenant != caller.tenant) {
      co_return to_response(Problem{403, "Forbidden", "this token may only send for tenant '" + caller.tenant + "'", "/tenant"});
    }
    request.tenant = caller.tenant;
  }
  if (request.idempotency_key.empty()) request.idempotency_key = http_request.idempotency_key;

  auto composer = Composer::make(request);
  if (auto* problem = std::get_if<Problem>(&composer)) co_return to_response(*problem);

  if (!request.idempotency_key.empty()) {
    run.key = "i/" + caller.name + "/" + hex_sha256(request.idempotency_key);
    std::string stored;
    std::error_code ec;
    if (spool_.read_record(run.key, stored, ec)) {
      auto record = json::parse(stored, nullptr, false);
      if (!record.is_discarded() && record.value("at", std::int64_t{0}) + options_.idempotency_lifetime.count() > unix_now()) {
        auto response = http::json_response(200, record["reply"].dump());
        response.headers.emplace_back("Idempotent-Replayed", "true");
        co_return response;
      }
    }
    if (!claim(run.key)) {
      co_return to_response(Problem{409, "Conflict", "a request with this idempotency_key is being served now", "/idempotency_key",
                                    0, 0, 1});
    }
  }
  struct Release {
    Injector& self;
    const std::string& key;
    ~Release() {
      if (!key.empty()) self.release(key);
    }
  } release_key{*this, run.key};

  const auto started = std::chrono::steady_clock::now();
  const std::error_code ec = co_await store_all(run, std::get<Composer>(composer));
  if (ec) {
    const bool full = ec == std::errc::no_space_on_device;
    spdlog::error("api client={} token={} result=not-stored error=\"{}\"", http_request.peer, caller.name, ec.message());
    co_return to_response(Problem{503, "Service Unavailable",
                                  full ? "the spool is short of disk space" : "the spool could not store the messages",
                                  "", 0, 0, full ? kRetryFull : 5u});
  }
  json reply = {{"accepted", run.accepted_messages.size()},
                {"rejected", std::move(run.rejected)},
                {"messages", std::move(run.accepted_messages)}};
  const std::string body = reply.dump(-1, ' ', false, json::error_handler_t::replace);
  if (!run.key.empty()) {
    // The whole reply replaces the windows' records, in one write.
    std::vector<spool::Spool::Record> records{{run.key, json{{"at", unix_now()}, {"reply", reply}}.dump()}};
    for (std::size_t w = 0; w * options_.window < request.recipients.size(); ++w) {
      records.push_back({run.key + "/w/" + window_suffix(w), std::nullopt});
    }
    co_await async_store_group(spool_, {}, std::move(records), asio::use_awaitable);
  }
  spdlog::info("api client={} token={} campaign={} tenant={} recipients={} accepted={} rejected={} duration={:.3f}s",
               http_request.peer, caller.name, request.campaign.empty() ? "-" : request.campaign,
               request.tenant.empty() ? "-" : request.tenant, request.recipients.size(), reply["accepted"].get<std::size_t>(),
               reply["rejected"].size(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  co_return http::json_response(200, body);
}

}  // namespace petrel::api
