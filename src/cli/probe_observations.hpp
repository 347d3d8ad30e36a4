// What `petrel probe` saw, as plain data: the I/O (probe_session,
// probe_command) fills these in, the grading (probe_findings) reads them
// without doing any I/O, and the reports print both.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/smtp_connection.hpp"
#include "dns/records.hpp"
#include "smtp/capabilities.hpp"
#include "smtp/reply_reader.hpp"

namespace petrel::cli {

// One transcript line: sent by us, received from the server, or a note.
struct TranscriptLine {
  enum class Kind { client, server, note };
  Kind kind = Kind::note;
  std::string text;
};

// How a timed network step ended.
struct StepResult {
  bool attempted = false;
  NetError error = NetError::none;
  std::string detail;
  double ms = 0;  // how long it took
  bool ok() const { return attempted && error == NetError::none; }
};

// A command and the server's answer; no reply when the connection failed.
struct Exchange {
  std::string command;
  std::optional<smtp::ServerReply> reply;
  bool sent() const { return !command.empty(); }
  int code() const { return reply ? reply->code : 0; }
};

struct StartTlsObservation {
  Exchange command;                     // STARTTLS and its 220
  std::optional<TlsDetails> tls;        // after a handshake that completed
  std::string error;                    // why the handshake failed
  Exchange ehlo;                        // EHLO again, inside TLS
  smtp::Capabilities capabilities;      // from that EHLO
};

struct PipeliningObservation {
  bool tested = false;
  std::vector<smtp::ServerReply> replies;  // to RSET and NOOP sent in one write
};

// DANE (RFC 7672) for one host: its TLSA records, when a validating
// resolver was asked (--trust-anchor-file, or the root anchor without
// --resolver), and whether the server's certificate matches them.
struct DaneObservation {
  bool looked_up = false;        // validating, found by MX
  bool applies = false;          // the MX and address answers are secure (RFC 7672 §2.2.1, §2.2.2)
  dns::TlsaAnswer tlsa;          // _PORT._tcp.HOST
  std::vector<dns::TlsaRecord> usable;  // DANE-TA/DANE-EE records among them
  bool checked = false;          // a STARTTLS handshake was checked against `usable`
  bool matched = false;
  std::string match;             // "TLSA 3 1 1" that matched
  std::string error;             // why the check could not be made (no STARTTLS, handshake failed)
};

struct HostObservation {
  std::string host;     // the MX name or the host given; an address if that was all
  std::string address;  // the IP connected to
  std::uint16_t port = 25;
  std::uint16_t preference = 0;  // MX preference, when found by MX
  bool implicit_tls = false;     // port 465 (RFC 8314)

  bool ptr_looked_up = false;
  std::vector<std::string> ptr_names;  // reverse DNS of `address`

  StepResult connect;
  std::optional<TlsDetails> implicit_tls_details;
  StepResult greeting;
  std::optional<smtp::ServerReply> greeting_reply;

  Exchange ehlo;
  Exchange helo;  // only after EHLO was refused
  double ehlo_ms = 0;
  smtp::Capabilities capabilities;  // as offered before any STARTTLS

  Exchange help;
  Exchange vrfy_postmaster, vrfy_random, expn_postmaster, expn_random;
  std::string random_name;  // the made-up local part tried
  Exchange turn;

  PipeliningObservation pipelining;
  std::uint64_t size_tried = 0;  // SIZE= sent, one octet above the limit
  Exchange size_mail;
  Exchange relay_mail, relay_rcpt;
  std::optional<StartTlsObservation> starttls;
  DaneObservation dane;

  // ODMR (RFC 2645) on port 366 of the same address, with --odmr.
  struct Odmr {
    bool tried = false;
    bool greeted = false;  // a 220 came
    bool atrn = false;     // EHLO offered ATRN
    std::vector<std::string> auth;  // mechanisms offered in the clear
    bool starttls = false;
    std::string error;     // why there was no dialogue
  } odmr;

  std::string lost;  // the connection ended early: at which step and why
  NetError lost_error = NetError::none;  // how it ended, for the finding's words
  std::vector<TranscriptLine> transcript;
};

// Where the hosts came from.
struct DnsObservation {
  bool by_mx = false;          // the target was a domain
  std::string domain;
  bool implicit_mx = false;    // no MX records: the domain's own address (RFC 5321 §5.1)
  bool null_mx = false;        // RFC 7505: the domain accepts no mail
  std::string failure;         // NXDOMAIN, SERVFAIL... when no host was found
  std::vector<std::string> notes;
  double ms = 0;
};

struct ProbeObservation {
  std::string target;
  DnsObservation dns;
  std::vector<HostObservation> hosts;  // in the order probed
};

}  // namespace petrel::cli
