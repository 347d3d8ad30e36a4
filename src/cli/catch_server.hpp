// The I/O of petrel catch: the listener, each client's stream (TCP, then
// TLS after STARTTLS), the Maildir and the reports. The protocol and the
// grading are catcher::CaughtSession's (src/catch/, no I/O).
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>

#include "cli/catch_command.hpp"

namespace petrel::cli {

struct CatchSettings {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 2525;
  std::string maildir = "./caught";
  std::string hostname = "localhost";
  std::string tls_cert;  // with tls_key: offer STARTTLS
  std::string tls_key;
  std::map<std::string, std::string> users;  // --auth USER:PASS: offer AUTH
  CatchOffer offer;
  std::string resolver;  // --resolver: the DNS server for DKIM keys ("" : /etc/resolv.conf)
  std::string script;  // --script FILE, or "provider-like"; "" for none
  bool once = false;
  bool json = false;
};

inline constexpr int kCatchCannotListen = 3;

// Serves until interrupted, or for one session with once; returns the exit
// status (with once, that of the session's report).
int run_catch(const CatchSettings& settings);

}  // namespace petrel::cli
