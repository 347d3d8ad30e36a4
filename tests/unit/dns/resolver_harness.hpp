// Runs lookups on an io_context until their callbacks come, bounded.
#pragma once

#include <utility>  // Boost 1.74's Asio headers need std::exchange declared first

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>

#include "dns/unbound_resolver.hpp"
#include "dnsmasq.hpp"

namespace petrel::testing {

inline dns::ResolverOptions options_for(std::string upstream) {
  dns::ResolverOptions options;
  options.upstream = std::move(upstream);
  options.dnssec = dns::DnssecMode::off;  // dnsmasq serves no signatures
  options.zones_from_upstream = {"test.", "127.in-addr.arpa."};
  options.query_timeout = std::chrono::seconds(5);
  return options;
}

// Starts one lookup with a callback that stores its answer, and runs the
// io_context until it has come (at most 10 s).
template <class A, class Start>
std::optional<A> run_lookup(boost::asio::io_context& io, Start start) {
  std::optional<A> result;
  start([&result](A answer) { result = std::move(answer); });
  io.restart();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!result && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(100));
    io.restart();
  }
  return result;
}

#define PETREL_REQUIRE_DNSMASQ()                                                      \
  do {                                                                                \
    if (!::petrel::testing::Dnsmasq::binary()) {                                      \
      GTEST_SKIP() << "dnsmasq is not installed (apt-get install dnsmasq-base)";     \
    }                                                                                 \
  } while (0)

}  // namespace petrel::testing
