#include "spf/evaluator.hpp"

#include <algorithm>
#include <stdexcept>

#include "util/idn.hpp"

namespace petrel::spf {
namespace {

// §4.6.4's limits.
constexpr int kMaxDnsTerms = 10;
constexpr int kMaxVoidLookups = 2;
constexpr std::size_t kMaxMxHosts = 10;
constexpr std::size_t kMaxPtrNames = 10;
constexpr std::size_t kMaxNameLength = 253;
constexpr std::size_t kMaxLabelLength = 63;

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

std::string without_trailing_dot(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return std::string(name);
}

// Labels of 1 to 63 octets, 253 in all, in ASCII: a name DNS can be asked.
bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = name.find('.', start);
    const std::size_t length = (dot == std::string_view::npos ? name.size() : dot) - start;
    if (length == 0 || length > kMaxLabelLength) return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  // RFC 8616 §4: a non-ASCII expansion (an SMTPUTF8 local-part) matches nothing.
  return std::all_of(name.begin(), name.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

// §4.3: the <domain> must be a multi-label host name; "[192.0.2.1]" and
// "192.0.2.1" (HELO literals) are not.
bool valid_domain(std::string_view domain) {
  if (!valid_name(domain) || domain.find('.') == std::string_view::npos) return false;
  const auto host_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  };
  const std::string_view top = domain.substr(domain.rfind('.') + 1);
  return std::all_of(domain.begin(), domain.end(), host_char) &&
         !std::all_of(top.begin(), top.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// `name` is `domain` or a name under it (§5.5).
bool within(std::string_view name, std::string_view domain) {
  const std::string n = lowered(without_trailing_dot(name));
  const std::string d = lowered(domain);
  return n == d || (n.size() > d.size() && n.ends_with(d) && n[n.size() - d.size() - 1] == '.');
}

bool in_network(const dns::IpAddress& address, const dns::IpAddress& network, unsigned bits) {
  if (address.family() != network.family()) return false;
  const unsigned whole = bits / 8;
  if (!std::equal(address.bytes(), address.bytes() + whole, network.bytes())) return false;
  if (bits % 8 == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - bits % 8));
  return (address.bytes()[whole] & mask) == (network.bytes()[whole] & mask);
}

// ::ffff:192.0.2.1 is an IPv4 client on a dual-stack socket.
dns::IpAddress unmapped(const dns::IpAddress& address) {
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (!address.is_v6() || !std::equal(kMapped, kMapped + 12, address.bytes())) return address;
  const std::uint8_t* b = address.bytes();
  return dns::IpAddress::v4({b[12], b[13], b[14], b[15]});
}

Result result_of(Qualifier qualifier) {
  switch (qualifier) {
    case Qualifier::pass: return Result::pass;
    case Qualifier::fail: return Result::fail;
    case Qualifier::softfail: return Result::softfail;
    case Qualifier::neutral: return Result::neutral;
  }
  return Result::neutral;
}

MacroContext context_for(const Input& input) {
  MacroContext context;
  const std::size_t at = input.sender.rfind('@');
  context.local_part = at == std::string::npos ? "" : input.sender.substr(0, at);
  if (context.local_part.empty()) context.local_part = "postmaster";  // §4.3
  context.sender_domain = util::ascii_domain(at == std::string::npos ? input.sender : input.sender.substr(at + 1));
  context.sender = context.local_part + "@" + context.sender_domain;
  context.client = unmapped(input.client);
  context.helo = input.helo;
  context.receiver = input.receiver;
  context.now = input.now;
  return context;
}

std::string failure(const Lookup& lookup, const std::string& error) {
  return "DNS lookup of " + std::string(to_string(lookup.kind)) + " " + lookup.name + " failed" +
         (error.empty() ? "" : " (" + error + ")");
}

}  // namespace

std::string_view to_string(Result result) {
  switch (result) {
    case Result::none: return "none";
    case Result::neutral: return "neutral";
    case Result::pass: return "pass";
    case Result::fail: return "fail";
    case Result::softfail: return "softfail";
    case Result::temperror: return "temperror";
    case Result::permerror: return "permerror";
  }
  return "?";
}

std::string_view to_string(Lookup::Kind kind) {
  switch (kind) {
    case Lookup::Kind::txt: return "TXT";
    case Lookup::Kind::a: return "A";
    case Lookup::Kind::aaaa: return "AAAA";
    case Lookup::Kind::mx: return "MX";
    case Lookup::Kind::ptr: return "PTR";
  }
  return "?";
}

Evaluator::Evaluator(Input input) : input_(std::move(input)), context_(context_for(input_)) {
  const std::string domain = util::ascii_domain(input_.domain);
  if (!valid_domain(domain)) {
    std::string reason = "\"";
    reason.append(input_.domain.substr(0, 80)).append("\" is not a domain SPF can check (RFC 7208 §4.3)");
    finish(Result::none, std::move(reason));
    return;
  }
  request(Lookup::Kind::txt, domain, Step::initial);
}

std::optional<Lookup> Evaluator::next_lookup() const { return done_ ? std::nullopt : pending_; }

// ---- the walk over the terms ----

void Evaluator::run() {
  while (!done_ && !pending_) {
    Frame& frame = frames_.back();
    if (frame.next == frame.record.mechanisms.size()) {
      end_of_record();
      continue;
    }
    const Match match = start(frame.record.mechanisms[frame.next]);
    if (match != Match::waiting) mechanism_done(match == Match::yes);
  }
}

const Mechanism& Evaluator::current() const {
  const Frame& frame = frames_.back();
  return frame.record.mechanisms[frame.next];
}

Evaluator::Match Evaluator::start(const Mechanism& m) {
  using Kind = Mechanism::Kind;
  if (m.kind == Kind::all) return Match::yes;
  if (m.kind == Kind::ip4 || m.kind == Kind::ip6) {
    return in_network(context_.client, *m.network, m.kind == Kind::ip4 ? m.cidr4 : m.cidr6) ? Match::yes : Match::no;
  }
  if (++dns_terms_ > kMaxDnsTerms) {
    finish(Result::permerror, "too many DNS lookups (more than 10, RFC 7208 §4.6.4) at " + m.text);
    return Match::waiting;
  }
  std::string target = frames_.back().domain;
  if (!m.domain_spec.empty()) {
    std::string error;
    auto expanded = expand_domain(m.domain_spec, context_, error);
    if (!expanded) {  // parse_record() checked the syntax
      finish(Result::permerror, m.text + ": " + error);
      return Match::waiting;
    }
    target = std::move(*expanded);
  }
  return start_lookup(m, target);
}

Evaluator::Match Evaluator::start_lookup(const Mechanism& m, const std::string& target) {
  using Kind = Mechanism::Kind;
  if (m.kind == Kind::include) {
    // §5.2: a target with no record (even an impossible name) is a permerror.
    if (!valid_name(target)) {
      finish(Result::permerror, "include of " + target.substr(0, 80) + ": not a domain name");
    } else {
      request(Lookup::Kind::txt, target, Step::include);
    }
    return Match::waiting;
  }
  if (!valid_name(target)) return Match::no;  // nothing to ask DNS about
  if (m.kind == Kind::ptr) {
    ptr_target_ = target;
    pending_ = Lookup{Lookup::Kind::ptr, dns::reverse_name(context_.client), context_.client};
    step_ = Step::ptr;
    return Match::waiting;
  }
  const Lookup::Kind address = context_.client.is_v6() ? Lookup::Kind::aaaa : Lookup::Kind::a;
  switch (m.kind) {
    case Kind::a: request(address, target, Step::a); break;
    case Kind::mx: request(Lookup::Kind::mx, target, Step::mx); break;
    default: request(Lookup::Kind::a, target, Step::exists); break;  // §5.7: exists asks for A whatever the client
  }
  return Match::waiting;
}

void Evaluator::mechanism_done(bool matched) {
  Frame& frame = frames_.back();
  if (!matched) {
    ++frame.next;
    return;
  }
  const Mechanism& m = current();
  end_frame(result_of(m.qualifier), m.text + " in " + frame.domain, m.text);
}

// §6.1: with no match, redirect= (ignored beside "all") names the record
// that decides; without it the result is neutral (§4.7).
void Evaluator::end_of_record() {
  const Frame& frame = frames_.back();
  if (!frame.record.redirect || frame.record.has_all()) {
    end_frame(Result::neutral, "no mechanism matched in " + frame.domain, "default");
    return;
  }
  if (++dns_terms_ > kMaxDnsTerms) {
    finish(Result::permerror, "too many DNS lookups (more than 10, RFC 7208 §4.6.4) at redirect=" + *frame.record.redirect);
    return;
  }
  std::string error;
  const auto target = expand_domain(*frame.record.redirect, context_, error);
  if (!target || !valid_name(*target)) {
    finish(Result::permerror, "redirect=" + *frame.record.redirect + " from " + frame.domain + " is not a domain name");
    return;
  }
  request(Lookup::Kind::txt, *target, Step::redirect);
}

// A record ended with `result`: an include's frame returns to the record
// that included it (§5.2: only pass matches), the top one concludes.
void Evaluator::end_frame(Result result, std::string detail, std::string mechanism) {
  while (frames_.size() > 1) {
    frames_.pop_back();
    Frame& parent = frames_.back();
    context_.domain = parent.domain;
    const Mechanism& include = current();
    if (result != Result::pass) {
      ++parent.next;
      return;
    }
    result = result_of(include.qualifier);
    detail = std::string(include.text).append(" in ").append(parent.domain).append(", then ").append(detail);
    mechanism = include.text;
  }
  std::string reason = mechanism == "default" ? std::move(detail) : "matched " + detail;
  conclude(result, std::move(reason), std::move(mechanism));
}

void Evaluator::conclude(Result result, std::string reason, std::string mechanism) {
  outcome_ = Outcome{result, "", std::move(reason), std::move(mechanism)};
  const Record& record = frames_.back().record;
  if (result == Result::fail && record.explanation) {
    std::string error;
    const auto name = expand_domain(*record.explanation, context_, error);
    if (name && valid_name(*name)) {
      request(Lookup::Kind::txt, *name, Step::explanation);  // §4.6.4: exp= is not counted
      return;
    }
  }
  done_ = true;
}

void Evaluator::finish(Result result, std::string reason) {
  outcome_ = Outcome{result, "", std::move(reason), ""};
  pending_.reset();
  done_ = true;
}

void Evaluator::request(Lookup::Kind kind, std::string name, Step step) {
  pending_ = Lookup{kind, std::move(name), {}};
  step_ = step;
}

Lookup Evaluator::take(Lookup::Kind kind) {
  const bool address = kind == Lookup::Kind::a || kind == Lookup::Kind::aaaa;
  if (done_ || !pending_ ||
      (address ? pending_->kind != Lookup::Kind::a && pending_->kind != Lookup::Kind::aaaa : pending_->kind != kind)) {
    throw std::logic_error("spf::Evaluator fed an answer it did not ask for");
  }
  Lookup lookup = std::move(*pending_);
  pending_.reset();
  return lookup;
}

// §4.6.4: a third lookup that finds nothing ends the check.
bool Evaluator::count_void(const std::string& name) {
  if (++void_lookups_ <= kMaxVoidLookups) return true;
  finish(Result::permerror, "too many void DNS lookups (more than 2, RFC 7208 §4.6.4) at " + name);
  return false;
}

// ---- the answers ----

void Evaluator::feed(const dns::TxtAnswer& answer) {
  const Lookup lookup = take(Lookup::Kind::txt);
  if (step_ == Step::explanation) {
    on_explanation(answer);
    return;
  }
  on_record(answer, lookup.name, step_);
  run();
}

void Evaluator::on_record(const dns::TxtAnswer& answer, const std::string& name, Step step) {
  if (answer.outcome == dns::Outcome::temporary_failure) {
    finish(Result::temperror, failure(Lookup{Lookup::Kind::txt, name, {}}, answer.error));
    return;
  }
  const Selection selection = select_record(answer.ok() ? answer.records : std::vector<dns::TxtRecord>{});
  if (selection.state == Selection::State::none) {
    if (step == Step::initial) finish(Result::none, "no SPF record at " + name);
    if (step == Step::include) finish(Result::permerror, "include of " + name + ": no SPF record (RFC 7208 §5.2)");
    if (step == Step::redirect) finish(Result::permerror, "redirect to " + name + ": no SPF record (RFC 7208 §6.1)");
    return;
  }
  if (selection.state == Selection::State::several) {
    finish(Result::permerror, name + " has more than one SPF record (RFC 7208 §4.5)");
    return;
  }
  std::string error;
  auto record = parse_record(selection.text, error);
  if (!record) {
    finish(Result::permerror, "the SPF record of " + name + ": " + error);
    return;
  }
  if (step == Step::redirect) frames_.pop_back();  // §6.1: the target's record replaces this one
  frames_.push_back(Frame{name, std::move(*record), 0});
  context_.domain = name;
}

// §6.2: any trouble with the explanation leaves the fail without one.
void Evaluator::on_explanation(const dns::TxtAnswer& answer) {
  done_ = true;
  if (!answer.ok() || answer.records.size() != 1) return;
  std::string error;
  auto text = expand(answer.records.front().joined(), context_, MacroUse::explanation, error);
  if (text) outcome_.explanation = std::move(*text);
}

void Evaluator::feed(const dns::AddressAnswer& answer) {
  const Lookup lookup = take(Lookup::Kind::a);
  if (step_ == Step::mx_host) {
    on_mx_host(answer, lookup.name);
  } else if (step_ == Step::ptr_host) {
    on_ptr_host(answer);
  } else if (answer.outcome == dns::Outcome::temporary_failure) {
    finish(Result::temperror, failure(lookup, answer.error));
  } else if (!answer.ok()) {
    if (count_void(lookup.name)) mechanism_done(false);
  } else if (step_ == Step::exists) {
    mechanism_done(true);
  } else {
    const Mechanism& m = current();
    const unsigned bits = context_.client.is_v6() ? m.cidr6 : m.cidr4;
    mechanism_done(std::any_of(answer.records.begin(), answer.records.end(),
                               [&](const dns::IpAddress& a) { return in_network(context_.client, a, bits); }));
  }
  run();
}

void Evaluator::feed(const dns::MxAnswer& answer) {
  const Lookup lookup = take(Lookup::Kind::mx);
  if (answer.outcome == dns::Outcome::temporary_failure) {
    finish(Result::temperror, failure(lookup, answer.error));
  } else if (!answer.ok()) {
    if (count_void(lookup.name)) mechanism_done(false);
  } else {
    hosts_.clear();
    for (const dns::MxRecord& mx : answer.records) {
      if (mx.host != "." && !mx.host.empty()) hosts_.push_back(without_trailing_dot(mx.host));  // RFC 7505 null MX
    }
    // §4.6.4: more than 10 MX records is a permerror, not a truncation.
    if (hosts_.size() > kMaxMxHosts) {
      finish(Result::permerror, current().text + ": " + lookup.name + " has more than 10 MX records (RFC 7208 §4.6.4)");
    } else {
      std::reverse(hosts_.begin(), hosts_.end());  // taken from the back
      next_host(context_.client.is_v6() ? Lookup::Kind::aaaa : Lookup::Kind::a, Step::mx_host);
    }
  }
  run();
}

void Evaluator::on_mx_host(const dns::AddressAnswer& answer, const std::string& name) {
  if (answer.outcome == dns::Outcome::temporary_failure) {
    finish(Result::temperror, failure(Lookup{context_.client.is_v6() ? Lookup::Kind::aaaa : Lookup::Kind::a, name, {}},
                                      answer.error));
    return;
  }
  const Mechanism& m = current();
  const unsigned bits = context_.client.is_v6() ? m.cidr6 : m.cidr4;
  if (answer.ok() && std::any_of(answer.records.begin(), answer.records.end(),
                                 [&](const dns::IpAddress& a) { return in_network(context_.client, a, bits); })) {
    hosts_.clear();
    mechanism_done(true);
    return;
  }
  next_host(context_.client.is_v6() ? Lookup::Kind::aaaa : Lookup::Kind::a, Step::mx_host);
}

// §5.5: the names the client's address maps back to, validated by their
// own addresses; DNS errors on the way are a mismatch, never a temperror.
void Evaluator::feed(const dns::PtrAnswer& answer) {
  take(Lookup::Kind::ptr);
  hosts_.clear();
  // Not a void lookup (§4.6.4): the client's reverse zone is not the record's doing.
  if (answer.ok()) {
    // §4.6.4: only the first 10 names are looked at.
    const std::size_t count = std::min(answer.records.size(), kMaxPtrNames);
    for (std::size_t i = count; i-- > 0;) {
      // §5.5 validates every name, then keeps those under the target: the
      // other order asks DNS less for the same answer.
      if (within(answer.records[i], ptr_target_)) hosts_.push_back(without_trailing_dot(answer.records[i]));
    }
  }
  next_host(context_.client.is_v6() ? Lookup::Kind::aaaa : Lookup::Kind::a, Step::ptr_host);
  run();
}

void Evaluator::on_ptr_host(const dns::AddressAnswer& answer) {
  if (answer.ok() && std::find(answer.records.begin(), answer.records.end(), context_.client) != answer.records.end()) {
    hosts_.clear();
    mechanism_done(true);
    return;
  }
  next_host(context_.client.is_v6() ? Lookup::Kind::aaaa : Lookup::Kind::a, Step::ptr_host);
}

// Asks for the next name in hosts_ (kept in reverse), or ends the mechanism unmatched.
void Evaluator::next_host(Lookup::Kind kind, Step step) {
  while (!hosts_.empty()) {
    std::string host = std::move(hosts_.back());
    hosts_.pop_back();
    if (valid_name(host)) {
      request(kind, std::move(host), step);
      return;
    }
  }
  mechanism_done(false);
}

}  // namespace petrel::spf
