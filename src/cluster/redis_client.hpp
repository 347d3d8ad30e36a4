// A Redis client for a node's shared state (cluster-wide limits, the
// heartbeat; later the suppression list): Debian's libhiredis in its
// asynchronous form, driven by the caller's Boost.Asio io_context, so it
// never blocks the thread that runs it. Every request has a timeout; a
// request that times out drops the connection (a slow Redis is treated as
// a missing one), and the client reconnects by itself with a back-off.
// All of it runs on the io_context's thread.
#pragma once

#include <utility>  // Boost 1.74's Asio needs std::exchange declared first

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/redis_url.hpp"

namespace petrel::cluster {

// A reply, out of hiredis' types. `error`: the request failed (no
// connection, timed out, or Redis said -ERR); `text` then says why.
struct RedisReply {
  enum class Type { nil, integer, string, status, array, error };
  Type type = Type::nil;
  std::int64_t integer = 0;
  std::string text;
  std::vector<RedisReply> elements;
  bool failed() const { return type == Type::error; }
  static RedisReply failure(std::string why) { return {Type::error, 0, std::move(why), {}}; }
};

// A Lua script, sent by EVALSHA; its text goes once per server (EVAL on NOSCRIPT).
struct RedisScript {
  explicit RedisScript(std::string text);
  std::string text;
  std::string sha1;  // hex
};

struct RedisOptions {
  RedisUrl url;
  std::string password;  // used when the URL has none
  // rediss:// (url.tls): the CAs that sign Redis' certificate ("": the
  // system's), and a client certificate and key when Redis asks for one.
  std::string tls_ca, tls_cert, tls_key;
  std::chrono::milliseconds timeout{200};
  std::size_t max_in_flight = 1000;  // beyond: failed at once
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{2000};
};

class RedisClient {
 public:
  using Done = std::function<void(const RedisReply&)>;
  // Each request names its purpose ("rate", "lease", "heartbeat", ...),
  // for petrel_redis_requests_total; every one is a round trip.
  RedisClient(boost::asio::io_context& io, RedisOptions options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  void start();  // connects (and keeps reconnecting)
  // `timeout`: this request's own (a blocking XREAD, say); default the client's.
  // Not for SUBSCRIBE: replies are matched to requests one for one.
  void command(std::vector<std::string> args, std::string_view purpose, Done done,
               std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  void eval(const RedisScript& script, std::vector<std::string> keys, std::vector<std::string> args,
            std::string_view purpose, Done done);
  bool connected() const;
  std::uint64_t round_trips() const { return round_trips_; }
  // Called when a connection is up (AUTH and SELECT sent) or lost.
  void on_state(std::function<void(bool up)> f) { on_state_ = std::move(f); }

  struct Impl;  // the hiredis side (redis_client.cpp)

 private:
  std::shared_ptr<Impl> impl_;
  std::uint64_t round_trips_ = 0;
  std::function<void(bool)> on_state_;
  friend struct Impl;
};

}  // namespace petrel::cluster
