// petrel catch --http: the web view of the caught messages on petreld's
// HTTP listener (src/http/), on a thread of its own beside the SMTP
// server. No authentication: a tool for tests, on loopback by default.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace petrel::catchweb {

class WebServer {
 public:
  // Binds `listen` ("ADDR:PORT"; throws std::runtime_error when it cannot)
  // and serves the Maildir's messages and reports until destroyed.
  WebServer(const std::string& listen, const std::string& maildir);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  std::vector<std::string> endpoints() const;  // "127.0.0.1:8025"

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Whether "ADDR:PORT" names a loopback address (127.0.0.0/8, ::1, localhost).
bool loopback(const std::string& listen);

}  // namespace petrel::catchweb
