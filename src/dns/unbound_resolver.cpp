#include "dns/unbound_resolver.hpp"

#include <utility>  // Boost 1.74's Asio headers need std::exchange declared first

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <unbound.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <unordered_map>

#include "dns/rdata.hpp"

namespace petrel::dns {
namespace asio = boost::asio;

namespace {

// RFC 1035 §3.2.2, RFC 3596 §2.1, RFC 6698 §7.1
constexpr int kTypeA = 1;
constexpr int kTypePtr = 12;
constexpr int kTypeMx = 15;
constexpr int kTypeTxt = 16;
constexpr int kTypeAaaa = 28;
constexpr int kTypeTlsa = 52;
constexpr int kClassIn = 1;

// RFC 1035 §4.1.1, RFC 2136 §2.2
std::string rcode_name(int rcode) {
  switch (rcode) {
    case 1: return "FORMERR";
    case 2: return "SERVFAIL";
    case 4: return "NOTIMP";
    case 5: return "REFUSED";
    default: return "RCODE " + std::to_string(rcode);
  }
}

// "127.0.0.1:5353", "[::1]:5353", "::1", "192.0.2.53" to libunbound's
// "address@port".
std::string forwarder_address(std::string_view upstream) {
  std::string_view host = upstream;
  std::string_view port;
  if (upstream.starts_with('[')) {
    const auto close = upstream.find(']');
    if (close == std::string_view::npos) {
      throw std::runtime_error("dns upstream: missing ']' in " + std::string(upstream));
    }
    host = upstream.substr(1, close - 1);
    std::string_view rest = upstream.substr(close + 1);
    if (!rest.empty()) {
      if (!rest.starts_with(':')) throw std::runtime_error("dns upstream: bad " + std::string(upstream));
      port = rest.substr(1);
    }
  } else if (const auto colon = upstream.find(':'); colon != std::string_view::npos && upstream.rfind(':') == colon) {
    host = upstream.substr(0, colon);  // exactly one colon: IPv4 with a port
    port = upstream.substr(colon + 1);
  }
  if (!IpAddress::parse(host)) {
    throw std::runtime_error("dns upstream: not an IP address: " + std::string(upstream));
  }
  unsigned number = 53;
  if (!port.empty()) {
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
    if (ec != std::errc() || end != port.data() + port.size() || number == 0 || number > 65535) {
      throw std::runtime_error("dns upstream: bad port in " + std::string(upstream));
    }
  }
  return std::string(host) + "@" + std::to_string(number);
}

std::string without_trailing_dot(std::string_view name) {
  if (name.size() > 1 && name.ends_with('.')) name.remove_suffix(1);
  return std::string(name);
}

bool same_name(std::string_view a, std::string_view b) {
  if (a.ends_with('.')) a.remove_suffix(1);
  if (b.ends_with('.')) b.remove_suffix(1);
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

// libunbound's answer (or its failure to give one) as an Answer. `failure`
// is non-empty when there is no answer at all (timeout, error).
template <class Record, class Parse>
Answer<Record> to_answer(const ub_result* result, std::string_view failure, Parse parse) {
  Answer<Record> answer;
  if (!failure.empty() || !result) {
    answer.outcome = Outcome::temporary_failure;
    answer.error = failure.empty() ? "no answer" : std::string(failure);
    return answer;
  }
  answer.ttl = std::chrono::seconds(std::max(result->ttl, 0));
  answer.dnssec = result->bogus ? Dnssec::bogus : result->secure ? Dnssec::secure : Dnssec::insecure;
  if (result->canonname && result->qname && !same_name(result->canonname, result->qname)) {
    answer.canonical_name = without_trailing_dot(result->canonname);
  }
  if (result->bogus) {
    answer.outcome = Outcome::temporary_failure;
    answer.error = std::string("DNSSEC bogus: ") + (result->why_bogus ? result->why_bogus : "validation failed");
    return answer;
  }
  if (result->nxdomain || result->rcode == 3) {
    answer.outcome = Outcome::nxdomain;
    return answer;
  }
  if (result->rcode != 0) {
    answer.outcome = Outcome::temporary_failure;
    answer.error = rcode_name(result->rcode);
    return answer;
  }
  if (!result->havedata) {
    answer.outcome = Outcome::nodata;
    return answer;
  }
  for (int i = 0; result->data[i]; ++i) {
    const rdata::Bytes bytes(reinterpret_cast<const std::uint8_t*>(result->data[i]),
                             static_cast<std::size_t>(result->len[i]));
    if (auto record = parse(bytes)) answer.records.push_back(std::move(*record));
  }
  if (answer.records.empty()) {
    answer.outcome = Outcome::temporary_failure;
    answer.error = "malformed records";
    return answer;
  }
  answer.outcome = Outcome::ok;
  return answer;
}

}  // namespace

struct UnboundResolver::Impl : std::enable_shared_from_this<Impl> {
  // Turns libunbound's result into the caller's answer and posts it.
  using Finish = std::function<void(const ub_result* result, std::string_view failure)>;

  struct Pending {
    int async_id = 0;
    std::unique_ptr<asio::steady_timer> timer;
    Finish finish;
  };

  Impl(asio::io_context& io, ResolverOptions opts);
  ~Impl();

  template <class Record, class Parse>
  void lookup(std::string_view name, int type, Parse parse, Callback<Answer<Record>> done);
  void start(const std::string& name, int type, Finish finish);
  void watch_pipe();
  void process();
  void expire(std::uint64_t id);

  static void on_result(void* mydata, int err, ub_result* result);
  void set_option(const char* name, const std::string& value);

  asio::io_context& io;
  ResolverOptions options;
  ub_ctx* ctx = nullptr;
  std::unique_ptr<asio::posix::stream_descriptor> pipe;
  bool waiting = false;
  bool validating = false;
  std::uint64_t next_id = 1;
  std::unordered_map<std::uint64_t, Pending> pending;

  // libunbound calls on_result only from inside ub_process (or
  // ub_resolve_async) on this thread; this tells it which resolver it is
  // running for, as mydata carries only the query's id.
  static thread_local Impl* current;
};

thread_local UnboundResolver::Impl* UnboundResolver::Impl::current = nullptr;

namespace {
// Sets Impl::current for a scope, restoring the previous value.
template <class T>
class CurrentGuard {
 public:
  CurrentGuard(T*& slot, T* value) : slot_(slot), saved_(std::exchange(slot, value)) {}
  ~CurrentGuard() { slot_ = saved_; }
  CurrentGuard(const CurrentGuard&) = delete;
  CurrentGuard& operator=(const CurrentGuard&) = delete;

 private:
  T*& slot_;
  T* saved_;
};
}  // namespace

void UnboundResolver::Impl::set_option(const char* name, const std::string& value) {
  if (const int err = ub_ctx_set_option(ctx, name, value.c_str()); err != 0) {
    throw std::runtime_error(std::string("libunbound option ") + name + " " + value + ": " + ub_strerror(err));
  }
}

UnboundResolver::Impl::Impl(asio::io_context& io_context, ResolverOptions opts)
    : io(io_context), options(std::move(opts)) {
  ctx = ub_ctx_create();
  if (!ctx) throw std::runtime_error("libunbound: cannot create a context");
  try {
    // Resolve in a thread rather than a forked process (the default).
    if (const int err = ub_ctx_async(ctx, 1); err != 0) throw std::runtime_error(ub_strerror(err));

    if (!options.upstream.empty()) {
      const std::string address = forwarder_address(options.upstream);
      if (const int err = ub_ctx_set_fwd(ctx, address.c_str()); err != 0) {
        throw std::runtime_error("dns upstream " + options.upstream + ": " + ub_strerror(err));
      }
    } else {
      // Without a usable resolv.conf libunbound recurses from the root.
      (void)ub_ctx_resolvconf(ctx, nullptr);
    }
    // A forwarder on loopback (dnsmasq, systemd-resolved) must be asked.
    set_option("do-not-query-localhost:", "no");

    // A transparent local zone without data is resolved as usual; it
    // replaces the built-in one of that name ("nodefault" is not honoured
    // through ub_ctx_set_option).
    for (const auto& zone : options.zones_from_upstream) {
      set_option("local-zone:", zone + " transparent");
      if (options.upstream_zones_insecure) set_option("domain-insecure:", zone);
    }

    validating = options.dnssec == DnssecMode::on ||
                 (options.dnssec == DnssecMode::if_trust_anchor && std::filesystem::exists(options.trust_anchor_file));
    if (validating) {
      // No RFC 8145 key-tag queries (to the root, or to a lab's server).
      set_option("trust-anchor-signaling:", "no");
      // libunbound reads the file only at the first query; fail here instead.
      if (::access(options.trust_anchor_file.c_str(), R_OK) != 0) {
        throw std::runtime_error("dns trust anchor " + options.trust_anchor_file + " cannot be read");
      }
      if (const int err = ub_ctx_add_ta_file(ctx, options.trust_anchor_file.c_str()); err != 0) {
        throw std::runtime_error("dns trust anchor " + options.trust_anchor_file + ": " + ub_strerror(err));
      }
    } else {
      set_option("module-config:", "iterator");
    }

    set_option("msg-cache-size:", std::to_string(options.cache_bytes / 3));
    set_option("rrset-cache-size:", std::to_string(options.cache_bytes - options.cache_bytes / 3));
    set_option("cache-max-ttl:", std::to_string(options.max_ttl.count()));
    set_option("cache-max-negative-ttl:", std::to_string(options.max_negative_ttl.count()));

    pipe = std::make_unique<asio::posix::stream_descriptor>(io, ub_fd(ctx));
  } catch (...) {
    ub_ctx_delete(ctx);
    throw;
  }
}

UnboundResolver::Impl::~Impl() {
  pending.clear();  // their timers' handlers find this resolver gone
  if (pipe) {
    boost::system::error_code ignored;
    pipe->cancel(ignored);
    (void)pipe->release();  // the descriptor is libunbound's to close
  }
  ub_ctx_delete(ctx);  // stops its thread; outstanding queries are dropped
}

void UnboundResolver::Impl::on_result(void* mydata, int err, ub_result* result) {
  const std::unique_ptr<ub_result, void (*)(ub_result*)> owned(result, [](ub_result* r) {
    if (r) ub_resolve_free(r);
  });
  Impl* self = current;
  if (!self) return;
  const auto it = self->pending.find(reinterpret_cast<std::uintptr_t>(mydata));
  if (it == self->pending.end()) return;  // timed out and given up already
  Pending query = std::move(it->second);
  self->pending.erase(it);
  query.timer->cancel();
  query.finish(err == 0 ? result : nullptr, err == 0 ? std::string_view() : std::string_view(ub_strerror(err)));
}

void UnboundResolver::Impl::start(const std::string& name, int type, Finish finish) {
  const std::uint64_t id = next_id++;
  Pending query;
  query.timer = std::make_unique<asio::steady_timer>(io);
  query.timer->expires_after(options.query_timeout);
  query.timer->async_wait([weak = weak_from_this(), id](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->expire(id);
  });
  query.finish = std::move(finish);
  pending.emplace(id, std::move(query));

  int async_id = 0;
  int err = 0;
  {
    CurrentGuard guard(current, this);
    // mydata carries the id itself, never dereferenced: an id, unlike the
    // address of a query object, is never reused by a later query.
    void* mydata = reinterpret_cast<void*>(static_cast<std::uintptr_t>(id));  // NOLINT(performance-no-int-to-ptr)
    err = ub_resolve_async(ctx, name.c_str(), type, kClassIn, mydata, &Impl::on_result, &async_id);
  }
  const auto it = pending.find(id);
  if (it == pending.end()) return;  // answered at once
  if (err != 0) {
    Pending failed = std::move(it->second);
    pending.erase(it);
    failed.timer->cancel();
    failed.finish(nullptr, ub_strerror(err));
    return;
  }
  it->second.async_id = async_id;
  watch_pipe();
}

void UnboundResolver::Impl::expire(std::uint64_t id) {
  const auto it = pending.find(id);
  if (it == pending.end()) return;
  Pending query = std::move(it->second);
  pending.erase(it);
  (void)ub_cancel(ctx, query.async_id);  // an answer already on its way is dropped by on_result
  if (pending.empty() && waiting) {
    boost::system::error_code ignored;
    pipe->cancel(ignored);  // so that an idle resolver lets io_context::run() return
  }
  query.finish(nullptr, "timed out");
}

// The pipe is watched only while queries are outstanding, so that an idle
// resolver does not keep io_context::run() from returning.
void UnboundResolver::Impl::watch_pipe() {
  if (waiting || pending.empty()) return;
  waiting = true;
  pipe->async_wait(asio::posix::stream_descriptor::wait_read,
                   [weak = weak_from_this()](const boost::system::error_code& ec) {
                     auto self = weak.lock();
                     if (!self) return;
                     self->waiting = false;
                     if (ec == asio::error::operation_aborted) {
                       self->watch_pipe();  // a lookup may have started since
                       return;
                     }
                     self->process();
                   });
}

void UnboundResolver::Impl::process() {
  {
    CurrentGuard guard(current, this);
    (void)ub_process(ctx);  // reads what is in the pipe without blocking
  }
  watch_pipe();
}

template <class Record, class Parse>
void UnboundResolver::Impl::lookup(std::string_view name, int type, Parse parse, Callback<Answer<Record>> done) {
  auto finish = [weak = weak_from_this(), parse, done = std::move(done)](const ub_result* result,
                                                                         std::string_view failure) mutable {
    auto self = weak.lock();
    if (!self) return;
    asio::post(self->io, [weak, done = std::move(done), answer = to_answer<Record>(result, failure, parse)]() mutable {
      if (weak.expired()) return;  // the resolver is gone: its callbacks are dropped
      done(std::move(answer));
    });
  };
  start(std::string(name), type, std::move(finish));
}

ResolverOptions petreld_options(const std::string& upstream, const std::string& trust_anchor_file) {
  ResolverOptions r;
  r.upstream = upstream;
  if (!upstream.empty()) {
    r.zones_from_upstream = {"test.", "invalid.", "example."};
    r.dnssec = DnssecMode::off;
  }
  if (!trust_anchor_file.empty()) {
    r.trust_anchor_file = trust_anchor_file;
    r.dnssec = DnssecMode::on;
    r.upstream_zones_insecure = false;
  }
  return r;
}

UnboundResolver::UnboundResolver(asio::io_context& io, ResolverOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}

UnboundResolver::~UnboundResolver() = default;

void UnboundResolver::lookup_mx(std::string_view domain, Callback<MxAnswer> done) {
  impl_->lookup<MxRecord>(domain, kTypeMx, &rdata::mx, std::move(done));
}

void UnboundResolver::lookup_a(std::string_view host, Callback<AddressAnswer> done) {
  impl_->lookup<IpAddress>(host, kTypeA, &rdata::a, std::move(done));
}

void UnboundResolver::lookup_aaaa(std::string_view host, Callback<AddressAnswer> done) {
  impl_->lookup<IpAddress>(host, kTypeAaaa, &rdata::aaaa, std::move(done));
}

void UnboundResolver::lookup_tlsa(std::string_view name, Callback<TlsaAnswer> done) {
  impl_->lookup<TlsaRecord>(name, kTypeTlsa, &rdata::tlsa, std::move(done));
}

void UnboundResolver::lookup_txt(std::string_view name, Callback<TxtAnswer> done) {
  impl_->lookup<TxtRecord>(name, kTypeTxt, &rdata::txt, std::move(done));
}

void UnboundResolver::lookup_ptr(const IpAddress& address, Callback<PtrAnswer> done) {
  impl_->lookup<std::string>(reverse_name(address), kTypePtr, &rdata::ptr, std::move(done));
}

bool UnboundResolver::validating() const { return impl_->validating; }

std::size_t UnboundResolver::outstanding() const { return impl_->pending.size(); }

}  // namespace petrel::dns
