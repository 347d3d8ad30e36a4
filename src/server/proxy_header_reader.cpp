#include "server/proxy_header_reader.hpp"

#include <array>

#include <boost/asio/buffer.hpp>

#include "server/client_stream.hpp"

namespace petrel::server {
namespace asio = boost::asio;

namespace {

ProxyHeaderOutcome failed(std::string reason) { return {std::nullopt, std::move(reason)}; }

}  // namespace

// Peeks at what has arrived and lets the parser judge it. While it needs
// more, everything peeked belongs to the header, so it is taken off the
// socket (a later peek then waits for new octets instead of returning the
// same ones); once it is done, only the rest of the header is taken.
asio::awaitable<ProxyHeaderOutcome> read_proxy_header(ClientStream& stream, std::chrono::milliseconds timeout) {
  std::array<char, proxy::kMaxHeaderLength> received{};
  std::size_t taken = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (taken < received.size()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) co_return failed("timeout");
    boost::system::error_code ec;
    const std::size_t n = co_await stream.peek_some(asio::buffer(received.data() + taken, received.size() - taken), left, ec);
    if (ec) co_return failed(stream.timed_out() ? "timeout" : "closed");
    const proxy::Result result = proxy::parse(std::string_view(received.data(), taken + n));
    if (result.failed()) co_return failed(proxy::error_name(result.error));
    const std::size_t take = result.done() ? result.header.length - taken : n;
    co_await stream.read_exactly(asio::buffer(received.data() + taken, take), left, ec);
    if (ec) co_return failed(stream.timed_out() ? "timeout" : "closed");
    taken += take;
    if (result.done()) co_return ProxyHeaderOutcome{result.header, {}};
  }
  co_return failed(proxy::error_name(proxy::Error::v2_too_long));  // not reached: the parser ends first
}

}  // namespace petrel::server
