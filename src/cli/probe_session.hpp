// The dialogue `petrel probe` has with one host: connect, greeting, EHLO
// (or HELO), HELP, VRFY/EXPN, pipelining, SIZE and relay checks that never
// reach DATA, TURN, STARTTLS and EHLO again, QUIT. It only observes;
// probe_findings.hpp grades what it saw.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "cli/probe_observations.hpp"

namespace petrel::cli {

struct ProbeOptions {
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};  // each connect, handshake and reply
  std::string helo;      // name for EHLO/HELO; "" = this machine's host name
  std::string ca_file;   // "" = the system store
  // The outside addresses of the relay check (RFC 2606 domains: no real
  // mailbox is ever addressed, and no message is ever sent).
  std::string relay_from = "relay-probe@example.com";
  std::string relay_to = "relay-test@example.org";
  bool odmr = false;  // also look for ODMR (RFC 2645) on odmr_port
  std::uint16_t odmr_port = 366;
};

// Fills in everything after host, address, port, preference and
// implicit_tls, which `host` must carry already.
void probe_host(HostObservation& host, const ProbeOptions& options);

// The HELO name when --helo is not given.
std::string default_helo_name();

}  // namespace petrel::cli
