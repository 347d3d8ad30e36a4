#include "cluster/node_link.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <future>

#include "cluster/cluster_status.hpp"
#include "util/async_callback.hpp"

namespace petrel::cluster {
namespace asio = boost::asio;
using nlohmann::json;

namespace {

RedisOptions reader_options(RedisOptions o, const std::optional<SuppressSyncOptions>& s) {
  // XREAD BLOCK holds the request open for the block time: the reader's
  // timeout is that plus the usual one.
  if (s) o.timeout += s->block;
  return o;
}

template <typename Token>
auto async_command(RedisClient& client, std::vector<std::string> args, Token&& token) {
  auto start = [&client, args = std::move(args)](std::function<void(RedisReply)> done) mutable {
    client.command(std::move(args), "status", [done](const RedisReply& r) { done(r); });
  };
  return util::async_callback<RedisReply>(std::move(start), std::forward<Token>(token));
}

json failure(const std::string& why) { return {{"error", why}}; }

// Every node's heartbeat: three round trips (TIME, ZRANGE, MGET).
asio::awaitable<json> gather_nodes(RedisClient& redis, std::string self) {
  std::vector<std::string> time_args{"TIME"};
  const RedisReply time = co_await async_command(redis, std::move(time_args), asio::use_awaitable);
  if (time.failed() || time.elements.size() != 2) co_return failure(time.text);
  const std::int64_t now_ms = std::stoll(time.elements[0].text) * 1000 + std::stoll(time.elements[1].text) / 1000;
  std::vector<std::string> range{"ZRANGE", std::string(kNodesKey), "0", "-1", "WITHSCORES"};
  const RedisReply seen = co_await async_command(redis, std::move(range), asio::use_awaitable);
  if (seen.failed()) co_return failure(seen.text);
  std::vector<std::pair<std::string, std::int64_t>> names;
  std::vector<std::string> mget{"MGET"};
  for (std::size_t i = 0; i + 1 < seen.elements.size(); i += 2) {
    names.emplace_back(seen.elements[i].text, static_cast<std::int64_t>(std::stod(seen.elements[i + 1].text)));
    mget.push_back(std::string(kNodeKeyPrefix) + seen.elements[i].text);
  }
  std::vector<std::optional<std::string>> beats;
  if (!names.empty()) {
    const RedisReply values = co_await async_command(redis, std::move(mget), asio::use_awaitable);
    if (values.failed()) co_return failure(values.text);
    for (const auto& v : values.elements) {
      beats.push_back(v.type == RedisReply::Type::string ? std::optional<std::string>(v.text) : std::nullopt);
    }
  }
  json out = json::object();
  out["nodes"] = node_rows(now_ms, names, beats, self);
  co_return out;
}

}  // namespace

NodeLink::NodeLink(NodeLinkOptions options, spool::Spool& spool)
    : options_(std::move(options)), writer_(io_, options_.redis) {
  if (options_.suppression) {
    reader_ = std::make_unique<RedisClient>(io_, reader_options(options_.redis, options_.suppression));
    options_.suppression->node_name = options_.node_name;
    sync_ = std::make_unique<SuppressSync>(io_, writer_, *reader_, spool, *options_.suppression);
  }
}

NodeLink::~NodeLink() { stop(); }

void NodeLink::start() {
  writer_.start();
  if (reader_) reader_->start();
  if (sync_) sync_->start();
  thread_ = std::thread([this] {
    auto work = asio::make_work_guard(io_);
    io_.run();
  });
}

void NodeLink::stop() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

void NodeLink::local_changes(const std::vector<suppress::Change>& changes) {
  if (sync_) sync_->local_changes(changes);
}

json NodeLink::status(std::chrono::milliseconds timeout) {
  json out = {{"ok", true}, {"cluster", true}, {"node", options_.node_name}, {"links", health()}};
  auto promise = std::make_shared<std::promise<json>>();
  auto answer = promise->get_future();
  asio::co_spawn(
      io_,
      [this]() -> asio::awaitable<json> {
        json redis = {{"url", redacted(options_.redis.url)}, {"connected", writer_.connected()}};
        redis["suppression"] = sync_ ? sync_->status() : json{{"state", "off"}};
        if (writer_.connected()) redis.update(co_await gather_nodes(writer_, options_.node_name));
        co_return redis;
      },
      [promise](std::exception_ptr e, json redis) {
        if (e) redis = {{"connected", false}, {"error", "cannot read the heartbeats"}};
        promise->set_value(std::move(redis));
      });
  if (answer.wait_for(timeout) != std::future_status::ready) {
    out["redis"] = {{"url", redacted(options_.redis.url)}, {"connected", false}, {"error", "Redis did not answer in time"}};
    return out;
  }
  json redis = answer.get();
  if (redis.contains("nodes")) out["nodes"] = redis["nodes"];
  redis.erase("nodes");
  out["redis"] = std::move(redis);
  return out;
}

}  // namespace petrel::cluster
