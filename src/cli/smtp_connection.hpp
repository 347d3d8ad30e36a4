// A client connection for petrel's tools (probe, shell): TCP or implicit
// TLS to one host and port, whole SMTP replies read through the sans-I/O
// smtp::ReplyReader, lines written as given, and STARTTLS on request, with
// every step bounded by a timeout. Blocking calls: a CLI has nothing else
// to do meanwhile. Asio and OpenSSL stay in the .cpp.
//
// Failures are values, not exceptions, because telling them apart is the
// point of `petrel probe`: refused is not filtered is not reset.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/records.hpp"
#include "smtp/reply_reader.hpp"

namespace petrel::cli {

// How a network step ended.
enum class NetError {
  none,
  refused,      // RST to our SYN: nothing listens on that port
  timeout,      // no answer in time: filtered (a firewall drops the packets) or a tarpit
  reset,        // the peer reset an established connection
  closed,       // the peer closed in order (EOF) before the step finished
  unreachable,  // no route to host / network unreachable
  tls,          // TLS handshake failed (reason in `detail`)
  protocol,     // the peer sent something that is not SMTP (reply_reader error)
  other,
};
std::string_view to_string(NetError error);

// What a TLS handshake gave: for probe's report and the shell's banner.
struct TlsDetails {
  std::string version;  // "TLSv1.3"
  std::string cipher;   // "TLS_AES_256_GCM_SHA384"
  int bits = 0;
  std::string subject;             // "CN=mx.example.org"
  std::string issuer;              // "CN=R3,O=Let's Encrypt,C=US"
  std::vector<std::string> names;  // subjectAltName DNS names (and IPs as text)
  std::int64_t not_before = 0;     // Unix time
  std::int64_t not_after = 0;      // Unix time
  bool chain_verified = false;     // against the system store (or ca_file)
  std::string verify_error;        // X509_verify_cert_error_string when not verified
  bool name_matches = false;       // the certificate is valid for the host name asked
  // With ConnectOptions::tlsa: OpenSSL's DANE check (RFC 7671) replaced
  // the CA check, and matched one of the records.
  bool dane_checked = false;
  bool dane_matched = false;
  std::string dane_match;          // "TLSA 3 1 1"
  std::string describe() const;    // "TLSv1.3 with cipher X (256 bits)"
};

struct ConnectOptions {
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};  // connect, and TLS handshake
  bool implicit_tls = false;  // port 465 (RFC 8314): TLS before the greeting
  std::string tls_name;       // SNI and the name the certificate is checked against; "" = the host
  std::string ca_file;        // "" = the system store
  // DANE: the certificate is checked against these TLSA records instead
  // of the CAs (tls_name the base domain); reported, never enforced.
  std::vector<dns::TlsaRecord> tlsa;
};

class SmtpConnection {
 public:
  struct Result {
    NetError error = NetError::none;
    std::string detail;  // "Connection refused", "certificate verify failed", …
    std::chrono::microseconds elapsed{0};
    bool ok() const { return error == NetError::none; }
  };

  // Resolves `host` when it is not an IP literal (A then AAAA, first that
  // answers, via getaddrinfo), connects; with implicit_tls also handshakes.
  // On failure the returned pointer is null and `result` says why.
  static std::unique_ptr<SmtpConnection> open(const std::string& host, std::uint16_t port,
                                              const ConnectOptions& options, Result& result);
  ~SmtpConnection();
  SmtpConnection(const SmtpConnection&) = delete;
  SmtpConnection& operator=(const SmtpConnection&) = delete;

  // The next whole reply (all lines of a multi-line one), waiting at most
  // `timeout`. Bytes already buffered are used first. nullopt on failure,
  // with last_result() saying why (timeout, closed, reset, protocol).
  std::optional<smtp::ServerReply> read_reply(std::chrono::milliseconds timeout);
  // The raw reply lines of the last read_reply(), as received (without CRLF,
  // control octets as '?'), for transcripts: "250-SIZE 52428800".
  const std::vector<std::string>& last_raw_lines() const;

  // Raw bytes, for when the peer sends commands rather than replies (the
  // shell after ATRN, RFC 2645): whatever is buffered and not yet taken as
  // a reply, else what arrives within `timeout`. nullopt on failure, with
  // last_result() saying why.
  std::optional<std::string> read_bytes(std::chrono::milliseconds timeout);

  // Writes all of `bytes` (the caller adds CRLF). False on failure.
  bool write(std::string_view bytes, std::chrono::milliseconds timeout);

  // After the server's 220 to STARTTLS: drops whatever was buffered (it
  // came in the clear, RFC 3207 §4.2) and handshakes. Details also when the
  // chain does not verify: verification is reported, never enforced here.
  std::optional<TlsDetails> start_tls(std::chrono::milliseconds timeout);
  const std::optional<TlsDetails>& tls() const;  // set once encrypted

  // Non-blocking use (the shell's event loop): the socket to poll(), and
  // read_available() to take what has arrived without waiting; whole
  // replies then come from read_reply(0ms). False when the peer is gone.
  int native_handle() const;
  bool read_available();
  bool reply_ready() const;  // a whole reply is buffered

  const Result& last_result() const;
  std::string peer_address() const;  // "192.0.2.1" / "2001:db8::1"
  std::uint16_t peer_port() const;

 private:
  SmtpConnection();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace petrel::cli
