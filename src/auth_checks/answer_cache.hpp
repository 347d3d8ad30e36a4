// A small cache of DNS answers in front of the resolver, for the inbound
// checks of one I/O thread. libunbound caches too, but every lookup still
// crosses to its thread and back through a pipe; mail from one sender asks
// the same three or four names (SPF, DKIM key, DMARC) again and again, and
// bench/auth_checks.sh measured those round trips as most of the checks'
// cost. Answers are kept for their TTL (at most max_ttl), failures never;
// each kind holds at most max_entries and is emptied when full. Used from
// the io_context's thread only; a cached answer is posted, never given
// inside the lookup call, as the Resolver contract says.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include "dns/resolver.hpp"

namespace boost::asio {
class io_context;
}

namespace petrel::auth_checks {

class AnswerCache final : public dns::Resolver {
 public:
  AnswerCache(boost::asio::io_context& io, dns::Resolver& upstream, std::size_t max_entries = 4096,
              std::chrono::seconds max_ttl = std::chrono::hours(1));
  ~AnswerCache() override;

  void lookup_mx(std::string_view domain, dns::Callback<dns::MxAnswer> done) override;
  void lookup_a(std::string_view host, dns::Callback<dns::AddressAnswer> done) override;
  void lookup_aaaa(std::string_view host, dns::Callback<dns::AddressAnswer> done) override;
  void lookup_tlsa(std::string_view name, dns::Callback<dns::TlsaAnswer> done) override;
  void lookup_txt(std::string_view name, dns::Callback<dns::TxtAnswer> done) override;
  void lookup_ptr(const dns::IpAddress& address, dns::Callback<dns::PtrAnswer> done) override;

  std::size_t hits() const;  // answers given from the cache

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace petrel::auth_checks
