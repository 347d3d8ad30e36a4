// The organizational domain (RFC 7489 §3.2) by the Public Suffix List,
// through libpsl, which stays out of this header.
#pragma once

#include <string>
#include <string_view>

struct psl_ctx_st;

namespace petrel::dmarc {

class PublicSuffixList {
 public:
  // Debian's list (package publicsuffix), loaded on first use; a missing
  // list is a start-up failure (std::runtime_error).
  static const PublicSuffixList& system();
  // A list in the .dat or .dafsa format; std::runtime_error if unreadable.
  explicit PublicSuffixList(const std::string& file);
  ~PublicSuffixList();
  PublicSuffixList(const PublicSuffixList&) = delete;
  PublicSuffixList& operator=(const PublicSuffixList&) = delete;

  // The public suffix and one label more, in lower case without a trailing
  // dot: "mail.example.co.uk" -> "example.co.uk". A name that is itself a
  // public suffix is its own organizational domain. A TLD the list does not
  // know (".test") is a public suffix by the list's "*" rule, so
  // "mail.example.test" -> "example.test". Safe to call from any thread.
  std::string organizational_domain(std::string_view domain) const;

 private:
  explicit PublicSuffixList(psl_ctx_st* context) : context_(context) {}
  psl_ctx_st* context_;
};

}  // namespace petrel::dmarc
