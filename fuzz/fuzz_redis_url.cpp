// Fuzzes the [cluster] redis URL parser (src/cluster/redis_url.cpp).
// Invariants: an accepted URL has a host and a port; its redacted form
// (the log's) parses back to the same URL, the password as "***".
#include <cstdint>
#include <string>

#include "cluster/redis_url.hpp"
#include "fuzz_check.hpp"

using namespace petrel;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::string error;
  auto url = cluster::parse_redis_url(text, error);
  if (!url) {
    FUZZ_CHECK(!error.empty());
    return 0;
  }
  FUZZ_CHECK(!url->host.empty() && url->port != 0);
  std::string again_error;
  auto again = cluster::parse_redis_url(cluster::redacted(*url), again_error);
  FUZZ_CHECK(again.has_value());
  cluster::RedisUrl expected = *url;
  if (!expected.password.empty()) expected.password = "***";
  FUZZ_CHECK(*again == expected);
  return 0;
}
