// The HTTPS fetch of an MTA-STS policy (RFC 8461 §3.3): GET
// https://mta-sts.DOMAIN/.well-known/mta-sts.txt over TLS with the
// certificate checked (chain and the name mta-sts.DOMAIN), no redirects,
// status 200, text/plain, at most 64 KiB, within a deadline. Boost.Beast
// does the HTTP; it and Asio stay in the .cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace boost::asio {
class io_context;
}

namespace petrel::mtasts {

struct FetchOptions {
  std::string ca_file;  // CAs to trust (PEM); "": the system store
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};  // the whole fetch
  std::uint16_t port = 443;
};

struct FetchResult {
  std::optional<std::string> body;  // the policy text, when fetched
  std::string error;                // why not: "certificate verify failed", "HTTP 404"
};

// `address` is an IP literal of mta-sts.DOMAIN (the caller resolves it with
// its own resolver). `done` runs once, on io's thread.
void fetch_policy(boost::asio::io_context& io, const std::string& domain, const std::string& address,
                  const FetchOptions& options, std::function<void(FetchResult)> done);

}  // namespace petrel::mtasts
