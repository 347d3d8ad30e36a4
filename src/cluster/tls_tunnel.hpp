// rediss://: TLS to Redis for a libhiredis that has none (Debian 12's is
// 0.14). hiredis connects to a Unix socket in a private directory (0700);
// each connection accepted there is carried over TLS to Redis, the
// server's certificate checked against the CA and the host name. Runs on
// the client's io_context, like the client; nothing blocks.
#pragma once

#include <utility>  // Boost 1.74's Asio needs std::exchange declared first

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace petrel::cluster {

struct TlsTunnelOptions {
  std::string host;     // Redis' name or address; the name is checked against the certificate
  std::uint16_t port = 6379;
  std::string ca_file;  // "": the system's CAs
  std::string cert_file, key_file;  // a client certificate, for tls-auth-clients; "": none
};

class TlsTunnel {
 public:
  // Throws std::runtime_error when the CA, certificate or key cannot be
  // loaded, or the socket cannot be made.
  TlsTunnel(boost::asio::io_context& io, TlsTunnelOptions options);
  ~TlsTunnel();
  TlsTunnel(const TlsTunnel&) = delete;
  TlsTunnel& operator=(const TlsTunnel&) = delete;

  // Where hiredis connects (redisAsyncConnectUnix).
  const std::string& socket_path() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace petrel::cluster
