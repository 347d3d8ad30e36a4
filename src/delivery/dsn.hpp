// Delivery status notifications: the bounce, the delay warning and the
// success report (RFC 3464 inside an RFC 6522 multipart/report), written
// as a whole message by a pure function. Who gets one is decided here too
// (RFC 3461 NOTIFY, never to the null sender); sending it is the caller's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/envelope.hpp"
#include "spool/queue_id.hpp"

namespace petrel::delivery {

enum class DsnKind : std::uint8_t {
  failure,  // the bounce: delivery gave up
  delay,    // a warning: still trying
  success,  // NOTIFY=SUCCESS: delivered, or relayed to a server that sends no DSNs
};

// RFC 3464 §2.3.3 action-value.
enum class DsnAction : std::uint8_t { failed, delayed, delivered, relayed, expanded };

struct RecipientStatus {
  smtp::Recipient recipient;  // forward path, NOTIFY, ORCPT
  // RFC 3463 "class.subject.detail", e.g. "5.1.1"; empty or malformed gives
  // 5.0.0 / 4.0.0 / 2.0.0 by kind.
  std::string status;
  std::string remote_mta;  // host that answered, e.g. "mx1.example.org"; "" writes no Remote-MTA
  // The remote reply as received ("550 5.1.1 <x@example.org>: user unknown";
  // a multi-line reply may keep its CRLFs) or a local reason; "" for none.
  // Untrusted: control characters become spaces, long text is folded, and
  // text over 4 KiB is cut.
  std::string diagnostic;
  // nullopt: failed / delayed by kind; for success, relayed when remote_mta
  // is set (RFC 3464 §2.3.3: handed to a server that sends no DSNs) and
  // delivered otherwise.
  std::optional<DsnAction> action;
  std::optional<std::time_t> last_attempt;
  std::optional<std::time_t> will_retry_until;  // written in delay DSNs only (RFC 3464 §2.3.8)
  // What the reply means (docs/bounces.md: "invalid_recipient", ...); ""
  // for none. Written as the extension field X-Petrel-Bounce-Class
  // (RFC 3464 §2.4) and in the text.
  std::string bounce_class;
};

struct DsnInput {
  DsnKind kind;
  std::string reporting_mta;  // our host name: Reporting-MTA, From: MAILER-DAEMON@it, Message-ID
  spool::QueueId queue_id;    // the original's, written as X-Petrel-Queue-ID
  const smtp::Envelope& envelope;  // the original's: sender, ENVID, RET
  std::string_view original;       // the original content (headers + body, CRLF)
  std::time_t arrival;
  std::time_t now;
  std::vector<RecipientStatus> recipients;  // at least one
  std::string dsn_id;  // Message-ID is <dsn_id@reporting_mta>; "" derives one from queue_id and now
  // Largest original (headers + body) returned whole; a bigger one is
  // returned as its headers only, and the text part says so. Returned
  // headers are cut at a line boundary to fit it too.
  std::size_t max_returned_size = 64 * 1024;
};

struct Dsn {
  std::string content;     // the whole message: CRLF line endings, no line over 998 octets
  bool eight_bit = false;  // not all ASCII: send with BODY=8BITMIME (RFC 6152)
  bool smtputf8 = false;   // a header carries a UTF-8 address: send with SMTPUTF8 (RFC 6531)
};

// No DSN of any kind for a message from the null sender: that is what <>
// means, and DSNs are sent from <> so none answers another (RFC 5321
// §4.5.5, §6.1).
bool may_send_dsn(const smtp::Envelope& original);

// RFC 3461 §4.1 NOTIFY: NEVER gets nothing; an explicit list gets the kinds
// it names; unspecified gets failure and delay, not success (what RFC 3461
// §4.1 allows and Postfix and Sendmail do).
bool wants_dsn(const smtp::Recipient& recipient, DsnKind kind);

// The notification for in.recipients, addressed to the original sender:
// From: MAILER-DAEMON@reporting_mta, Auto-Submitted: auto-replied (RFC 3834
// §5), multipart/report with three parts:
//  1. text/plain for people: what happened to each recipient, and why;
//  2. message/delivery-status (RFC 3464), always pure ASCII; it becomes
//     message/global-delivery-status (RFC 6533 §6, report-type
//     global-delivery-status, "utf-8;" address types) when a recipient,
//     ORCPT, ENVID or host name is not ASCII. Non-ASCII in a diagnostic
//     alone does not switch: it is written as '?' in an ASCII report;
//  3. the original. A failure DSN returns it whole (message/rfc822, or
//     message/global when its header is UTF-8) unless RET=HDRS; RET
//     unspecified returns it whole too, as Postfix, Exim and Sendmail do.
//     Delay and success DSNs return headers only (RET concerns failure DSNs,
//     RFC 3461 §4.3), as text/rfc822-headers or message/global-headers.
//     A message over max_returned_size, with lines over 998 octets, bare CR
//     or LF, NUL, or BODY=BINARYMIME is returned as headers only. An empty
//     `original` leaves this part out.
// Precondition (std::invalid_argument otherwise): may_send_dsn(envelope)
// and at least one recipient.
Dsn make_dsn(const DsnInput& in);

// The envelope to send a DSN with: the null reverse path (RFC 5321 §4.5.5,
// so no DSN answers it), the original sender as its one recipient with
// NOTIFY=NEVER, and the BODY/SMTPUTF8 the content needs.
smtp::Envelope dsn_envelope(const smtp::Envelope& original, const Dsn& dsn);

}  // namespace petrel::delivery
