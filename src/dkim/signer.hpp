// DKIM signing (RFC 6376 §5, RFC 8463): the DKIM-Signature header field for
// a message the spool holds, relaxed/relaxed, with rsa-sha256 or
// ed25519-sha256. No I/O and no clock: the key is loaded beforehand
// (dkim/key.hpp) and the time is passed in. The message is read where it
// lies; nothing is copied but the header fields that are signed.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dkim/algorithm.hpp"
#include "dkim/canonicalize.hpp"
#include "dkim/key.hpp"

namespace petrel::dkim {

// The header fields signed unless configured otherwise: those a reader
// sees or a list server acts on (RFC 6376 §5.4.1), and those that change
// how the body is read.
inline constexpr std::array<std::string_view, 17> kDefaultSignedHeaders = {
    "from",         "to",           "cc",          "subject",        "date",
    "message-id",   "reply-to",     "mime-version", "content-type",  "content-transfer-encoding",
    "in-reply-to",  "references",   "list-id",     "list-unsubscribe", "list-unsubscribe-post",
    "feedback-id",  "sender"};

struct SignerConfig {
  std::string domain;    // d=, A-labels
  std::string selector;  // s=
  Algorithm algorithm = Algorithm::rsa_sha256;
  // Names of the header fields to sign, in any case. "from" is signed
  // whether listed or not (RFC 6376 §5.4).
  std::vector<std::string> headers{kDefaultSignedHeaders.begin(), kDefaultSignedHeaders.end()};
};

// Whether `name` can be a d= or s= value: dot-separated labels of letters,
// digits, '-' and '_', each of 1 to 63 octets, 253 in all, without a
// trailing dot. (Anything else could break the header field or, as a key
// file name, a path.)
bool valid_dns_name(std::string_view name);

// The "DKIM-Signature: ..." field for `message` (CRLF lines, header and
// body as the spool holds them), folded, ending in CRLF, to be put above
// the message's first line. Tags: v=1; a=; c=relaxed/relaxed; d=; s=; t=;
// h=; bh=; b=. Each name in h= appears once per field of that name in the
// message, which signs them from the bottom up (§5.4.2); a name the
// message lacks appears once, which signs its absence; "from" appears once
// more than the message has From fields, so no From can be added
// (oversigning, §8.15).
//
// Throws std::invalid_argument for a programmer's error the configuration
// should have caught: the key not of config.algorithm, a domain or
// selector that is not valid_dns_name, a header name with ':' or WSP.
std::string sign(const Key& key, const SignerConfig& config, std::string_view message, std::int64_t unix_time);

// A key configured for a domain ([[dkim]] in petrel.toml).
struct DomainKey {
  SignerConfig config;
  std::shared_ptr<const Key> key;
};

// The domain of the message's From field: of its first mailbox, after the
// last '@', in lower case, without a trailing dot. "" when the message has
// no From field or more than one (RFC 5322 §3.6 allows one), or its
// address has no domain name.
std::string from_domain(std::string_view message);

// The signatures of every key whose domain is the From domain (ignoring
// case), concatenated in the order of `keys`: an RSA and an Ed25519 key
// for one domain give two fields. "" when none applies. `rest`: the body
// past `message`, for a big message whose tail is in a file.
std::string sign_all(const std::vector<DomainKey>& keys, std::string_view message, std::int64_t unix_time,
                     const BodyRest& rest = {});

}  // namespace petrel::dkim
