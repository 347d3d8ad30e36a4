#include "dnsmasq.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string_view>
#include <thread>

extern char** environ;

namespace petrel::testing {
namespace {

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

std::uint16_t bound_port(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

// A port free for both UDP and TCP on 127.0.0.1 (dnsmasq listens on both).
std::uint16_t free_port() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    const int udp = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in any = loopback(0);
    ::bind(udp, reinterpret_cast<sockaddr*>(&any), sizeof any);
    const std::uint16_t port = bound_port(udp);
    const int tcp = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in same = loopback(port);
    const bool tcp_free = ::bind(tcp, reinterpret_cast<sockaddr*>(&same), sizeof same) == 0;
    ::close(tcp);
    ::close(udp);
    if (tcp_free) return port;
  }
  throw std::runtime_error("no free port on 127.0.0.1");
}

// Whether our dnsmasq answers on the port: its TXT record "ready.test"
// holds `token`, so that another server that took the port is not mistaken
// for it.
bool answers(std::uint16_t port, const std::string& token) {
  static const unsigned char query[] = {
      0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,  // id, RD, one question
      5, 'r', 'e', 'a', 'd', 'y', 4, 't', 'e', 's', 't', 0, 0, 16, 0, 1};
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in server = loopback(port);
  ::sendto(fd, query, sizeof query, 0, reinterpret_cast<sockaddr*>(&server), sizeof server);
  pollfd p{fd, POLLIN, 0};
  bool ok = false;
  if (::poll(&p, 1, 200) == 1) {
    char reply[512];
    const auto n = ::recv(fd, reply, sizeof reply, 0);
    ok = n >= 12 && std::string_view(reply, static_cast<std::size_t>(n)).find(token) != std::string_view::npos;
  }
  ::close(fd);
  return ok;
}

}  // namespace

std::vector<std::string> test_zone() {
  return {
      "--local=/test/",
      "--local-ttl=300",
      "--mx-host=two.test,mx1.two.test,10",
      "--mx-host=two.test,mx2.two.test,20",
      "--host-record=mx1.two.test,127.0.0.2",
      "--host-record=mx2.two.test,127.0.0.3,fd00::3",
      "--host-record=implicit.test,127.0.0.4",
      "--mx-host=deadfirst.test,nowhere.deadfirst.test,10",
      "--mx-host=deadfirst.test,mx.deadfirst.test,20",
      "--host-record=mx.deadfirst.test,127.0.0.5",
      "--mx-host=nullmx.test,.,0",
      "--mx-host=cnamemx.test,alias.test,10",
      "--cname=alias.test,mx1.two.test",
      "--mx-host=iplit.test,192.0.2.1,10",
      "--dns-rr=_25._tcp.mx1.two.test,52,030101aabbccdd",
      "--txt-record=_mta-sts.two.test,v=STSv1; ,id=20240101",
      "--ptr-record=2.0.0.127.in-addr.arpa,mx1.two.test",
  };
}

std::optional<std::string> Dnsmasq::binary() {
  if (const char* env = std::getenv("DNSMASQ"); env && *env) {
    if (::access(env, X_OK) == 0) return std::string(env);
    return std::nullopt;
  }
  for (const char* path : {"/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/usr/local/sbin/dnsmasq"}) {
    if (::access(path, X_OK) == 0) return std::string(path);
  }
  return std::nullopt;
}

// Another test may take the port between free_port() and dnsmasq's bind:
// then dnsmasq exits at once, and a new port is tried.
Dnsmasq::Dnsmasq(const std::vector<std::string>& zone) {
  for (int attempt = 1;; ++attempt) {
    try {
      start(zone);
      return;
    } catch (const std::runtime_error&) {
      if (attempt == 3) throw;
    }
  }
}

void Dnsmasq::start(const std::vector<std::string>& zone) {
  const auto program = binary();
  if (!program) throw std::runtime_error("dnsmasq is not installed");
  port_ = free_port();
  std::vector<std::string> args = {
      *program,
      "--keep-in-foreground",
      "--port=" + std::to_string(port_),
      "--listen-address=127.0.0.1",
      "--bind-interfaces",
      "--no-resolv",
      "--no-hosts",
      "--conf-file=/dev/null",
      "--pid-file=",
      "--log-facility=/dev/null",
  };
  if (::geteuid() == 0) args.push_back("--user=root");  // else it switches to nobody
  static std::atomic<int> started{0};
  const std::string token = "petrel-" + std::to_string(::getpid()) + "-" + std::to_string(++started);
  args.push_back("--txt-record=ready.test," + token);
  args.insert(args.end(), zone.begin(), zone.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  const int err = ::posix_spawn(&pid_, program->c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) {
    pid_ = -1;
    throw std::runtime_error("cannot start " + *program);
  }

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!answers(port_, token)) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("dnsmasq exited at start (status " + std::to_string(status) + ")");
    }
    if (std::chrono::steady_clock::now() > deadline) {
      stop();
      throw std::runtime_error("dnsmasq did not answer within 5 s");
    }
  }
}

Dnsmasq::~Dnsmasq() { stop(); }

void Dnsmasq::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 100 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (::waitpid(pid_, &status, WNOHANG) == 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  pid_ = -1;
}

SilentServer::SilentServer() {
  fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in any = loopback(0);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0) throw std::runtime_error("bind failed");
  port_ = bound_port(fd_);
}

SilentServer::~SilentServer() { ::close(fd_); }

ServfailServer::ServfailServer() {
  fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in any = loopback(0);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0) throw std::runtime_error("bind failed");
  port_ = bound_port(fd_);
  thread_ = std::thread([this] { serve(); });
}

ServfailServer::~ServfailServer() {
  stop_ = true;
  thread_.join();
  ::close(fd_);
}

// Sends every query back as a response with RCODE 2 (RFC 1035 §4.1.1).
void ServfailServer::serve() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) != 1) continue;
    unsigned char packet[512];
    sockaddr_in from{};
    socklen_t length = sizeof from;
    const auto n = ::recvfrom(fd_, packet, sizeof packet, 0, reinterpret_cast<sockaddr*>(&from), &length);
    if (n < 12) continue;
    packet[2] = static_cast<unsigned char>(0x80 | (packet[2] & 0x01));  // QR, keep RD
    packet[3] = 0x80 | 0x02;                                             // RA, SERVFAIL
    for (int i = 6; i < 12; ++i) packet[i] = 0;                         // no answers
    // Only the question is kept (an EDNS OPT record is dropped with ARCOUNT 0).
    std::size_t end = 12;
    while (end < static_cast<std::size_t>(n) && packet[end] != 0) end += packet[end] + 1;
    end += 5;
    if (end > static_cast<std::size_t>(n)) continue;
    ::sendto(fd_, packet, end, 0, reinterpret_cast<sockaddr*>(&from), length);
    ++queries_;
  }
}

}  // namespace petrel::testing
