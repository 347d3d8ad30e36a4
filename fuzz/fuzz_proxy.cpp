// Fuzzes the PROXY protocol header parser (src/proxy/): the first octets
// of every connection to a listener behind a load balancer, from whoever
// reaches that port.
//
// Input: the octets as received. Checked: the verdict on the whole input
// agrees with the verdict on each prefix (a prefix of a header needs more,
// a prefix already refused stays refused), a header is never longer than
// its cap or than the input, and the addresses read back as addresses.
#include <arpa/inet.h>

#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "proxy/proxy_header.hpp"

using namespace petrel;

namespace {

void check_endpoint(const std::optional<proxy::Endpoint>& e) {
  if (!e) return;
  unsigned char binary[16];
  FUZZ_CHECK(inet_pton(AF_INET, e->address.c_str(), binary) == 1 ||
             inet_pton(AF_INET6, e->address.c_str(), binary) == 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const proxy::Result whole = proxy::parse(input);
  if (whole.done()) {
    const auto& h = whole.header;
    FUZZ_CHECK(h.length <= input.size());
    FUZZ_CHECK(h.length <= (h.version == proxy::Version::v1 ? proxy::kMaxV1Length : proxy::kMaxV2Length));
    FUZZ_CHECK(h.source.has_value() == h.destination.has_value());
    check_endpoint(h.source);
    check_endpoint(h.destination);
    // What follows the header plays no part in it.
    const proxy::Result alone = proxy::parse(input.substr(0, h.length));
    FUZZ_CHECK(alone.done() && alone.header.length == h.length);
  }
  if (whole.need_more()) FUZZ_CHECK(input.size() < proxy::kMaxHeaderLength);
  // Each shorter prefix: a refused one stays refused with the same reason,
  // and none is complete before the header's end.
  const std::size_t step = size > 64 ? size / 64 : 1;
  for (std::size_t n = 0; n < size; n += step) {
    const proxy::Result part = proxy::parse(input.substr(0, n));
    if (part.failed()) FUZZ_CHECK(whole.failed() && whole.error == part.error);
    if (part.done()) FUZZ_CHECK(whole.done() && whole.header.length == part.header.length);
    if (whole.done() && n < whole.header.length) FUZZ_CHECK(part.need_more());
  }
  return 0;
}
