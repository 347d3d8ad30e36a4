// Taking a PROXY protocol header (src/proxy/) off a new connection to a
// listener behind a load balancer. Internal to src/server/.
#pragma once

#include <utility>  // Boost 1.74's awaitable.hpp needs std::exchange

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <optional>
#include <string>

#include "proxy/proxy_header.hpp"

namespace petrel::server {

class ClientStream;

struct ProxyHeaderOutcome {
  std::optional<proxy::Header> header;  // when a whole, valid header came
  // Otherwise why not: "timeout", "closed", or proxy::error_name().
  std::string error;
};

// Reads the header and not one octet more (a TLS ClientHello may follow in
// the same segment), within `timeout` for the whole of it: a peer that
// drips it one octet at a time gets no longer than one that sends nothing.
boost::asio::awaitable<ProxyHeaderOutcome> read_proxy_header(ClientStream& stream, std::chrono::milliseconds timeout);

}  // namespace petrel::server
