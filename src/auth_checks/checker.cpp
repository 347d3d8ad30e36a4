#include "auth_checks/checker.hpp"

#include <utility>  // Boost 1.74's Asio needs std::exchange

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <map>
#include <random>

#include "arc/arc.hpp"
#include "auth_checks/answer_cache.hpp"
#include "dkim/signer.hpp"
#include "dkim/tag_list.hpp"
#include "dkim/verify.hpp"
#include "dmarc/evaluate.hpp"
#include "dmarc/org_domain.hpp"
#include "dmarc/record.hpp"
#include "spf/evaluator.hpp"

namespace petrel::auth_checks {
namespace asio = boost::asio;

dkim::KeyLookup dkim_key_lookup(const dns::TxtAnswer& answer) {
  dkim::KeyLookup k;
  switch (answer.outcome) {
    case dns::Outcome::ok:
      k.status = dkim::KeyLookup::Status::found;
      for (const auto& r : answer.records) k.records.push_back(r.joined());
      break;
    case dns::Outcome::nxdomain:
    case dns::Outcome::nodata: k.status = dkim::KeyLookup::Status::missing; break;
    default: k.status = dkim::KeyLookup::Status::failed; break;
  }
  return k;
}

namespace {

std::string domain_of(std::string_view address) {
  const std::size_t at = address.rfind('@');
  return dkim::ascii_lower(at == std::string_view::npos ? address : address.substr(at + 1));
}

int pct_draw() {
  thread_local std::mt19937 generator{std::random_device{}()};
  return std::uniform_int_distribution<int>(0, 99)(generator);
}

// One message's checks; kept alive by the lookups it waits for.
class Run : public std::enable_shared_from_this<Run> {
 public:
  Run(asio::io_context& io, dns::Resolver& resolver, const Options& options, const Input& input,
      std::function<void(Verdict)> done)
      : io_(io),
        resolver_(resolver),
        options_(options),
        input_(input),
        done_(std::move(done)),
        timer_(io),
        dkim_(input.message, {options.max_dkim_signatures, input.now, dkim::kMinRsaBits, input.body_rest}),
        arc_(input.message, input.body_rest) {}

  void start() {
    timer_.expires_after(options_.timeout);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->finish();
    });
    start_spf();
    start_keys();
    start_dmarc();
    maybe_finish();
  }

 private:
  // --- SPF: one lookup at a time, as the evaluator asks (RFC 7208 §4.6.4 bounds them).
  void start_spf() {
    results_.spf_of_helo = input_.mail_from.empty();
    results_.spf_identity = results_.spf_of_helo ? input_.helo : input_.mail_from;
    spf_domain_ = results_.spf_of_helo ? dkim::ascii_lower(input_.helo) : domain_of(input_.mail_from);
    const auto client = dns::IpAddress::parse(input_.client_ip);
    if (!client) {
      results_.spf = {spf::Result::none, {}, "no client IP address", {}};
      spf_done_ = true;
      return;
    }
    spf::Input in;
    in.client = *client;
    in.helo = input_.helo;
    in.domain = spf_domain_;
    in.sender = results_.spf_of_helo ? "postmaster@" + in.domain : input_.mail_from;
    in.receiver = options_.policy.authserv_id;
    in.now = input_.now;
    spf_.emplace(std::move(in));
    spf_step();
  }

  void spf_step() {
    const auto lookup = spf_->next_lookup();
    if (!lookup) {
      results_.spf = spf_->outcome();
      spf_done_ = true;
      maybe_finish();
      return;
    }
    auto self = shared_from_this();
    switch (lookup->kind) {
      case spf::Lookup::Kind::txt:
        resolver_.lookup_txt(lookup->name, [self](const dns::TxtAnswer& a) { self->spf_answer(a); });
        break;
      case spf::Lookup::Kind::a:
        resolver_.lookup_a(lookup->name, [self](const dns::AddressAnswer& a) { self->spf_answer(a); });
        break;
      case spf::Lookup::Kind::aaaa:
        resolver_.lookup_aaaa(lookup->name, [self](const dns::AddressAnswer& a) { self->spf_answer(a); });
        break;
      case spf::Lookup::Kind::mx:
        resolver_.lookup_mx(lookup->name, [self](const dns::MxAnswer& a) { self->spf_answer(a); });
        break;
      case spf::Lookup::Kind::ptr:
        resolver_.lookup_ptr(lookup->address, [self](const dns::PtrAnswer& a) { self->spf_answer(a); });
        break;
    }
  }

  template <class A>
  void spf_answer(const A& answer) {
    if (finished_) return;
    spf_->feed(answer);
    spf_step();
  }

  // --- DKIM and ARC keys: all at once.
  void start_keys() {
    auto names = dkim_.key_names();
    for (auto& name : arc_.key_names()) {
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
    }
    keys_pending_ = names.size();
    for (const std::string& name : names) {
      resolver_.lookup_txt(name, [self = shared_from_this(), name](const dns::TxtAnswer& a) {
        if (self->finished_) return;
        self->keys_.emplace(name, dkim_key_lookup(a));
        --self->keys_pending_;
        self->maybe_finish();
      });
    }
  }

  // --- DMARC: the From domain's record, else its organizational domain's (RFC 7489 §6.6.3).
  void start_dmarc() {
    results_.from_domain = dkim::from_domain(input_.message);
    dmarc_names_ = dmarc::record_names(results_.from_domain, dmarc::PublicSuffixList::system());
    if (dmarc_names_.empty()) {
      dmarc_done_ = true;
      return;
    }
    ask_dmarc(0);
  }

  void ask_dmarc(std::size_t index) {
    resolver_.lookup_txt(dmarc_names_[index], [self = shared_from_this(), index](const dns::TxtAnswer& a) {
      if (self->finished_) return;
      self->dmarc_answer(index, a);
    });
  }

  void dmarc_answer(std::size_t index, const dns::TxtAnswer& answer) {
    if (answer.outcome == dns::Outcome::temporary_failure) {
      dmarc_temperror_ = true;
    } else if (answer.ok()) {
      std::string error;  // several records, or none that reads, count as no record (§6.6.3)
      dmarc_record_ = dmarc::select_record(answer.records, error);
      dmarc_from_org_ = index > 0;
    }
    if (!dmarc_record_ && !dmarc_temperror_ && index + 1 < dmarc_names_.size()) {
      ask_dmarc(index + 1);
      return;
    }
    dmarc_done_ = true;
    maybe_finish();
  }

  void maybe_finish() {
    if (spf_done_ && keys_pending_ == 0 && dmarc_done_) finish();
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    if (!spf_done_) results_.spf = {spf::Result::temperror, {}, "SPF lookups timed out", {}};
    const auto key = [this](std::string_view name) -> const dkim::KeyLookup* {
      const auto it = keys_.find(name);
      return it == keys_.end() ? nullptr : &it->second;
    };
    results_.dkim = dkim_.verify(key);
    results_.arc = arc_.validate(key);
    if (!dmarc_names_.empty()) results_.dmarc = judge_dmarc();
    asio::post(io_, [done = std::move(done_), verdict = decide(results_, options_.policy)]() mutable {
      done(std::move(verdict));
    });
  }

  dmarc::Decision judge_dmarc() const {
    dmarc::Input in;
    in.from_domain = results_.from_domain;
    in.spf = results_.spf.result;
    in.spf_domain = spf_domain_;
    for (const auto& s : results_.dkim) {
      if (s.result == dkim::Result::pass) in.dkim_pass_domains.push_back(s.domain);
    }
    in.sample = pct_draw();
    if (!dmarc_done_ || dmarc_temperror_) {
      return dmarc::temperror(dmarc_names_.front(), dmarc_done_ ? "lookup failed" : "lookup timed out");
    }
    return dmarc::evaluate(in, dmarc_record_ ? &*dmarc_record_ : nullptr, dmarc_from_org_,
                           dmarc::PublicSuffixList::system());
  }

  asio::io_context& io_;
  dns::Resolver& resolver_;
  const Options options_;  // a copy: the timer may fire after the Checker is gone
  Input input_;
  std::function<void(Verdict)> done_;
  asio::steady_timer timer_;
  bool finished_ = false;
  Results results_;

  std::optional<spf::Evaluator> spf_;
  std::string spf_domain_;  // the MAIL FROM domain, or the HELO name for <>
  bool spf_done_ = false;

  dkim::Verifier dkim_;
  arc::Validator arc_;
  std::map<std::string, dkim::KeyLookup, std::less<>> keys_;
  std::size_t keys_pending_ = 0;

  std::vector<std::string> dmarc_names_;  // _dmarc.FROM, then _dmarc.ORG when it differs
  std::optional<dmarc::Record> dmarc_record_;
  bool dmarc_from_org_ = false;
  bool dmarc_temperror_ = false;
  bool dmarc_done_ = false;
};

}  // namespace

Checker::Checker(asio::io_context& io, dns::Resolver& resolver, Options options)
    : io_(io), cache_(std::make_unique<AnswerCache>(io, resolver)), options_(std::move(options)) {}

Checker::~Checker() = default;

void Checker::check(const Input& input, std::function<void(Verdict)> done) {
  std::make_shared<Run>(io_, *cache_, options_, input, std::move(done))->start();
}

}  // namespace petrel::auth_checks
