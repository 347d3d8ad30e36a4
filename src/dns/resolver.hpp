// The resolver interface the rest of Petrel sees. The default implementation
// is UnboundResolver (dns/unbound_resolver.hpp); tests and the queue manager's
// own tests can slot in a fake that answers from a table.
//
// Callback API: each lookup calls its callback exactly once, never from
// inside the lookup_* call itself, on the thread that runs the resolver's
// event loop (for UnboundResolver: its io_context). A resolver destroyed
// with lookups outstanding drops their callbacks without calling them.
// Names are A-labels (IDNA conversion is the caller's job), with or without
// a trailing dot.
#pragma once

#include <functional>
#include <string_view>

#include "dns/records.hpp"

namespace petrel::dns {

template <class A>
using Callback = std::function<void(A)>;

class Resolver {
 public:
  virtual ~Resolver() = default;

  virtual void lookup_mx(std::string_view domain, Callback<MxAnswer> done) = 0;
  virtual void lookup_a(std::string_view host, Callback<AddressAnswer> done) = 0;
  virtual void lookup_aaaa(std::string_view host, Callback<AddressAnswer> done) = 0;
  // `name` is the TLSA owner, e.g. "_25._tcp.mx.example.org".
  virtual void lookup_tlsa(std::string_view name, Callback<TlsaAnswer> done) = 0;
  virtual void lookup_txt(std::string_view name, Callback<TxtAnswer> done) = 0;
  virtual void lookup_ptr(const IpAddress& address, Callback<PtrAnswer> done) = 0;
};

}  // namespace petrel::dns
