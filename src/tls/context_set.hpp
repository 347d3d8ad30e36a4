// Builds the SSL contexts for one load of the settings: one per certificate,
// all with the same policy, the first one choosing among the others by SNI.
// Internal to src/tls/.
#pragma once

#include <memory>

#include "tls/server_tls.hpp"

namespace petrel::tls::detail {

// Every handshake starts on the default context; its servername callback
// may move the SSL to one of the others. The returned pointer shares
// ownership of all of them, so they live as long as anyone holds it.
// Throws TlsError.
std::shared_ptr<boost::asio::ssl::context> build_contexts(const ServerTlsSettings& settings);

}  // namespace petrel::tls::detail
