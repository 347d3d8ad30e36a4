// The inbound checks of one message (SPF, DKIM, DMARC, ARC), run against
// petreld's asynchronous resolver without blocking the I/O thread: the
// sans-I/O engines (spf/, dkim/, dmarc/, arc/) say what to look up, the
// checker asks the resolver, and hands the answers back. DKIM, ARC and
// DMARC lookups go out together, beside SPF's chain; the whole is bounded
// by a timeout, past which what is missing counts as temperror.
//
// One Checker per I/O thread, used from that thread only: its resolver is
// that thread's, with a small cache of answers in front (answer_cache.hpp). Asio stays out of this header.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "auth_checks/verdict.hpp"
#include "dkim/canonicalize.hpp"
#include "dkim/verify.hpp"
#include "dns/resolver.hpp"

namespace boost::asio {
class io_context;
}

namespace petrel::auth_checks {

struct Options {
  Policy policy;
  std::size_t max_dkim_signatures = 5;
  std::chrono::milliseconds timeout{std::chrono::seconds(20)};
};

// A DKIM key record lookup as the verifier takes it: records found,
// none (NXDOMAIN, NODATA), or a failure.
dkim::KeyLookup dkim_key_lookup(const dns::TxtAnswer& answer);

struct Input {
  std::string client_ip;     // "192.0.2.1", "2001:db8::1"
  std::string helo;          // as given
  std::string mail_from;     // "local@domain"; "" for the null reverse-path
  std::string_view message;  // CRLF lines; must stay alive until `done` is called
  std::int64_t now = 0;      // seconds since the epoch
  dkim::BodyRest body_rest;  // the body past `message` when a big message's tail is in a file
};

class Checker {
 public:
  Checker(boost::asio::io_context& io, dns::Resolver& resolver, Options options);
  ~Checker();
  Checker(const Checker&) = delete;
  Checker& operator=(const Checker&) = delete;

  // Calls `done` once, on the io_context's thread, never from inside check().
  void check(const Input& input, std::function<void(Verdict)> done);

  const Options& options() const { return options_; }

 private:
  boost::asio::io_context& io_;
  std::unique_ptr<dns::Resolver> cache_;  // an AnswerCache over the thread's resolver
  Options options_;
};

}  // namespace petrel::auth_checks
