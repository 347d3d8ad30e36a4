// Which TLSA records DANE for SMTP can use (RFC 7672 §3.1.3, RFC 6698
// §2.1): DANE-TA(2) and DANE-EE(3), selector 0 (the certificate) or 1
// (its public key), matching type 0 (exact), 1 (SHA2-256, 32 octets) or 2
// (SHA2-512, 64 octets). PKIX-TA(0), PKIX-EE(1) and anything malformed are
// unusable. Header-only: delivery and petrel probe share it.
#pragma once

#include "dns/records.hpp"

namespace petrel::dns {

inline bool dane_usable(const TlsaRecord& r) {
  if (r.usage != 2 && r.usage != 3) return false;
  if (r.selector > 1) return false;
  switch (r.matching_type) {
    case 0: return !r.data.empty();
    case 1: return r.data.size() == 32;
    case 2: return r.data.size() == 64;
    default: return false;
  }
}

}  // namespace petrel::dns
