#include "cli/catch_dkim.hpp"

#include <utility>  // Boost 1.74's Asio needs std::exchange declared first

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <ctime>
#include <map>
#include <optional>

#include "auth_checks/checker.hpp"
#include "dkim/verify.hpp"
#include "dns/unbound_resolver.hpp"
#include "util/async_callback.hpp"

// GCC 12 warns of a new/delete mismatch in Asio 1.74's coroutine frame
// allocator; the frame's own operator new and delete are used.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace petrel::cli {
namespace asio = boost::asio;

struct CatchDkim::Impl {
  asio::io_context& io;
  dns::ResolverOptions options;
  std::unique_ptr<dns::UnboundResolver> resolver;  // made at the first signed message

  dns::Resolver& get() {
    if (!resolver) resolver = std::make_unique<dns::UnboundResolver>(io, options);
    return *resolver;
  }
};

CatchDkim::CatchDkim(asio::io_context& io, std::string resolver, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(Impl{io, {}, nullptr})) {
  impl_->options.upstream = std::move(resolver);
  impl_->options.query_timeout = timeout;
  // As petrel dkim check: a chosen server is asked about the RFC 6761
  // names too, and a forwarder rarely passes DNSSEC records on.
  if (!impl_->options.upstream.empty()) {
    impl_->options.dnssec = dns::DnssecMode::off;
    impl_->options.zones_from_upstream = {"test.", "invalid.", "example."};
  }
}

CatchDkim::~CatchDkim() = default;

bool CatchDkim::is_signed(std::string_view content) {
  dkim::Verifier verifier(content, dkim::VerifyOptions{});
  return !verifier.key_names().empty();
}

asio::awaitable<std::vector<catcher::DkimCheck>> CatchDkim::check(const std::string& content) {
  dkim::VerifyOptions options;
  options.now = static_cast<std::int64_t>(std::time(nullptr));
  dkim::Verifier verifier(content, options);
  std::map<std::string, dkim::KeyLookup, std::less<>> keys;
  for (const std::string& name : verifier.key_names()) {
    dns::Resolver& resolver = impl_->get();
    const auto start = [&resolver, name](std::function<void(dns::TxtAnswer)> done) {
      resolver.lookup_txt(name, std::move(done));
    };
    const dns::TxtAnswer answer = co_await util::async_callback<dns::TxtAnswer>(start, asio::use_awaitable);
    keys.emplace(name, auth_checks::dkim_key_lookup(answer));
  }
  const auto lookup = [&keys](std::string_view name) -> const dkim::KeyLookup* {
    const auto it = keys.find(name);
    return it == keys.end() ? nullptr : &it->second;
  };
  std::vector<catcher::DkimCheck> checks;
  for (const auto& r : verifier.verify(lookup)) {
    checks.push_back({r.domain, r.selector, std::string(dkim::to_string(r.result)), r.reason});
  }
  co_return checks;
}

}  // namespace petrel::cli

#pragma GCC diagnostic pop
