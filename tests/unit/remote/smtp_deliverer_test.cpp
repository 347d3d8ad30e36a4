// SmtpDeliverer against real servers on loopback: Postfix's smtp-sink
// (ESMTP with PIPELINING and 8BITMIME, LMTP with -L, refusals with -r/-f)
// and tiny scripted servers for greetings that refuse or never come.
#include <utility>  // Boost 1.74's Asio needs std::exchange declared first

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "delivery/smtp_deliverer.hpp"
#include "tls/self_signed.hpp"

extern char** environ;

namespace petrel::delivery {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

constexpr const char* kSmtpSink = "/usr/sbin/smtp-sink";
constexpr const char* kLoopback = "127.0.0.2";

std::uint16_t free_port() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address(kLoopback), 0));
  return acceptor.local_endpoint().port();
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "petrel-remote-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
    std::filesystem::permissions(path_, std::filesystem::perms::all);  // smtp-sink runs as nobody
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// smtp-sink on 127.0.0.2:<free port> (or a UNIX socket), dumping each
// message into dir(); killed when the test ends.
class SmtpSink {
 public:
  explicit SmtpSink(std::vector<std::string> options, bool unix_socket = false) {
    listen_ = unix_socket ? "unix:" + (dir_.path() / "lmtp.sock").string()
                          : std::string(kLoopback) + ":" + std::to_string(port_ = free_port());
    std::vector<std::string> args{kSmtpSink, "-u", "nobody", "-d", (dir_.path() / "%H%M%S.").string()};
    args.insert(args.end(), options.begin(), options.end());
    args.push_back(listen_);
    args.push_back("10");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, kSmtpSink, nullptr, nullptr, argv.data(), environ) != 0) pid_ = 0;
    wait_until_listening();
  }
  ~SmtpSink() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }

  Endpoint endpoint() const {
    if (port_ == 0) return {"lmtp.test", "", 0, (dir_.path() / "lmtp.sock").string()};
    return {"sink.test", kLoopback, port_, ""};
  }

  // Every message smtp-sink dumped (with its own envelope header lines).
  std::string dumps() const {
    std::string all;
    for (const auto& f : std::filesystem::directory_iterator(dir_.path())) {
      if (f.path().filename() == "lmtp.sock") continue;
      std::ifstream in(f.path(), std::ios::binary);
      all += std::string(std::istreambuf_iterator<char>(in), {});
    }
    return all;
  }

 private:
  void wait_until_listening() {
    for (int i = 0; i < 200; ++i) {
      if (accepts()) return;
      std::this_thread::sleep_for(10ms);
    }
  }
  bool accepts() const {
    asio::io_context io;
    boost::system::error_code ec;
    if (port_ == 0) {
      asio::local::stream_protocol::socket s(io);
      s.connect(asio::local::stream_protocol::endpoint((dir_.path() / "lmtp.sock").string()), ec);
    } else {
      tcp::socket s(io);
      s.connect(tcp::endpoint(asio::ip::make_address(kLoopback), port_), ec);
    }
    return !ec;
  }

  TempDir dir_;
  std::string listen_;
  std::uint16_t port_ = 0;
  pid_t pid_ = 0;
};

// Accepts connections on 127.0.0.2 and writes `greeting` (maybe nothing)
// to each, then holds the connection until the test ends.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::string greeting)
      : acceptor_(io_, tcp::endpoint(asio::ip::make_address(kLoopback), 0)), greeting_(std::move(greeting)) {
    thread_ = std::thread([this] {
      for (;;) {
        tcp::socket s(io_);
        boost::system::error_code ec;
        acceptor_.accept(s, ec);
        if (ec || stop_) return;
        if (!greeting_.empty()) asio::write(s, asio::buffer(greeting_), ec);
        held_.push_back(std::move(s));
      }
    });
  }
  ~ScriptedServer() {
    stop_ = true;
    boost::system::error_code ec;
    tcp::socket poke(io_);
    poke.connect(acceptor_.local_endpoint(), ec);  // wakes accept()
    thread_.join();
  }
  Endpoint endpoint() const { return {"scripted.test", kLoopback, acceptor_.local_endpoint().port(), ""}; }

 private:
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::string greeting_;
  std::atomic<bool> stop_{false};
  std::vector<tcp::socket> held_;
  std::thread thread_;
};

// One STARTTLS dialogue (RFC 3207) with a self-signed certificate: what
// smtp-sink cannot do. Records the SNI the client sent and the message.
class StartTlsServer {
 public:
  StartTlsServer() : acceptor_(io_, tcp::endpoint(asio::ip::make_address(kLoopback), 0)) {
    tls::write_self_signed((dir_.path() / "c.crt").string(), (dir_.path() / "c.key").string(), "tls.test");
    context_.use_certificate_chain_file((dir_.path() / "c.crt").string());
    context_.use_private_key_file((dir_.path() / "c.key").string(), asio::ssl::context::pem);
    thread_ = std::thread([this] {
      try {
        serve();
      } catch (const std::exception& e) {
        error = e.what();
      }
    });
  }
  ~StartTlsServer() { thread_.join(); }
  Endpoint endpoint() const { return {"tls.test", kLoopback, acceptor_.local_endpoint().port(), ""}; }

  std::string sni;
  std::string content;
  std::string error;

 private:
  template <typename Stream>
  std::string line(Stream& s) {
    const std::size_t n = asio::read_until(s, buffer_, "\r\n");
    std::string l(asio::buffers_begin(buffer_.data()), asio::buffers_begin(buffer_.data()) + n);
    buffer_.consume(n);
    return l;
  }
  void serve() {
    tcp::socket socket(io_);
    acceptor_.accept(socket);
    asio::write(socket, asio::buffer(std::string("220 tls.test ESMTP\r\n")));
    line(socket);  // EHLO
    asio::write(socket, asio::buffer(std::string("250-tls.test\r\n250 STARTTLS\r\n")));
    line(socket);  // STARTTLS
    asio::write(socket, asio::buffer(std::string("220 2.0.0 go ahead\r\n")));
    asio::ssl::stream<tcp::socket&> tls(socket, context_);
    tls.handshake(asio::ssl::stream_base::server);
    if (const char* name = SSL_get_servername(tls.native_handle(), TLSEXT_NAMETYPE_host_name)) sni = name;
    for (;;) {
      const std::string l = line(tls);
      std::string reply = "250 2.0.0 ok\r\n";
      if (l.starts_with("EHLO")) reply = "250-tls.test\r\n250 PIPELINING\r\n";
      if (l.starts_with("DATA")) reply = "354 go\r\n";
      if (l.starts_with("QUIT")) reply = "221 2.0.0 bye\r\n";
      asio::write(tls, asio::buffer(reply));
      if (l.starts_with("QUIT")) return;
      if (!l.starts_with("DATA")) continue;
      for (std::string body = line(tls); body != ".\r\n"; body = line(tls)) content += body;
      asio::write(tls, asio::buffer(std::string("250 2.0.0 queued\r\n")));
    }
  }

  TempDir dir_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  asio::ssl::context context_{asio::ssl::context::tls_server};
  asio::streambuf buffer_;
  std::thread thread_;
};

DeliveryOptions short_timeouts(smtp::ClientProtocol protocol = smtp::ClientProtocol::smtp) {
  DeliveryOptions o;
  o.client.helo_name = "client.test";
  o.client.protocol = protocol;
  o.client.tls = smtp::TlsPolicy::may;
  for (auto* t : {&o.timeouts.connect, &o.timeouts.greeting, &o.timeouts.mail, &o.timeouts.rcpt,
                  &o.timeouts.data_init, &o.timeouts.data_block, &o.timeouts.data_end, &o.timeouts.command,
                  &o.timeouts.tls_handshake}) {
    *t = 2s;
  }
  return o;
}

smtp::OutgoingMessage message(std::vector<std::string> recipients, std::string body = "hello") {
  smtp::OutgoingMessage m;
  m.reverse_path.mailbox = smtp::Address{"sender", "example.org"};
  for (auto& r : recipients) {
    smtp::Recipient rcpt;
    rcpt.forward_path = smtp::Address{r, "example.net"};
    m.recipients.push_back(rcpt);
  }
  m.content = "Subject: test\r\n\r\n" + body + "\r\n.leading dot\r\n";
  return m;
}

std::vector<DeliveryReport> run(std::vector<Endpoint> endpoints, DeliveryOptions options,
                                std::vector<smtp::OutgoingMessage> messages) {
  asio::io_context io;
  std::vector<DeliveryReport> reports;
  bool called = false;
  deliver(io, std::move(endpoints), std::move(options), std::move(messages), [&](std::vector<DeliveryReport> r) {
    reports = std::move(r);
    called = true;
  });
  io.run_for(20s);
  EXPECT_TRUE(called);
  return reports;
}

std::string outcomes(const DeliveryReport& r) {
  std::string s;
  for (const auto& rr : r.recipients) {
    if (!s.empty()) s += " | ";
    s += (rr.outcome == smtp::DeliveryOutcome::delivered  ? "delivered "
          : rr.outcome == smtp::DeliveryOutcome::deferred ? "deferred "
                                                          : "failed ") +
         std::to_string(rr.reply.code);
  }
  return s;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1)) ++n;
  return n;
}

#define REQUIRE_SMTP_SINK() \
  if (access(kSmtpSink, X_OK) != 0) GTEST_SKIP() << kSmtpSink << " not installed (postfix)"

TEST(SmtpDeliverer, delivers_one_message_to_several_recipients) {
  REQUIRE_SMTP_SINK();
  SmtpSink sink({});
  const auto reports = run({sink.endpoint()}, short_timeouts(), {message({"b", "c", "d"}, "unique-body-1")});
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(outcomes(reports[0]), "delivered 250 | delivered 250 | delivered 250") << joined(reports[0].transcript);
  ASSERT_TRUE(reports[0].endpoint);
  EXPECT_EQ(reports[0].endpoint->str(), sink.endpoint().str());
  EXPECT_EQ(reports[0].tls, "");  // smtp-sink has no STARTTLS: `may` goes on in the clear
  const std::string dumped = sink.dumps();
  EXPECT_NE(dumped.find("unique-body-1"), std::string::npos);
  EXPECT_NE(dumped.find("\n.leading dot"), std::string::npos);  // unstuffed by the server: sent stuffed
  EXPECT_NE(joined(reports[0].transcript).find("> RCPT TO:<d@example.net>"), std::string::npos);
}

TEST(SmtpDeliverer, falls_back_to_the_next_endpoint_when_the_port_is_refused) {
  REQUIRE_SMTP_SINK();
  SmtpSink sink({});
  const Endpoint closed{"closed.test", kLoopback, free_port(), ""};
  const auto reports = run({closed, sink.endpoint()}, short_timeouts(), {message({"b"})});
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(outcomes(reports[0]), "delivered 250");
  ASSERT_TRUE(reports[0].endpoint);
  EXPECT_EQ(reports[0].endpoint->host, "sink.test");
  EXPECT_NE(joined(reports[0].transcript).find("connect to " + closed.str() + ": Connection refused"), std::string::npos)
      << joined(reports[0].transcript);
}

TEST(SmtpDeliverer, soft_rejected_recipients_are_deferred_by_that_server) {
  REQUIRE_SMTP_SINK();
  SmtpSink sink({"-r", "RCPT"});
  SmtpSink other({});
  const auto reports = run({sink.endpoint(), other.endpoint()}, short_timeouts(), {message({"b", "c"})});
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(outcomes(reports[0]), "deferred 450 | deferred 450");
  EXPECT_EQ(reports[0].recipients[0].reply.enhanced, "4.3.0");
  EXPECT_FALSE(reports[0].recipients[0].reply.local);
  // The server answered: the message is not taken to the next endpoint.
  ASSERT_TRUE(reports[0].endpoint);
  EXPECT_EQ(reports[0].endpoint->str(), sink.endpoint().str());
  EXPECT_EQ(count(joined(reports[0].transcript), "connected to"), 1u);
}

TEST(SmtpDeliverer, hard_rejected_sender_fails_every_recipient) {
  REQUIRE_SMTP_SINK();
  SmtpSink sink({"-f", "MAIL"});
  const auto reports = run({sink.endpoint()}, short_timeouts(), {message({"b", "c"})});
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(outcomes(reports[0]), "failed 500 | failed 500");
}

TEST(SmtpDeliverer, several_messages_over_one_connection) {
  REQUIRE_SMTP_SINK();
  SmtpSink sink({});
  const auto reports = run({sink.endpoint()}, short_timeouts(),
                           {message({"b"}, "first-body"), message({"c", "d"}, "second-body"), message({"e"}, "third")});
  ASSERT_EQ(reports.size(), 3u);
  EXPECT_EQ(outcomes(reports[0]), "delivered 250");
  EXPECT_EQ(outcomes(reports[1]), "delivered 250 | delivered 250");
  EXPECT_EQ(outcomes(reports[2]), "delivered 250");
  EXPECT_EQ(count(joined(reports[0].transcript), "connected to"), 1u);
  const std::string dumped = sink.dumps();
  EXPECT_NE(dumped.find("first-body"), std::string::npos);
  EXPECT_NE(dumped.find("second-body"), std::string::npos);
}

// Connection reuse: the connection asks for more before QUIT, and each
// message is reported as soon as the server has answered for it.
TEST(SmtpDeliverer, takes_more_messages_on_the_same_connection_and_reports_each_at_once) {
  REQUIRE_SMTP_SINK();
  SmtpSink sink({});
  std::vector<smtp::OutgoingMessage> extra{message({"c"}, "pulled-one"), message({"d"}, "pulled-two")};
  std::vector<std::size_t> reported;
  DeliveryOptions options = short_timeouts();
  options.more = [&]() -> std::optional<smtp::OutgoingMessage> {
    if (extra.empty()) return std::nullopt;
    auto m = std::move(extra.front());
    extra.erase(extra.begin());
    return m;
  };
  options.reported = [&](std::size_t index, const DeliveryReport& report) {
    EXPECT_EQ(outcomes(report), "delivered 250");
    reported.push_back(index);
  };
  const auto reports = run({sink.endpoint()}, options, {message({"b"}, "given-one")});
  ASSERT_EQ(reports.size(), 3u);
  EXPECT_EQ(outcomes(reports[2]), "delivered 250");
  EXPECT_EQ(reported, (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(count(joined(reports[0].transcript), "connected to"), 1u);
  EXPECT_NE(sink.dumps().find("pulled-two"), std::string::npos);
}

TEST(SmtpDeliverer, refused_greeting_moves_to_the_next_endpoint) {
  REQUIRE_SMTP_SINK();
  ScriptedServer busy("421 4.3.2 busy, try later\r\n");
  SmtpSink sink({});
  const auto reports = run({busy.endpoint(), sink.endpoint()}, short_timeouts(), {message({"b"})});
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(outcomes(reports[0]), "delivered 250");
  EXPECT_NE(joined(reports[0].transcript).find("< 421 4.3.2 busy, try later"), std::string::npos);
}

TEST(SmtpDeliverer, silent_server_times_out_and_the_next_endpoint_is_tried) {
  REQUIRE_SMTP_SINK();
  ScriptedServer silent("");
  SmtpSink sink({});
  DeliveryOptions options = short_timeouts();
  options.timeouts.greeting = 300ms;
  const auto started = std::chrono::steady_clock::now();
  const auto reports = run({silent.endpoint(), sink.endpoint()}, options, {message({"b"})});
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(outcomes(reports[0]), "delivered 250");
  EXPECT_NE(joined(reports[0].transcript).find("timeout after 300 ms"), std::string::npos)
      << joined(reports[0].transcript);
}

TEST(SmtpDeliverer, no_endpoint_answering_defers_everything) {
  const Endpoint closed1{"a.test", kLoopback, free_port(), ""};
  const Endpoint closed2{"b.test", kLoopback, free_port(), ""};
  const auto reports = run({closed1, closed2}, short_timeouts(), {message({"b", "c"}), message({"d"})});
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(outcomes(reports[0]), "deferred 421 | deferred 421");
  EXPECT_EQ(reports[0].recipients[0].reply.enhanced, "4.4.1");
  EXPECT_TRUE(reports[0].recipients[0].reply.local);
  EXPECT_FALSE(reports[0].endpoint);
  EXPECT_EQ(outcomes(reports[1]), "deferred 421");
  EXPECT_EQ(run({}, short_timeouts(), {message({"x"})})[0].recipients[0].reply.code, 421);
}

TEST(SmtpDeliverer, lmtp_over_a_unix_socket) {
  REQUIRE_SMTP_SINK();
  SmtpSink sink({"-L"}, /*unix_socket=*/true);
  DeliveryOptions options = short_timeouts(smtp::ClientProtocol::lmtp);
  options.client.tls = smtp::TlsPolicy::none;
  const auto reports = run({sink.endpoint()}, options, {message({"b", "c"}, "lmtp-body")});
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(outcomes(reports[0]), "delivered 250 | delivered 250") << joined(reports[0].transcript);
  EXPECT_NE(joined(reports[0].transcript).find("> LHLO client.test"), std::string::npos);
  ASSERT_TRUE(reports[0].endpoint);
  EXPECT_EQ(reports[0].endpoint->str(), "unix:" + sink.endpoint().unix_path);
  EXPECT_NE(sink.dumps().find("lmtp-body"), std::string::npos);
}

TEST(SmtpDeliverer, starttls_with_sni_when_offered) {
  StartTlsServer server;
  DeliveryOptions options = short_timeouts();
  options.client.tls = smtp::TlsPolicy::encrypt;
  const auto reports = run({server.endpoint()}, options, {message({"b"}, "secret-body")});
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(outcomes(reports[0]), "delivered 250") << joined(reports[0].transcript) << server.error;
  EXPECT_TRUE(reports[0].tls.starts_with("TLSv1.3 with cipher ")) << reports[0].tls;
  EXPECT_EQ(server.sni, "tls.test");
  EXPECT_NE(server.content.find("secret-body"), std::string::npos);
  EXPECT_EQ(server.error, "");
}

}  // namespace
}  // namespace petrel::delivery
