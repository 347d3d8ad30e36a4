// SPF's check_host() (RFC 7208 §4) as a state machine without I/O: it asks
// for one DNS lookup at a time (next_lookup()), is fed the answer, and
// ends with an Outcome. The caller owns the resolver, the clock and any
// timeout; a synchronous caller answers from a table (see the unit tests).
//
//   spf::Evaluator spf(input);
//   while (auto lookup = spf.next_lookup()) { ... spf.feed(answer); }
//   spf.outcome().result
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/records.hpp"
#include "spf/macro.hpp"
#include "spf/record.hpp"

namespace petrel::spf {

// §2.6.
enum class Result { none, neutral, pass, fail, softfail, temperror, permerror };
std::string_view to_string(Result result);  // as RFC 8601 writes them: "pass", "softfail", ...

struct Input {
  dns::IpAddress client;  // an IPv4-mapped IPv6 address is taken as IPv4
  std::string sender;     // MAIL FROM "local@domain", or "postmaster@HELO" when MAIL FROM is <> (§2.4)
  std::string helo;       // HELO/EHLO name as given
  std::string domain;     // the <domain> to check: the MAIL FROM domain, or the HELO name
  std::string receiver;   // our host name, for %{r}
  std::int64_t now = 0;   // seconds since the epoch, for %{t}
};

// One DNS lookup the evaluation waits for. Names are A-labels without the
// trailing dot. For ptr, `name` is the reverse name of `address`.
struct Lookup {
  enum class Kind { txt, a, aaaa, mx, ptr };
  Kind kind = Kind::txt;
  std::string name;
  dns::IpAddress address;  // ptr only
  friend bool operator==(const Lookup&, const Lookup&) = default;
};
std::string_view to_string(Lookup::Kind kind);  // "TXT", "A", ...

struct Outcome {
  Result result = Result::none;
  std::string explanation;  // for fail: the exp= text, expanded; empty when there is none (§6.2)
  std::string reason;       // for logs and the A-R comment: "matched ip4:192.0.2.0/24 in example.org"
  std::string mechanism;    // the top-level term that decided, as written ("-all", "include:x");
                            // "default" when none matched, empty after an error or none
};

class Evaluator {
 public:
  explicit Evaluator(Input input);

  // The lookup the evaluation waits for; nullopt once done().
  std::optional<Lookup> next_lookup() const;
  // The answer to next_lookup(), of its kind (A and AAAA both take an
  // AddressAnswer). Feeding another kind, or after done(), is a programmer
  // error (std::logic_error).
  void feed(const dns::TxtAnswer& answer);
  void feed(const dns::AddressAnswer& answer);
  void feed(const dns::MxAnswer& answer);
  void feed(const dns::PtrAnswer& answer);

  bool done() const { return done_; }
  const Outcome& outcome() const { return outcome_; }
  // Terms that queried DNS so far (include, a, mx, ptr, exists, redirect).
  int dns_terms() const { return dns_terms_; }

 private:
  // One record being evaluated: the top one, or an include's (§5.2).
  struct Frame {
    std::string domain;
    Record record;
    std::size_t next = 0;  // the mechanism being evaluated
  };
  // What the pending lookup is for.
  enum class Step { initial, include, redirect, explanation, a, exists, mx, mx_host, ptr, ptr_host };
  enum class Match { no, yes, waiting };

  void run();
  Match start(const Mechanism& mechanism);
  Match start_lookup(const Mechanism& mechanism, const std::string& target);
  void mechanism_done(bool matched);
  void end_of_record();
  void end_frame(Result result, std::string detail, std::string mechanism);
  void conclude(Result result, std::string reason, std::string mechanism);
  void finish(Result result, std::string reason);
  void request(Lookup::Kind kind, std::string name, Step step);
  Lookup take(Lookup::Kind kind);
  bool count_void(const std::string& name);

  void on_record(const dns::TxtAnswer& answer, const std::string& name, Step step);
  void on_explanation(const dns::TxtAnswer& answer);
  void on_mx_host(const dns::AddressAnswer& answer, const std::string& name);
  void on_ptr_host(const dns::AddressAnswer& answer);
  void next_host(Lookup::Kind kind, Step step);

  const Mechanism& current() const;

  Input input_;
  MacroContext context_;  // context_.domain is the current frame's domain
  std::vector<Frame> frames_;
  std::optional<Lookup> pending_;
  Step step_ = Step::initial;
  std::vector<std::string> hosts_;  // MX hosts or PTR names still to look up, last first
  std::string ptr_target_;          // the name a ptr mechanism's host names must be under
  int dns_terms_ = 0;
  int void_lookups_ = 0;
  bool done_ = false;
  Outcome outcome_;
};

}  // namespace petrel::spf
