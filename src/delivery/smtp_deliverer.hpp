// Remote delivery over SMTP or LMTP: the I/O around smtp::ClientSession.
// Tries a destination's endpoints in order until one takes the messages
// (RFC 5321 §5), with STARTTLS by policy and RFC 5321 §4.5.3.2 timeouts.
// Asio stays in the .cpp; `done` is called on the io_context's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dns/records.hpp"
#include "smtp/client_session.hpp"

namespace boost::asio {
class io_context;
}

namespace petrel::delivery {

// One place to connect to: a TCP address, or a UNIX-domain socket (LMTP,
// e.g. Dovecot's, written lmtp:unix:/path in a route).
struct Endpoint {
  std::string host;       // for logs and TLS SNI: "mx1.example.org"
  std::string address;    // IP literal: "192.0.2.1", "2001:db8::1"
  std::uint16_t port = 25;
  std::string unix_path;  // set: a UNIX socket, address and port unused
  // This host's STARTTLS policy, when it has one of its own (DANE,
  // MTA-STS); nullopt: DeliveryOptions::client.tls and verify_certificate.
  std::optional<smtp::TlsPolicy> tls;
  // DANE (RFC 7672 §3): the certificate is checked against these usable
  // TLSA records (DANE-EE without name checks, DANE-TA with them) instead
  // of the CAs. Empty: no DANE authentication.
  std::vector<dns::TlsaRecord> tlsa;
  std::string tls_policy;  // what set `tls`, for the log: "dane", "mta-sts", ...

  std::string str() const;  // "mx1.example.org[192.0.2.1]:25" or "unix:/path"
};

// RFC 5321 §4.5.3.2 defaults; connect and TLS are not in the RFC.
struct SmtpTimeouts {
  std::chrono::milliseconds connect{std::chrono::seconds(30)};
  std::chrono::milliseconds greeting{std::chrono::minutes(5)};     // §4.5.3.2.1
  std::chrono::milliseconds mail{std::chrono::minutes(5)};         // §4.5.3.2.2
  std::chrono::milliseconds rcpt{std::chrono::minutes(5)};         // §4.5.3.2.3
  std::chrono::milliseconds data_init{std::chrono::minutes(2)};    // §4.5.3.2.4
  std::chrono::milliseconds data_block{std::chrono::minutes(3)};   // §4.5.3.2.5, each write of content
  std::chrono::milliseconds data_end{std::chrono::minutes(10)};    // §4.5.3.2.6
  std::chrono::milliseconds command{std::chrono::minutes(5)};      // EHLO, STARTTLS, AUTH, RSET, QUIT
  std::chrono::milliseconds tls_handshake{std::chrono::minutes(1)};
};

struct DeliveryReport;

struct DeliveryOptions {
  smtp::ClientOptions client;  // HELO name, SMTP or LMTP, TLS policy, credentials
  SmtpTimeouts timeouts;
  // Connection reuse: asked for another message for the same destination
  // when the connection has finished those it had; nullopt ends it (QUIT).
  // Messages taken this way follow the given ones in the numbering below.
  std::function<std::optional<smtp::OutgoingMessage>()> more;
  // Asked before each `more`: how long to wait first (a message-rate
  // limit); the connection idles that long and asks again. Zero: ask
  // `more` now (with no other work in between). Unset: never waits.
  std::function<std::chrono::milliseconds()> pace;
  // Told each message's report as soon as it is final (the server answered
  // for it, or it was refused here), before the connection goes on, so
  // that a remote 250 can be recorded without waiting for the rest.
  std::function<void(std::size_t index, const DeliveryReport&)> reported;
  // The local address connections go out from (an egress source); "": the
  // system's choice.
  std::string source_address;
  // RFC 8314 §3: TLS from the first byte (port 465), no STARTTLS then.
  bool implicit_tls = false;
  // Certificate checks (chain and host name) for STARTTLS and implicit
  // TLS. Off by default: opportunistic TLS does not verify (RFC 7435).
  bool verify_certificate = false;
  std::string ca_file;  // with verify_certificate: "" means the system store
  // The next-hop domain: with the MX host name, a name a DANE-TA
  // certificate may carry (RFC 7672 §3.2.2). "": the host name only.
  std::string next_hop;
  // Sees each transcript line live: the session's ('>', '<') and the
  // connection's own notes ('*'), for a live view (petrel send).
  smtp::TranscriptWatch watch;
};

// What became of one message.
struct DeliveryReport {
  // In the order of the message's recipients. Unknown outcomes (no
  // endpoint answered, connection lost) are deferred with a local reply.
  std::vector<smtp::RecipientResult> recipients;
  // The server the outcome rests on: the one that answered for the message,
  // or, when none took it, the last one that refused the connection with a
  // reply (greeting, EHLO, AUTH); nullopt when none answered at all.
  std::optional<Endpoint> endpoint;
  std::string tls;                   // "TLSv1.3 with cipher X (256 bits)"; "" in the clear
  std::string tls_policy;            // the endpoint's Endpoint::tls_policy, "" when it had none
  // The server offered DSN (RFC 3461), so NOTIFY went on with the message
  // and success notices are its to send.
  bool dsn_passed_on = false;
  // Connection attempts and the dialogues, without content or credentials.
  std::vector<std::string> transcript;
};

// Delivers `messages` (and those options.more gives), all for the same
// destination, over one connection when it can: the endpoints are tried in
// order; a connection that fails (refused, greeting or EHLO refused, 4xx,
// lost, TLS required and absent) passes the messages it did not get to
// attempt on to the next endpoint. Under TlsPolicy::may a failed
// handshake is retried once in the clear. `done` gets one report per
// message, in order (given ones first, then those from `more`), on io's
// thread.
void deliver(boost::asio::io_context& io, std::vector<Endpoint> endpoints, DeliveryOptions options,
             std::vector<smtp::OutgoingMessage> messages, std::function<void(std::vector<DeliveryReport>)> done);

}  // namespace petrel::delivery
