// SmtpConnection against a scripted server on a loopback socket: whole
// replies with their raw lines, and each way a connection fails told apart.
#include "cli/smtp_connection.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <thread>

namespace petrel::cli {
namespace {

using namespace std::chrono_literals;

// A listening socket on 127.0.0.1; `serve` runs on a thread with the one
// accepted connection.
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 4), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Listener() {
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }

  void serve(std::function<void(int)> dialogue) {
    thread_ = std::thread([this, dialogue] {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      dialogue(c);
      ::close(c);
    });
  }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

void send_text(int fd, const std::string& text) { ASSERT_EQ(::send(fd, text.data(), text.size(), 0), static_cast<ssize_t>(text.size())); }

std::string read_line(int fd) {
  std::string line;
  char c = 0;
  while (::recv(fd, &c, 1, 0) == 1) {
    line += c;
    if (c == '\n') break;
  }
  return line;
}

ConnectOptions quick() {
  ConnectOptions o;
  o.timeout = 2s;
  return o;
}

TEST(SmtpConnection, reads_a_multiline_reply_whole_with_its_raw_lines) {
  Listener l;
  l.serve([](int fd) {
    send_text(fd, "220 mx.test ESMTP\r\n");
    EXPECT_EQ(read_line(fd), "EHLO probe.test\r\n");
    send_text(fd, "250-mx.test\r\n250-SIZE 1000\r\n");
    std::this_thread::sleep_for(50ms);  // the rest of the reply in a later segment
    send_text(fd, "250 PIPELINING\r\n");
    read_line(fd);
  });
  SmtpConnection::Result r;
  auto c = SmtpConnection::open("127.0.0.1", l.port(), quick(), r);
  ASSERT_TRUE(c) << r.detail;
  auto greeting = c->read_reply(2s);
  ASSERT_TRUE(greeting);
  EXPECT_EQ(greeting->code, 220);
  ASSERT_TRUE(c->write("EHLO probe.test\r\n", 2s));
  auto ehlo = c->read_reply(2s);
  ASSERT_TRUE(ehlo);
  EXPECT_EQ(ehlo->code, 250);
  EXPECT_EQ(ehlo->lines.size(), 3u);
  EXPECT_EQ(c->last_raw_lines(), (std::vector<std::string>{"250-mx.test", "250-SIZE 1000", "250 PIPELINING"}));
  EXPECT_EQ(c->peer_address(), "127.0.0.1");
  c->write("QUIT\r\n", 1s);
}

TEST(SmtpConnection, two_replies_in_one_segment_come_one_at_a_time) {
  Listener l;
  l.serve([](int fd) {
    send_text(fd, "220 hi\r\n");
    read_line(fd);
    read_line(fd);
    send_text(fd, "250 2.0.0 reset\r\n250 2.0.0 noop\r\n");
    read_line(fd);
  });
  SmtpConnection::Result r;
  auto c = SmtpConnection::open("127.0.0.1", l.port(), quick(), r);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->read_reply(2s));
  ASSERT_TRUE(c->write("RSET\r\nNOOP\r\n", 2s));
  auto first = c->read_reply(2s);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->lines.at(0), "reset");
  EXPECT_TRUE(c->reply_ready());
  auto second = c->read_reply(0ms);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->lines.at(0), "noop");
  c->write("QUIT\r\n", 1s);
}

TEST(SmtpConnection, nothing_listening_is_refused) {
  std::uint16_t port = 0;
  { Listener l; port = l.port(); }  // closed again: nothing listens there now
  SmtpConnection::Result r;
  auto c = SmtpConnection::open("127.0.0.1", port, quick(), r);
  EXPECT_FALSE(c);
  EXPECT_EQ(r.error, NetError::refused) << r.detail;
}

TEST(SmtpConnection, a_silent_server_times_out_and_a_closing_one_is_closed) {
  Listener l;
  l.serve([](int fd) {
    std::this_thread::sleep_for(400ms);
    ::shutdown(fd, SHUT_WR);
    read_line(fd);
  });
  SmtpConnection::Result r;
  auto c = SmtpConnection::open("127.0.0.1", l.port(), quick(), r);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->read_reply(100ms));
  EXPECT_EQ(c->last_result().error, NetError::timeout);
  EXPECT_FALSE(c->read_reply(3s));
  EXPECT_EQ(c->last_result().error, NetError::closed) << c->last_result().detail;
}

TEST(SmtpConnection, read_available_never_waits) {
  Listener l;
  l.serve([](int fd) {
    std::this_thread::sleep_for(200ms);
    send_text(fd, "220 late\r\n");
    read_line(fd);
  });
  SmtpConnection::Result r;
  auto c = SmtpConnection::open("127.0.0.1", l.port(), quick(), r);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->read_available());
  EXPECT_FALSE(c->reply_ready());
  ASSERT_TRUE(c->read_reply(2s));
  c->write("QUIT\r\n", 1s);
}

TEST(SmtpConnection, garbage_is_a_protocol_error) {
  Listener l;
  l.serve([](int fd) {
    send_text(fd, "SSH-2.0-OpenSSH_9.2\r\n");
    read_line(fd);
  });
  SmtpConnection::Result r;
  auto c = SmtpConnection::open("127.0.0.1", l.port(), quick(), r);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->read_reply(2s));
  EXPECT_EQ(c->last_result().error, NetError::protocol);
  c->write("QUIT\r\n", 1s);
}

}  // namespace
}  // namespace petrel::cli
