// What a server session needs to know about limits and local policy. Filled
// from the configuration by the server; defaults here are the product's
// defaults (docs/config.md) and are the only place they are written down.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace petrel::smtp {

enum class BareLineEndingPolicy { reject, normalize };
enum class ExpnPolicy { refuse, answer_252 };

struct SessionLimits {
  std::size_t max_command_line = 512;        // RFC 5321 §4.5.3.1.4, incl. CRLF
  std::size_t max_text_line = 1000;          // RFC 5321 §4.5.3.1.6, incl. CRLF; 0 = no limit
  std::uint64_t max_message_size = 50ull * 1024 * 1024;
  std::size_t max_recipients = 1000;
  std::size_t max_errors = 20;               // then 421 and close
  // Octets of a message's content a session keeps in memory; the rest is
  // spilled (ServerSession::Need::spill) as it arrives. 0: all in memory.
  std::size_t body_in_memory = 256 * 1024;
  std::size_t max_hops = 50;                 // Received: fields a message may carry (RFC 5321 §6.3); 0 = no limit
  std::chrono::milliseconds command_timeout{std::chrono::minutes(5)};  // RFC 5321 §4.5.3.2.7
  std::chrono::milliseconds data_timeout{std::chrono::minutes(3)};     // RFC 5321 §4.5.3.2.5
};

struct SessionOptions {
  std::string hostname = "localhost";
  SessionLimits limits;
  BareLineEndingPolicy bare_line_endings = BareLineEndingPolicy::reject;
  ExpnPolicy expn = ExpnPolicy::refuse;

  // Per listener:
  bool starttls = false;          // a certificate is configured: offer STARTTLS (RFC 3207)
  bool auth_without_tls = false;  // a trusted listener: offer AUTH in the clear too
  bool submission = false;        // RFC 6409: AUTH before MAIL
  // RFC 4954 §4: an AUTH line may be far longer than a command line.
  std::size_t max_auth_line = 12288;
  // The SASL mechanisms this listener offers over TLS (or where
  // auth_without_tls); empty: all the authenticator has.
  std::vector<std::string> auth_mechanisms;
  // Those it offers in the clear as well: mechanisms that never send the
  // password (CRAM-MD5 on the ODMR port). Empty: no AUTH in the clear.
  std::vector<std::string> auth_in_clear;
  // On-Demand Mail Relay (RFC 2645): AUTH before anything else, then ATRN;
  // no mail is accepted. odmr_domains: the domains each login may fetch.
  bool odmr = false;
  std::map<std::string, std::vector<std::string>> odmr_domains;

  // What EHLO advertises, for a server that tests its clients (petrel
  // catch --offer). esmtp false: a plain RFC 821 server that refuses EHLO
  // with 502, so the client must fall back to HELO (RFC 5321 §4.1.4).
  // ehlo_offer: the keywords (upper case, first word: "SIZE", "AUTH") that
  // may be advertised, of those the session has; nullopt: all of them.
  bool esmtp = true;
  std::optional<std::vector<std::string>> ehlo_offer;
};

}  // namespace petrel::smtp
