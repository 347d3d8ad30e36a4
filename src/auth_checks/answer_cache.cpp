#include "auth_checks/answer_cache.hpp"

#include <utility>  // Boost 1.74's Asio needs std::exchange

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <unordered_map>

namespace petrel::auth_checks {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

std::string key_of(std::string_view name) {
  std::string key(name);
  if (!key.empty() && key.back() == '.') key.pop_back();
  for (char& c : key) c = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  return key;
}

template <class A>
struct Table {
  std::unordered_map<std::string, std::pair<Clock::time_point, A>> entries;
};

}  // namespace

struct AnswerCache::Impl {
  asio::io_context& io;
  dns::Resolver& upstream;
  std::size_t max_entries;
  std::chrono::seconds max_ttl;
  Table<dns::MxAnswer> mx;
  Table<dns::AddressAnswer> a, aaaa;
  Table<dns::TxtAnswer> txt;
  Table<dns::PtrAnswer> ptr;
  std::size_t hits = 0;

  // A fresh answer from the table, posted; else `ask` the upstream and keep what it says.
  template <class A, class Ask>
  void lookup(Table<A>& table, std::string key, Ask ask, dns::Callback<A> done) {
    if (const auto it = table.entries.find(key); it != table.entries.end()) {
      if (it->second.first > Clock::now()) {
        ++hits;
        asio::post(io, [done = std::move(done), answer = it->second.second]() { done(answer); });
        return;
      }
      table.entries.erase(it);
    }
    ask([this, &table, key = std::move(key), done = std::move(done)](A answer) {
      keep(table, key, answer);
      done(std::move(answer));
    });
  }

  template <class A>
  void keep(Table<A>& table, const std::string& key, const A& answer) {
    if (answer.outcome == dns::Outcome::temporary_failure) return;
    const auto ttl = std::min(answer.ttl, max_ttl);
    if (ttl.count() <= 0) return;
    if (table.entries.size() >= max_entries) table.entries.clear();
    table.entries.insert_or_assign(key, std::make_pair(Clock::now() + ttl, answer));
  }
};

AnswerCache::AnswerCache(asio::io_context& io, dns::Resolver& upstream, std::size_t max_entries,
                         std::chrono::seconds max_ttl)
    : impl_(std::make_unique<Impl>(Impl{io, upstream, max_entries, max_ttl, {}, {}, {}, {}, {}})) {}

AnswerCache::~AnswerCache() = default;

void AnswerCache::lookup_mx(std::string_view domain, dns::Callback<dns::MxAnswer> done) {
  const std::string key = key_of(domain);
  impl_->lookup(impl_->mx, key, [this, key](dns::Callback<dns::MxAnswer> cb) { impl_->upstream.lookup_mx(key, std::move(cb)); },
                std::move(done));
}

void AnswerCache::lookup_a(std::string_view host, dns::Callback<dns::AddressAnswer> done) {
  const std::string key = key_of(host);
  impl_->lookup(impl_->a, key, [this, key](dns::Callback<dns::AddressAnswer> cb) { impl_->upstream.lookup_a(key, std::move(cb)); },
                std::move(done));
}

void AnswerCache::lookup_aaaa(std::string_view host, dns::Callback<dns::AddressAnswer> done) {
  const std::string key = key_of(host);
  impl_->lookup(impl_->aaaa, key,
                [this, key](dns::Callback<dns::AddressAnswer> cb) { impl_->upstream.lookup_aaaa(key, std::move(cb)); },
                std::move(done));
}

void AnswerCache::lookup_tlsa(std::string_view name, dns::Callback<dns::TlsaAnswer> done) {
  impl_->upstream.lookup_tlsa(name, std::move(done));  // the inbound checks do not ask for TLSA
}

void AnswerCache::lookup_txt(std::string_view name, dns::Callback<dns::TxtAnswer> done) {
  const std::string key = key_of(name);
  impl_->lookup(impl_->txt, key, [this, key](dns::Callback<dns::TxtAnswer> cb) { impl_->upstream.lookup_txt(key, std::move(cb)); },
                std::move(done));
}

void AnswerCache::lookup_ptr(const dns::IpAddress& address, dns::Callback<dns::PtrAnswer> done) {
  impl_->lookup(impl_->ptr, address.str(),
                [this, address](dns::Callback<dns::PtrAnswer> cb) { impl_->upstream.lookup_ptr(address, std::move(cb)); },
                std::move(done));
}

std::size_t AnswerCache::hits() const { return impl_->hits; }

}  // namespace petrel::auth_checks
