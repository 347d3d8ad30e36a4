// The envelope of one message: what MAIL FROM and RCPT TO said, with their
// ESMTP parameters, plus who sent it. Shared by the session, the spool and
// delivery; plain data, no behaviour.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "smtp/address.hpp"

namespace petrel::smtp {

enum class BodyType : std::uint8_t { unspecified, seven_bit, eight_bit_mime, binary_mime };
enum class DsnRet : std::uint8_t { unspecified, full, headers };  // RFC 3461 §4.3

// RFC 3461 §4.1 NOTIFY: a bit set, or never.
enum DsnNotify : std::uint8_t {
  notify_unspecified = 0,
  notify_never = 1,
  notify_success = 2,
  notify_failure = 4,
  notify_delay = 8,
};

struct MailParams {
  std::optional<std::uint64_t> declared_size;  // SIZE= (RFC 1870)
  BodyType body = BodyType::unspecified;       // BODY= (RFC 6152, RFC 3030)
  bool smtputf8 = false;                       // RFC 6531
  DsnRet ret = DsnRet::unspecified;            // RET= (RFC 3461)
  std::string envid;                           // ENVID=, xtext-decoded
  // AUTH= (RFC 4954 §5), xtext-decoded; "<>" when the submitter is unknown.
  // Only kept from an authenticated or trusted client; otherwise "<>".
  std::string auth;
  // REQUIRETLS (RFC 8689 §4): only over TLS with an authenticated server,
  // to next hops that offer REQUIRETLS; never in the clear.
  bool requiretls = false;
};

struct Recipient {
  Address forward_path;
  std::uint8_t notify = notify_unspecified;  // RFC 3461 NOTIFY=
  std::string orcpt;                         // ORCPT= as "addr-type;address", decoded
  // Set by alias expansion at reception (docs/aliases.md); the address the
  // client named is then in orcpt ("rfc822;team@example.org").
  std::string via_alias;     // the alias it came through last ("team"); "" when none
  // An alias's "|command" or "/file" target (with its '|' or '/');
  // forward_path is then the address whose alias named it. "" for a mailbox.
  std::string alias_target;
};

struct Envelope {
  Path reverse_path;
  MailParams params;
  std::vector<Recipient> recipients;

  // Who handed the message to us.
  std::string client_address;  // IP literal, no port
  std::string helo_name;       // as given in HELO/EHLO
  std::string protocol;        // "SMTP", "ESMTP", "ESMTPSA", "UTF8SMTP" ... (RFC 3848)
  std::string auth_user;       // the AUTH identity, "" when not authenticated
  std::string tls;             // "TLSv1.3 with cipher X (256/256 bits)", "" in the clear

  // Bulk sending: which campaign and tenant (customer) the message belongs
  // to, for shaping, suspension and reports; "" when none. Set from the
  // [bulk] headers of a trusted or authenticated client, or by the API.
  std::string campaign;
  std::string tenant;

  // The message has a "TLS-Required: No" header field (RFC 8689 §5): the
  // recipients' TLS policies (DANE, MTA-STS) may be set aside. Ignored
  // with params.requiretls (RFC 8689 §4.1).
  bool tls_required_no = false;
};

}  // namespace petrel::smtp
