// DKIM verification (RFC 6376 §6, RFC 8463), without I/O: the verifier
// reads the message's signatures, says which key records it needs, and,
// given what the DNS answered for them, judges each signature. The pieces
// (body hashes, signed header data, key selection) serve ARC too.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dkim/canonicalize.hpp"
#include "dkim/key.hpp"
#include "dkim/signature.hpp"

namespace petrel::dkim {

// RFC 8601 §2.7.1's result names.
enum class Result { none, pass, fail, policy, neutral, temperror, permerror };
std::string_view to_string(Result result);

// What the DNS answered for a key record's name.
struct KeyLookup {
  enum class Status { found, missing, failed };  // records; NXDOMAIN/NODATA; SERVFAIL, timeout
  Status status = Status::failed;
  std::vector<std::string> records;  // each TXT record's strings joined
};

// How a signature fares against its key: the body hash (RFC 6376 §6.1.3
// step 1, with l=), then the signature over the signed fields and the
// signature's own field without its b= value (§3.7).
enum class Check { verified, body_too_short, body_changed, signature_bad };

// A message split once, with its body hashes kept per canonicalization and
// length, shared by the signatures (and ARC sets) that ask for them.
class ParsedMessage {
 public:
  // `message` (CRLF lines) must outlive this object; `rest` is the body
  // past it, for a big message whose tail is in a file.
  explicit ParsedMessage(std::string_view message, BodyRest rest = {});

  const SplitMessage& split() const { return split_; }
  // Indices into split().fields of the fields named `name` (any case), top to bottom.
  const std::vector<std::size_t>& fields_named(std::string_view name) const;
  // SHA-256 of the canonical body, of its first `length` octets when
  // given; nullopt when the body is shorter than `length` (§3.5 l=).
  std::optional<std::string> body_hash(Canonicalization c, std::optional<std::uint64_t> length);
  // The fields `names` select (§5.4.2: the n-th mention of a name takes
  // the n-th field of that name from the bottom; a missing one adds
  // nothing), canonicalized, each ending in CRLF.
  std::string signed_fields(const std::vector<std::string>& names, Canonicalization c) const;
  // The check of `signature`, the field at index `field` (a DKIM-Signature
  // or an ARC-Message-Signature), with `key`.
  Check check(const Signature& signature, std::size_t field, const PublicKeyInfo& key);

 private:
  std::string_view message_;
  BodyRest rest_;
  SplitMessage split_;
  std::map<std::string, std::vector<std::size_t>, std::less<>> by_name_;
  std::map<std::pair<int, std::uint64_t>, std::optional<std::string>> body_hashes_;
};

// The key a signature names, from its lookup: the public key, or the
// result and reason that end the verification (§6.1.2): temperror for a
// DNS failure, permerror for no record, several, a revoked or unusable key,
// a key whose k=, h= or s= do not fit.
struct KeySelection {
  std::optional<PublicKeyInfo> key;
  Result result = Result::permerror;
  std::string reason;
  bool testing = false;  // t=y in the key record
};
KeySelection select_key(const KeyLookup& lookup, const Signature& signature);

// One DKIM-Signature's judgement.
struct SignatureResult {
  Result result = Result::permerror;
  std::string reason;  // "signature verified", "body hash did not verify", "no key record", ...
  std::string domain;  // d=, for header.d and DMARC
  std::string selector;
  std::string identity;  // i=
  std::string algorithm;
  std::string b_prefix;  // the first 8 characters of b= (RFC 6008 header.b)
  bool testing = false;
};

struct VerifyOptions {
  std::size_t max_signatures = 5;  // beyond these, signatures are not looked at
  std::int64_t now = 0;            // for x=
  int min_rsa_bits = 1024;         // RFC 8301 §3.2
  BodyRest body_rest;              // the body past the message given, if it is not all in memory
};

class Verifier {
 public:
  // `message` must outlive the verifier.
  Verifier(std::string_view message, VerifyOptions options);

  // The key records to ask for (SELECTOR._domainkey.DOMAIN), each once.
  std::vector<std::string> key_names() const;
  // Every signature's result, in message order (top first); `key` answers
  // for a name of key_names(), or nullptr when it was not asked.
  std::vector<SignatureResult> verify(const std::function<const KeyLookup*(std::string_view name)>& key);

 private:
  struct Entry {
    std::size_t field = 0;  // index into the split fields
    std::optional<Signature> signature;
    std::string error;  // why it did not parse
  };
  SignatureResult judge(const Entry& entry, const KeyLookup* lookup);

  ParsedMessage message_;
  VerifyOptions options_;
  std::vector<Entry> entries_;
};

}  // namespace petrel::dkim
