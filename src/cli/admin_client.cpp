#include "cli/admin_client.hpp"

#include <cstdio>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace petrel::cli {
namespace {

constexpr int kTimeoutMs = 15000;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what + ": " + std::strerror(errno)); }

void connect_unix(Fd& s, const std::string& path) {
  s.fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw std::runtime_error("admin socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (s.fd < 0 || ::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    fail("cannot reach petreld's admin socket " + path + " (is petreld running, with this spool?)");
  }
}

void connect_tcp(Fd& s, const std::string& where) {
  const auto colon = where.rfind(':');
  std::string host = where.substr(0, colon);
  if (host == "localhost") host = "127.0.0.1";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(std::stoi(where.substr(colon + 1))));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) throw std::runtime_error("bad admin address " + where);
  s.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s.fd < 0 || ::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    fail("cannot reach petreld's admin port " + where);
  }
}

std::string read_line(int fd) {
  std::string reply;
  char buf[65536];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, kTimeoutMs) <= 0) throw std::runtime_error("petreld did not answer within 15 s");
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) fail("reading petreld's reply");
    if (n == 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
    if (!reply.empty() && reply.back() == '\n') break;
  }
  if (reply.empty()) throw std::runtime_error("petreld closed the admin connection without a reply");
  return reply;
}

}  // namespace

nlohmann::json admin_ask(const std::string& admin, const std::string& spool, const nlohmann::json& request) {
  const std::string where = admin.empty() ? "unix:" + spool + "/admin.sock" : admin;
  auto reply = nlohmann::json::parse(admin_request(where, spool + "/admin.token", request.dump()));
  if (!reply.value("ok", false)) {
    throw std::runtime_error("petreld: " + reply.value("error", std::string("request refused")));
  }
  return reply;
}

std::string admin_request(const std::string& where, const std::string& token_file, const std::string& request) {
  Fd s;
  std::string line = request;
  if (where.rfind("unix:", 0) == 0) {
    connect_unix(s, where.substr(5));
  } else {
    connect_tcp(s, where);
    std::ifstream in(token_file);
    std::string token;
    if (!std::getline(in, token)) throw std::runtime_error("cannot read the admin token from " + token_file);
    auto j = nlohmann::json::parse(request);
    j["token"] = token;
    line = j.dump();
  }
  line += '\n';
  for (std::size_t sent = 0; sent < line.size();) {
    const ssize_t n = ::write(s.fd, line.data() + sent, line.size() - sent);
    if (n <= 0) fail("sending the request to petreld");
    sent += static_cast<std::size_t>(n);
  }
  return read_line(s.fd);
}

void run_admin_command(int& exit_code, const std::function<int()>& body) {
  try {
    exit_code = body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "petrel: %s\n", e.what());
    exit_code = 1;
  }
}

}  // namespace petrel::cli
