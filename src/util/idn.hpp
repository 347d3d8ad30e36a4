// Domain names in one canonical form, so an internationalized domain written
// as U-labels (SMTPUTF8, RFC 6531) and as A-labels ("xn--...") is the same
// domain: lower case, no trailing dot, A-labels (IDNA2008 via libidn2).
#pragma once

#include <string>
#include <string_view>

namespace petrel::util {

// "Bücher.Example." and "xn--bcher-kva.example" both give
// "xn--bcher-kva.example". A name that is not valid IDNA comes back only
// lower-cased (ASCII), so it matches no configured domain.
std::string ascii_domain(std::string_view domain);

}  // namespace petrel::util
