// The I/O around one smtp::ServerSession: read with a timeout, feed the
// session, write its replies, and store finished messages in the spool
// before the session may say 250.
#include "server/connection.hpp"

#include <array>
#include <chrono>
#include <cstring>
#include <optional>
#include <ctime>

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "smtp/received_header.hpp"
#include "smtp/reply_codes.hpp"
#include "smtp/server_session.hpp"

namespace petrel::server {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// An idle session keeps a small read buffer; one receiving a message gets a
// large one for as long as the message lasts, so thousands of idle sessions
// cost little and a 50 MiB message is not read 4 KiB at a time.
constexpr std::size_t kCommandBufferSize = 4 * 1024;
constexpr std::size_t kMessageBufferSize = 64 * 1024;

// Socket and timer shared with the timer's handler, which may run after the
// coroutine has moved on; the generation tells a stale expiry from a live one.
struct Io {
  explicit Io(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
  tcp::socket socket;
  asio::steady_timer timer;
  std::uint64_t generation = 0;
  bool timed_out = false;
};

void arm_timer(const std::shared_ptr<Io>& io, std::chrono::milliseconds timeout) {
  const std::uint64_t generation = ++io->generation;
  io->timed_out = false;
  io->timer.expires_after(timeout);
  io->timer.async_wait([io, generation](const boost::system::error_code& ec) {
    if (ec || io->generation != generation) return;
    io->timed_out = true;
    boost::system::error_code ignored;
    io->socket.cancel(ignored);
  });
}

void disarm_timer(const std::shared_ptr<Io>& io) {
  ++io->generation;
  io->timer.cancel();
}

// Completes with the spool's verdict on the caller's executor.
template <typename Token>
auto async_store(spool::Spool& spool, const std::shared_ptr<const spool::SpooledMessage>& message, Token&& token) {
  return asio::async_initiate<Token, void(std::error_code)>(
      [&spool, message](auto handler) {
        auto executor = asio::get_associated_executor(handler);
        auto shared_handler = std::make_shared<decltype(handler)>(std::move(handler));
        spool.store(message, [shared_handler, executor](std::error_code ec) {
          asio::post(executor, [shared_handler, ec]() { (*shared_handler)(ec); });
        });
      },
      token);
}

std::string join_recipients(const smtp::Envelope& envelope) {
  std::string out;
  for (const auto& r : envelope.recipients) {
    if (!out.empty()) out += ',';
    out += '<' + r.forward_path.str() + '>';
  }
  return out;
}

std::shared_ptr<spool::SpooledMessage> prepare(smtp::ReceivedMessage received, const config::Config& config) {
  auto message = std::make_shared<spool::SpooledMessage>();
  message->id = spool::make_queue_id();
  message->arrival_unix_seconds = std::time(nullptr);
  const std::string trace = smtp::received_header(received.envelope, config.hostname, message->id.value,
                                                  static_cast<std::time_t>(message->arrival_unix_seconds));
  message->content.reserve(trace.size() + received.content.size());
  message->content = trace;
  message->content += received.content;
  message->envelope = std::move(received.envelope);
  return message;
}

class Connection {
 public:
  Connection(tcp::socket socket, SessionContext& context, std::string client_ip, std::string peer)
      : io_(std::make_shared<Io>(std::move(socket))),
        context_(context),
        session_(context.config.session, context.policy, std::move(client_ip)),
        peer_(std::move(peer)) {}

  asio::awaitable<void> run(ConnectionLimiter::Verdict verdict) {
    namespace codes = smtp::codes;
    if (verdict == ConnectionLimiter::Verdict::admitted) {
      session_.greet();
    } else {
      session_.refuse(smtp::Reply(codes::k421TooManyConnections,
                                  context_.config.hostname + (verdict == ConnectionLimiter::Verdict::too_many_from_ip
                                                                  ? " Too many connections from your address"
                                                                  : " Too many connections, try again later")));
    }
    co_await serve();
  }

  void log_session(std::chrono::steady_clock::duration elapsed) const {
    const auto& s = session_.stats();
    spdlog::info("session client={} helo={} tls=no messages={} rejected={} recipients={} errors={} result=\"{}\" "
                 "duration={:.3f}s",
                 peer_, session_.helo_name().empty() ? "-" : session_.helo_name(), s.messages_accepted,
                 s.messages_rejected, s.recipients_accepted, s.errors, s.close_reason,
                 std::chrono::duration<double>(elapsed).count());
  }

 private:
  using Need = smtp::ServerSession::Need;

  asio::awaitable<void> serve() {
    for (;;) {
      feed_buffered();
      if (session_.need() == Need::store_message) {
        co_await store_message();
        continue;
      }
      // GCC 12 miscompiles co_await inside a condition: await into locals.
      const bool flushed = co_await flush();
      if (!flushed || session_.need() == Need::close) co_return;
      const bool got_input = co_await read_more();
      if (!got_input) {
        co_await flush();
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

  asio::awaitable<bool> read_more() {
    size_buffer();
    boost::system::error_code ec;
    arm_timer(io_, next_read_timeout());
    const std::size_t n = co_await io_->socket.async_read_some(
        asio::buffer(buffer_.get() + buffered_, buffer_size_ - buffered_), asio::redirect_error(asio::use_awaitable, ec));
    disarm_timer(io_);
    if (io_->timed_out) {
      session_.timed_out();
      co_return false;
    }
    if (ec) {
      session_.connection_lost(ec == asio::error::eof ? "client closed" : "read error: " + ec.message());
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
    arm_timer(io_, context_.config.session.limits.command_timeout);
    co_await asio::async_write(io_->socket, asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
    disarm_timer(io_);
    out.clear();
    if (ec) {
      session_.connection_lost(io_->timed_out ? "write timeout" : "write error: " + ec.message());
      co_return false;
    }
    co_return true;
  }

  asio::awaitable<void> store_message() {
    namespace codes = smtp::codes;
    co_await flush();  // replies to earlier chunks or commands go out while the disk works
    auto message = prepare(session_.take_message(), context_.config);
    const std::error_code ec = co_await async_store(context_.spool, message, asio::use_awaitable);
    const auto size = message->content.size();
    if (!ec) {
      context_.queue.submit(message);
      session_.message_stored(message->id.value);
      spdlog::info("message qid={} client={} from={} to={} size={} result=queued", message->id.value, peer_,
                   message->envelope.reverse_path.str(), join_recipients(message->envelope), size);
      co_return;
    }
    spdlog::error("message client={} from={} size={} result=not-stored error=\"{}\"", peer_,
                  message->envelope.reverse_path.str(), size, ec.message());
    if (ec == std::errc::no_space_on_device) {
      session_.message_failed(smtp::Reply(codes::k452StorageFull, "Insufficient system storage"));
    } else {
      session_.message_failed(smtp::Reply(codes::k451LocalError, "Local error in processing, try again later"));
    }
  }

  std::shared_ptr<Io> io_;
  SessionContext& context_;
  smtp::ServerSession session_;
  std::string peer_;
  std::optional<std::chrono::steady_clock::time_point> command_deadline_;  // while a line is incomplete
  std::unique_ptr<char[]> buffer_;  // sized by size_buffer()
  std::size_t buffer_size_ = 0;
  std::size_t buffered_ = 0;
};

}  // namespace

asio::awaitable<void> run_connection(tcp::socket socket, SessionContext& context) {
  const auto started = std::chrono::steady_clock::now();
  boost::system::error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  if (ec) co_return;  // the client is already gone
  std::string ip = endpoint.address().to_string();
  socket.set_option(tcp::no_delay(true), ec);
  const std::string peer = endpoint.address().is_v6() ? "[" + ip + "]:" + std::to_string(endpoint.port())
                                                      : ip + ":" + std::to_string(endpoint.port());
  const auto verdict = context.limiter.acquire(ip);
  auto connection = std::make_unique<Connection>(std::move(socket), context, ip, peer);
  co_await connection->run(verdict);
  if (verdict == ConnectionLimiter::Verdict::admitted) context.limiter.release(ip);
  connection->log_session(std::chrono::steady_clock::now() - started);
}

}  // namespace petrel::server
