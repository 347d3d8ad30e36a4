// A throwaway certificate for tests and `make run`.
#pragma once

#include <string>
#include <vector>

namespace petrel::tls {

// Writes a new EC P-256 key (PKCS#8 PEM, mode 0600) and a self-signed X.509
// v3 certificate for it (PEM), valid from an hour ago for a year, with
// hostname as CN and hostname plus extra_names as DNS subjectAltNames.
// Throws TlsError.
void write_self_signed(const std::string& cert_file, const std::string& key_file, const std::string& hostname,
                       std::vector<std::string> extra_names = {});

}  // namespace petrel::tls
