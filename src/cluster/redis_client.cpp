// hiredis' asynchronous API on a Boost.Asio io_context: hiredis says when
// it wants to read or write (the ev hooks), an Asio stream_descriptor
// waits for the socket to be ready (async_wait) and hands the event back
// (redisAsyncHandleRead/Write). hiredis owns the socket; the descriptor
// only watches it and is released, never closed.
#include "cluster/redis_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "cluster/cluster_metrics.hpp"
#include "cluster/tls_tunnel.hpp"

namespace petrel::cluster {
namespace asio = boost::asio;

RedisScript::RedisScript(std::string t) : text(std::move(t)) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char b : digest) {
    sha1 += kHex[b >> 4];
    sha1 += kHex[b & 15];
  }
}

namespace {

RedisReply convert(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::string;
      out.text.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::status;
      out.text.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::error;
      out.text.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::array;
      for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      break;
  }
  return out;
}

// One connection's socket, as hiredis asks it to be watched.
struct Watch {
  explicit Watch(asio::io_context& io) : socket(io) {}
  redisAsyncContext* ac = nullptr;  // null once hiredis cleaned up
  asio::posix::stream_descriptor socket;
  bool want_read = false, want_write = false;
  bool reading = false, writing = false;
};

void arm(const std::shared_ptr<Watch>& w, bool read);

void on_ready(const std::shared_ptr<Watch>& w, bool read, const boost::system::error_code& ec) {
  (read ? w->reading : w->writing) = false;
  if (!w->ac || ec == asio::error::operation_aborted) return;
  if (read) {
    redisAsyncHandleRead(w->ac);
  } else {
    redisAsyncHandleWrite(w->ac);
  }
  // hiredis may have freed the context meanwhile (cleanup cleared ac).
  if (w->ac && (read ? w->want_read : w->want_write)) arm(w, read);
}

void arm(const std::shared_ptr<Watch>& w, bool read) {
  bool& busy = read ? w->reading : w->writing;
  if (busy) return;
  busy = true;
  w->socket.async_wait(read ? asio::posix::stream_descriptor::wait_read : asio::posix::stream_descriptor::wait_write,
                       [w, read](const boost::system::error_code& ec) { on_ready(w, read, ec); });
}

// The hooks keep a raw Watch* (ev.data); the shared_ptr lives in the
// client (Impl::watch) and in each pending wait.
std::shared_ptr<Watch>* holder(void* data) { return static_cast<std::shared_ptr<Watch>*>(data); }
void add_read(void* data) {
  auto& w = *holder(data);
  w->want_read = true;
  arm(w, true);
}
void del_read(void* data) { (*holder(data))->want_read = false; }
void add_write(void* data) {
  auto& w = *holder(data);
  w->want_write = true;
  arm(w, false);
}
void del_write(void* data) { (*holder(data))->want_write = false; }
void cleanup(void* data) {
  auto* h = holder(data);
  auto& w = *h;
  w->ac = nullptr;
  boost::system::error_code ignored;
  w->socket.cancel(ignored);
  w->socket.release();  // hiredis closes the socket
  delete h;
}

}  // namespace

struct RedisClient::Impl : std::enable_shared_from_this<RedisClient::Impl> {
  // A request on its way: hiredis owns it (privdata) until it calls back.
  struct Outcome {
    RedisClient::Done done;
    bool answered = false;
    std::string purpose;
  };
  struct Request {
    std::shared_ptr<Outcome> outcome;
    std::unique_ptr<asio::steady_timer> timer;
    const RedisScript* script = nullptr;  // EVALSHA: sent again as EVAL on NOSCRIPT
    std::vector<std::string> args;        // as sent (EVALSHA sha ...)
  };

  Impl(asio::io_context& i, RedisOptions o, RedisClient& c)
      : io(i), options(std::move(o)), client(c), reconnect_timer(i), resolver(i) {}

  asio::io_context& io;
  RedisOptions options;
  RedisClient& client;
  redisAsyncContext* ac = nullptr;
  bool up = false;
  bool closing = false;
  std::size_t in_flight = 0;
  std::chrono::milliseconds backoff{0};
  asio::steady_timer reconnect_timer;
  asio::ip::tcp::resolver resolver;
  std::unique_ptr<TlsTunnel> tunnel;  // rediss://: hiredis speaks to it, it speaks TLS to Redis
  bool logged_down = false;

  void connect();
  void connect_to(const std::string& address);
  void lost(const redisAsyncContext* which, const std::string& why);
  void schedule_reconnect();
  void send(std::vector<std::string> args, std::shared_ptr<Outcome> outcome, const RedisScript* script,
            std::chrono::milliseconds timeout);
  void send(std::vector<std::string> args, std::shared_ptr<Outcome> outcome, const RedisScript* script) {
    send(std::move(args), std::move(outcome), script, options.timeout);
  }
  void fail_later(std::shared_ptr<Outcome> outcome, std::string why);
  void finish(Outcome& outcome, const RedisReply& reply, const char* result);
  void drop(const std::string& why);
  static void on_reply(redisAsyncContext* c, void* reply, void* privdata);
  static void on_connect(const redisAsyncContext* c, int status);
  static void on_disconnect(const redisAsyncContext* c, int status);
};

void RedisClient::Impl::connect() {
  if (closing) return;
  if (options.url.tls) {
    if (!tunnel) {
      try {
        tunnel = std::make_unique<TlsTunnel>(io, TlsTunnelOptions{options.url.host, options.url.port, options.tls_ca,
                                                                   options.tls_cert, options.tls_key});
      } catch (const std::exception& e) {
        return lost(nullptr, e.what());
      }
    }
    return connect_to("");  // the tunnel looks the name up itself
  }
  boost::system::error_code ec;
  asio::ip::make_address(options.url.host, ec);
  if (!ec) return connect_to(options.url.host);
  // A name: looked up without blocking the thread (hiredis would).
  std::weak_ptr<Impl> weak = weak_from_this();
  resolver.async_resolve(options.url.host, std::to_string(options.url.port),
                         [weak](const boost::system::error_code& e, asio::ip::tcp::resolver::results_type results) {
                           auto self = weak.lock();
                           if (!self || self->closing) return;
                           if (e || results.empty()) {
                             self->lost(nullptr, "cannot resolve " + self->options.url.host + ": " + e.message());
                             return;
                           }
                           self->connect_to(results.begin()->endpoint().address().to_string());
                         });
}

void RedisClient::Impl::connect_to(const std::string& address) {
  redisAsyncContext* c = tunnel ? redisAsyncConnectUnix(tunnel->socket_path().c_str())
                                : redisAsyncConnect(address.c_str(), options.url.port);
  if (!c || c->err) {
    const std::string why = c ? c->errstr : "out of memory";
    if (c) redisAsyncFree(c);
    return lost(nullptr, why);
  }
  auto watch = std::make_shared<Watch>(io);
  watch->ac = c;
  boost::system::error_code ec;
  watch->socket.assign(c->c.fd, ec);
  c->ev.data = new std::shared_ptr<Watch>(watch);
  c->ev.addRead = add_read;
  c->ev.delRead = del_read;
  c->ev.addWrite = add_write;
  c->ev.delWrite = del_write;
  c->ev.cleanup = cleanup;
  c->data = this;
  redisAsyncSetConnectCallback(c, on_connect);
  redisAsyncSetDisconnectCallback(c, on_disconnect);
  ac = c;
  // The first requests of a connection; the PING also makes hiredis
  // wait for the socket to be writable, which completes the connect.
  const std::string password = options.url.password.empty() ? options.password : options.url.password;
  auto quiet = [](const RedisReply&) {};
  auto setup = [&](std::vector<std::string> args) {
    send(std::move(args), std::make_shared<Outcome>(Outcome{quiet, false, "connect"}), nullptr);
  };
  if (!password.empty()) setup({"AUTH", password});
  if (options.url.db != 0) setup({"SELECT", std::to_string(options.url.db)});
  std::weak_ptr<Impl> weak = weak_from_this();
  send({"PING"},
       std::make_shared<Outcome>(Outcome{[weak, c](const RedisReply& r) {
                                           auto self = weak.lock();
                                           if (!self || self->ac != c || r.failed()) return;
                                           self->backoff = std::chrono::milliseconds(0);
                                           if (!self->up) {
                                             self->up = true;
                                             if (self->logged_down) {
                                               spdlog::info("redis: connected again to {}", redacted(self->options.url));
                                             }
                                             self->logged_down = false;
                                             if (self->client.on_state_) self->client.on_state_(true);
                                           }
                                         },
                                         false, "connect"}),
       nullptr);
}

void RedisClient::Impl::on_connect(const redisAsyncContext* c, int status) {
  if (status == REDIS_OK) return;  // up once the PING is answered
  static_cast<Impl*>(c->data)->lost(c, c->errstr);
}

void RedisClient::Impl::on_disconnect(const redisAsyncContext* c, int) {
  static_cast<Impl*>(c->data)->lost(c, c->err ? c->errstr : "connection closed");
}

// The connection is gone (or never came): requests still out were or will
// be answered as failed by hiredis; a new connection after the back-off.
void RedisClient::Impl::lost(const redisAsyncContext* which, const std::string& why) {
  if (which && which != ac) return;
  ac = nullptr;
  const bool was_up = up;
  up = false;
  if (!logged_down) {
    spdlog::warn("redis: {} unreachable: {} (retrying)", redacted(options.url), why);
    logged_down = true;
  }
  if (was_up && client.on_state_) client.on_state_(false);
  schedule_reconnect();
}

void RedisClient::Impl::schedule_reconnect() {
  if (closing) return;
  backoff = std::clamp(backoff * 2, options.min_backoff, options.max_backoff);
  reconnect_timer.expires_after(backoff);
  std::weak_ptr<Impl> weak = weak_from_this();
  reconnect_timer.async_wait([weak](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (!ec && self && !self->ac) self->connect();
  });
}

// Drops a connection that does not answer in time: its requests fail now
// (hiredis calls them back with no reply), and a new one is made.
void RedisClient::Impl::drop(const std::string& why) {
  redisAsyncContext* c = ac;
  if (!c) return;
  lost(c, why);
  redisAsyncFree(c);
}

void RedisClient::Impl::finish(Outcome& outcome, const RedisReply& reply, const char* result) {
  if (outcome.answered) return;
  outcome.answered = true;
  metrics::redis_requests().with({outcome.purpose, result}).inc();
  if (!closing && outcome.done) outcome.done(reply);
}

void RedisClient::Impl::fail_later(std::shared_ptr<Outcome> outcome, std::string why) {
  std::weak_ptr<Impl> weak = weak_from_this();
  asio::post(io, [weak, outcome, why = std::move(why)] {
    if (auto self = weak.lock()) self->finish(*outcome, RedisReply::failure(why), "error");
  });
}

void RedisClient::Impl::send(std::vector<std::string> args, std::shared_ptr<Outcome> outcome,
                             const RedisScript* script, std::chrono::milliseconds timeout) {
  if (!ac) return fail_later(std::move(outcome), "not connected to Redis");
  if (in_flight >= options.max_in_flight) return fail_later(std::move(outcome), "too many Redis requests in flight");
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  auto request = std::make_unique<Request>();
  request->outcome = outcome;
  request->script = script;
  request->timer = std::make_unique<asio::steady_timer>(io);
  request->timer->expires_after(timeout);
  std::weak_ptr<Impl> weak = weak_from_this();
  request->timer->async_wait([weak, outcome](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || outcome->answered) return;
    self->finish(*outcome, RedisReply::failure("Redis did not answer in time"), "timeout");
    self->drop("a request timed out");
  });
  if (redisAsyncCommandArgv(ac, on_reply, request.get(), static_cast<int>(argv.size()), argv.data(), lengths.data()) !=
      REDIS_OK) {
    return fail_later(std::move(outcome), "Redis connection is closing");
  }
  request->args = std::move(args);
  request.release();
  ++in_flight;
  ++client.round_trips_;
  metrics::redis_round_trips()().inc();
}

void RedisClient::Impl::on_reply(redisAsyncContext* c, void* reply, void* privdata) {
  std::unique_ptr<Request> request(static_cast<Request*>(privdata));
  auto* self = static_cast<Impl*>(c->data);
  --self->in_flight;
  request->timer.reset();  // cancelled: its handler sees operation_aborted
  Outcome& outcome = *request->outcome;
  if (outcome.answered) return;
  if (!reply) return self->finish(outcome, RedisReply::failure("connection to Redis lost"), "error");
  RedisReply r = convert(static_cast<redisReply*>(reply));
  if (r.failed() && request->script && r.text.rfind("NOSCRIPT", 0) == 0) {
    // This server has not seen the script yet: once with its text.
    std::vector<std::string> args = std::move(request->args);
    args[0] = "EVAL";
    args[1] = request->script->text;
    return self->send(std::move(args), request->outcome, nullptr);
  }
  self->finish(outcome, r, r.failed() ? "error" : "ok");
}

RedisClient::RedisClient(asio::io_context& io, RedisOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options), *this)) {
  metrics::register_all();
}

RedisClient::~RedisClient() {
  impl_->closing = true;
  impl_->reconnect_timer.cancel();
  if (redisAsyncContext* c = impl_->ac) {
    impl_->ac = nullptr;
    redisAsyncFree(c);
  }
}

void RedisClient::start() { impl_->connect(); }

bool RedisClient::connected() const { return impl_->up; }

void RedisClient::command(std::vector<std::string> args, std::string_view purpose, Done done,
                          std::optional<std::chrono::milliseconds> timeout) {
  impl_->send(std::move(args), std::make_shared<Impl::Outcome>(Impl::Outcome{std::move(done), false, std::string(purpose)}),
              nullptr, timeout.value_or(impl_->options.timeout));
}

void RedisClient::eval(const RedisScript& script, std::vector<std::string> keys, std::vector<std::string> args,
                       std::string_view purpose, Done done) {
  std::vector<std::string> argv{"EVALSHA", script.sha1, std::to_string(keys.size())};
  for (auto& k : keys) argv.push_back(std::move(k));
  for (auto& a : args) argv.push_back(std::move(a));
  impl_->send(std::move(argv),
              std::make_shared<Impl::Outcome>(Impl::Outcome{std::move(done), false, std::string(purpose)}), &script);
}

}  // namespace petrel::cluster
