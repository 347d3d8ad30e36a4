// ARC chain validation (RFC 8617 §5.2), without I/O: the validator finds
// the message's ARC sets, says which key records it needs, and, given the
// DNS's answers, judges the chain. Signatures are checked with the DKIM
// code (dkim/verify.hpp): an ARC-Message-Signature is a DKIM signature
// with i= for its instance; an ARC-Seal signs the ARC fields themselves.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "dkim/verify.hpp"

namespace petrel::arc {

// RFC 8617 §5.2 with RFC 8601's temperror for a key the DNS did not give.
enum class Result { none, pass, fail, temperror };
std::string_view to_string(Result result);

struct Outcome {
  Result result = Result::none;
  std::string reason;     // "3 sets, all seals verified", "ARC-Seal i=2 did not verify", ...
  int instances = 0;      // the highest i= (0: no ARC set)
  std::string sealer;     // d= of the newest ARC-Seal
};

class Validator {
 public:
  // `message` must outlive the validator.
  // `rest`: the body past `message`, for a big message whose tail is in a file.
  explicit Validator(std::string_view message, dkim::BodyRest rest = {});

  // The key records to ask for, each once; empty when the chain is
  // already decided (no sets, broken structure, cv=fail).
  std::vector<std::string> key_names() const;
  Outcome validate(const std::function<const dkim::KeyLookup*(std::string_view name)>& key);

 private:
  struct Set {
    std::size_t aar = 0, ams = 0, seal = 0;  // field indices
    dkim::Signature message_signature;
    dkim::Signature seal_signature;
  };
  bool read_sets();
  Outcome check_message_signature(const dkim::KeyLookup* lookup);
  Outcome check_seal(std::size_t instance, const dkim::KeyLookup* lookup) const;

  dkim::ParsedMessage message_;
  std::vector<Set> sets_;  // sets_[k] is instance k+1
  Outcome early_;          // the outcome when decided before any key
  bool decided_early_ = false;
};

}  // namespace petrel::arc
