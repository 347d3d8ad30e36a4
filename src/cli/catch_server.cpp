#include "cli/catch_server.hpp"

#include <utility>  // Boost 1.74's Asio needs std::exchange declared first

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <unistd.h>

#include "catch/catch_auth.hpp"
#include "catch/caught_session.hpp"
#include "catch/report.hpp"
#include "catch/script_file.hpp"
#include "catch/script_hook.hpp"
#include "cli/catch_dkim.hpp"
#include "cli/catch_view.hpp"
#include "cli/terminal.hpp"
#include "delivery/maildir.hpp"
#include "server/client_stream.hpp"
#include "smtp/reply_codes.hpp"
#include "tls/server_tls.hpp"

// GCC 12 warns of a new/delete mismatch in Asio 1.74's coroutine frame
// allocator; the frame's own operator new and delete are used.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace petrel::cli {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using Need = catcher::CaughtSession::Need;
using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kWriteTimeout{30'000};
constexpr std::chrono::milliseconds kHandshakeTimeout{30'000};
constexpr std::chrono::milliseconds kCloseTimeout{2'000};
constexpr std::chrono::milliseconds kDkimLookupTimeout{5'000};

// A message with a DKIM-Signature, kept until the session ends and its
// signatures are checked.
struct SignedMessage {
  std::size_t index;  // into the grader's messages()
  std::string content;
};

// Nothing is relayed, ever: every recipient is accepted and kept here.
// (--script rules on MAIL and RCPT will slot in as a policy like this one.)
class AcceptAll final : public smtp::EnvelopePolicy {
 public:
  std::optional<smtp::Reply> check_recipient(const smtp::Address&, const smtp::ClientIdentity&) const override {
    return std::nullopt;
  }
};

std::string now_utc(const char* format) { return utc_time(static_cast<std::int64_t>(std::time(nullptr)), format); }

class Catcher {
 public:
  explicit Catcher(const CatchSettings& settings)
      : settings_(settings), signals_(io_, SIGINT, SIGTERM), dkim_(io_, settings.resolver, kDkimLookupTimeout) {
    options_.hostname = settings.hostname;
    options_.esmtp = settings.offer.esmtp;
    options_.ehlo_offer = settings.offer.keywords;
    options_.auth_without_tls = true;  // AUTH before STARTTLS too, to catch auth-in-clear
    options_.limits.body_in_memory = 0;  // a test server: the whole message in memory, bounded by SIZE
    const auto offered = [&](const char* keyword) {
      return std::find(settings.offer.keywords.begin(), settings.offer.keywords.end(), keyword) !=
             settings.offer.keywords.end();
    };
    if (!settings.tls_cert.empty() && offered("STARTTLS")) {
      tls::ServerTlsSettings tls_settings;
      tls_settings.certificates.push_back(tls::CertificateFiles{settings.tls_cert, settings.tls_key});
      tls_ = std::make_unique<tls::ServerTls>(std::move(tls_settings));
      options_.starttls = true;
    }
    if (!settings.users.empty() && offered("AUTH")) {
      authenticator_ = std::make_unique<catcher::CatchAuthenticator>(settings.users);
    }
    grader_options_.esmtp = settings.offer.esmtp;
    grader_options_.max_line = options_.limits.max_text_line;
    if (!settings.script.empty()) script_ = catcher::load_script(settings.script);  // throws: exit 3
  }

  int run() {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(settings_.listen_host, ec);
    if (ec) {
      std::fprintf(stderr, "petrel catch: --listen %s: not an IP address\n", settings_.listen_host.c_str());
      return kCatchCannotListen;
    }
    tcp::acceptor acceptor(io_);
    const tcp::endpoint endpoint(address, settings_.listen_port);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      std::fprintf(stderr, "petrel catch: cannot listen on %s:%u: %s\n", settings_.listen_host.c_str(),
                   settings_.listen_port, ec.message().c_str());
      return kCatchCannotListen;
    }
    if (!prepare_dirs()) return kCatchCannotListen;
    std::fprintf(stderr, "petrel catch: listening on %s:%u; messages in %s/new, reports in %s/reports\n",
                 settings_.listen_host.c_str(), acceptor.local_endpoint().port(), settings_.maildir.c_str(),
                 settings_.maildir.c_str());
    std::fflush(stderr);
    signals_.async_wait([this](const boost::system::error_code& e, int) {
      if (!e) io_.stop();
    });
    asio::co_spawn(io_, accept_loop(std::move(acceptor)), asio::detached);
    io_.run();
    return exit_status_;
  }

 private:
  bool prepare_dirs() {
    std::error_code ec;
    for (const char* sub : {"new", "cur", "tmp", "reports"}) {
      std::filesystem::create_directories(std::filesystem::path(settings_.maildir) / sub, ec);
      if (ec) {
        std::fprintf(stderr, "petrel catch: %s/%s: %s\n", settings_.maildir.c_str(), sub, ec.message().c_str());
        return false;
      }
    }
    return true;
  }

  asio::awaitable<void> accept_loop(tcp::acceptor acceptor) {
    while (true) {
      boost::system::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) continue;
      const int number = ++sessions_;
      if (settings_.once) {
        acceptor.close(ec);  // nobody else is served
        co_await session(std::move(socket), number);
        io_.stop();
        co_return;
      }
      asio::co_spawn(io_, session(std::move(socket), number), asio::detached);
    }
  }

  asio::awaitable<void> session(tcp::socket socket, int number) {
    boost::system::error_code ec;
    const tcp::endpoint peer = socket.remote_endpoint(ec);
    const std::string address = peer.address().to_string();
    catcher::SessionFacts facts;
    facts.client = address + ":" + std::to_string(peer.port());
    facts.started = now_utc("%Y-%m-%dT%H:%M:%SZ");
    const std::string stamp = now_utc("%Y%m%dT%H%M%SZ");
    const auto start = Clock::now();
    std::FILE* out = settings_.json ? stderr : stdout;
    CatchView view(number, out);
    view.begin(facts.client);

    auto stream = std::make_shared<server::ClientStream>(std::move(socket));
    std::unique_ptr<catcher::ScriptHook> script = script_hook();
    catcher::CaughtSession s(options_, policy_, address, authenticator_.get(), grader_options_, script.get());
    s.greet();
    view.show(s.take_transcript());
    const auto greeting_delay = s.take_reply_delay();
    if (greeting_delay.count() > 0) co_await stream->pause(greeting_delay);
    std::string output = s.take_output();
    co_await stream->write(asio::buffer(output), kWriteTimeout, ec);
    std::vector<char> buffer(64 * 1024);
    std::vector<SignedMessage> signed_messages;
    while (!ec && s.need() != Need::close) {
      const std::size_t n = co_await stream->read_some(asio::buffer(buffer), s.read_timeout(), ec);
      if (ec) {
        if (stream->timed_out()) {
          s.timed_out();
          output = s.take_output();
          boost::system::error_code ignored;
          co_await stream->write(asio::buffer(output), kCloseTimeout, ignored);
        } else {
          s.connection_lost("client closed");
        }
        break;
      }
      const bool start_tls = feed_read(s, std::string_view(buffer.data(), n), facts, signed_messages);
      view.show(s.take_transcript());
      const auto delay = s.take_reply_delay();
      if (delay.count() > 0) co_await stream->pause(delay);
      output = s.take_output();
      co_await stream->write(asio::buffer(output), kWriteTimeout, ec);
      if (!ec && start_tls) {
        co_await stream->handshake(tls_->context(), kHandshakeTimeout, ec);
        if (ec) {
          view.note("TLS handshake failed: " + ec.message());
          s.connection_lost("TLS handshake failed");
          break;
        }
        const tls::TlsInfo info = tls::describe(stream->tls_session());
        s.tls_started({info.protocol, info.cipher, info.bits});
        view.show(s.take_transcript());
      }
    }
    if (ec && s.need() != Need::close) s.connection_lost("connection broken");
    co_await stream->shutdown_tls(kCloseTimeout);
    s.finish();
    for (const SignedMessage& m : signed_messages) {
      std::vector<catcher::DkimCheck> checks = co_await dkim_.check(m.content);
      s.dkim_checked(m.index, std::move(checks));
    }
    facts.duration_ms = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
    facts.close_reason = s.session().stats().close_reason;
    if (script) facts.scripted = script->actions();
    finish_session(s.grader(), facts, stamp + "-" + std::to_string(::getpid()) + "-" + std::to_string(number), view);
  }

  // The script's hook for a new session, or null without --script.
  std::unique_ptr<catcher::ScriptHook> script_hook() {
    if (!script_) return nullptr;
    return std::make_unique<catcher::ScriptHook>(*script_, script_memory_, [this] { return chance_(random_); });
  }

  // Feeds one read to the session, storing messages as they complete.
  // True when the session asks for the TLS handshake.
  bool feed_read(catcher::CaughtSession& s, std::string_view bytes, catcher::SessionFacts& facts,
                 std::vector<SignedMessage>& signed_messages) {
    s.read_started();
    while (!bytes.empty() && s.need() == Need::input) {
      bytes.remove_prefix(s.feed(bytes));
      if (s.need() == Need::store_message) store(s, facts, signed_messages);
      if (s.need() == Need::start_tls) return true;
    }
    return false;
  }

  void store(catcher::CaughtSession& s, catcher::SessionFacts& facts, std::vector<SignedMessage>& signed_messages) {
    const smtp::ReceivedMessage message = s.take_message();
    const std::string id = std::to_string(::getpid()) + "M" + std::to_string(++stored_);
    delivery::MaildirFile file;
    file.mailbox_dir = settings_.maildir;
    file.file_name = delivery::unique_name(static_cast<std::int64_t>(std::time(nullptr)), id, 0, settings_.hostname);
    file.content = &message.content;  // as the client sent it, dot-unstuffed: nothing is added
    file.may_exist = false;
    std::vector<delivery::MaildirFile> batch{std::move(file)};
    delivery::deliver_batch(batch);
    if (batch[0].result) {
      std::fprintf(stderr, "petrel catch: cannot write to %s: %s\n", settings_.maildir.c_str(),
                   batch[0].result.message().c_str());
      s.message_failed(smtp::Reply(smtp::codes::k451LocalError, "Cannot keep the message: local error"));
      return;
    }
    facts.files.push_back("new/" + batch[0].file_name);
    if (CatchDkim::is_signed(message.content)) {
      signed_messages.push_back({s.grader().messages().size() - 1, message.content});
    }
    s.message_stored(id);
  }

  // The report goes to reports/ beside new/, cur/ and tmp/, never into them.
  void finish_session(const catcher::Grader& grader, const catcher::SessionFacts& facts, const std::string& name,
                      CatchView& view) {
    const std::string json = catcher::json_report(grader, facts);
    const auto path = std::filesystem::path(settings_.maildir) / "reports" / (name + ".json");
    std::ofstream(path, std::ios::binary) << json;
    if (settings_.json) {
      std::fwrite(json.data(), 1, json.size(), stdout);
      std::fflush(stdout);
    } else {
      view.card(grader, facts);
    }
    if (settings_.once) exit_status_ = catcher::exit_code(grader.findings());  // a server run ends 0
  }

  const CatchSettings& settings_;
  asio::io_context io_;
  asio::signal_set signals_;
  smtp::SessionOptions options_;
  AcceptAll policy_;
  std::unique_ptr<tls::ServerTls> tls_;
  std::unique_ptr<catcher::CatchAuthenticator> authenticator_;
  catcher::GraderOptions grader_options_;
  CatchDkim dkim_;
  std::optional<catcher::Script> script_;
  catcher::ScriptMemory script_memory_;  // across sessions: greylisting
  std::mt19937_64 random_{std::random_device{}()};
  std::uniform_real_distribution<double> chance_{0.0, 1.0};
  int sessions_ = 0;
  std::uint64_t stored_ = 0;
  int exit_status_ = 0;
};

}  // namespace

int run_catch(const CatchSettings& settings) {
  try {
    Catcher catcher(settings);
    return catcher.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "petrel catch: %s\n", e.what());
    return kCatchCannotListen;
  }
}

}  // namespace petrel::cli

#pragma GCC diagnostic pop
