// A connection's endpoints and the TLS policy of each: the MX plan, then
// the TLSA records of the hosts DANE applies to (RFC 7672 §2.2), then
// delivery/tls_decision.hpp for each host, with the domain's MTA-STS
// policy (RFC 8461) and the message's REQUIRETLS or "TLS-Required: No"
// (RFC 8689). Hosts that may not be used are left out; when none is
// left, the connection ends before it starts, with the reason.
#include <spdlog/spdlog.h>

#include <map>
#include <set>

#include "delivery/tls_decision.hpp"
#include "queue/remote_internal.hpp"
#include "smtp/reply_codes.hpp"

namespace petrel::queue {
namespace {

using delivery::Endpoint;
using detail::Batch;

// The message's own TLS requests; the batch's jobs share them (they are
// part of the connection key).
bool requiretls(const Batch& batch) { return batch.jobs.front().job.message->envelope.params.requiretls; }
bool tls_required_no(const Batch& batch) {
  return batch.jobs.front().job.message->envelope.tls_required_no && !requiretls(batch);
}

// The reason a connection had no host to go to: a temporary one if any
// (try again later), else the first (REQUIRETLS: return the message).
JobResult no_host(const RemoteJob& job, const std::vector<delivery::HostTls>& skipped) {
  const delivery::HostTls* chosen = &skipped.front();
  for (const auto& s : skipped) {
    if (s.status.code < 500) {
      chosen = &s;
      break;
    }
  }
  const auto outcome = chosen->status.code >= 500 ? smtp::DeliveryOutcome::failed : smtp::DeliveryOutcome::deferred;
  return detail::all_recipients(job, outcome, chosen->status, chosen->reason);
}

}  // namespace

// DANE applies to mail routed by MX, with validation on, the MX answer
// secure (RFC 7672 §2.2.1), and no TLS policy configured for the domain.
bool RemoteQueue::Impl::dane_applies(const Batch& batch, const dns::DeliveryPlan& plan) const {
  const RemoteJob& job = batch.jobs.front().job;
  return options.dane && resolver.validating() && !job.route && !job.tls && options.tls != smtp::TlsPolicy::none &&
         plan.mx_dnssec == dns::Dnssec::secure;
}

void RemoteQueue::Impl::planned(const std::shared_ptr<Batch>& batch, const dns::DeliveryPlan& plan,
                                std::uint16_t port) {
  const auto& job = batch->jobs.front().job;
  if (plan.verdict != dns::Verdict::deliver) {
    // Known a moment ago (the site was found from it): a passing failure.
    return fail_batch(batch, detail::all_recipients(job, smtp::DeliveryOutcome::deferred, smtp::codes::k451DnsFailure,
                                                    "DNS lookup for " + job.domain + " failed: " + plan.reason));
  }
  std::set<std::string> hosts;  // RFC 7672 §2.2.2: TLSA only where the addresses validated
  if (dane_applies(*batch, plan)) {
    for (const auto& c : plan.candidates) {
      if (c.address_dnssec == dns::Dnssec::secure) hosts.insert(c.host);
    }
  }
  auto answers = std::make_shared<TlsaAnswers>();
  if (hosts.empty()) return choose_endpoints(batch, plan, port, *answers);
  auto left = std::make_shared<std::size_t>(hosts.size());
  for (const auto& host : hosts) {
    const std::string owner = "_" + std::to_string(port) + "._tcp." + host;  // RFC 7672 §2.2.3
    resolver.lookup_tlsa(owner, [this, batch, plan, port, host, answers, left](dns::TlsaAnswer answer) {
      answers->emplace(host, std::move(answer));
      if (--*left == 0) choose_endpoints(batch, plan, port, *answers);
    });
  }
}

// Each candidate with its host's policy; those that may not be used are left out.
void RemoteQueue::Impl::choose_endpoints(const std::shared_ptr<Batch>& batch, const dns::DeliveryPlan& plan,
                                         std::uint16_t port, const TlsaAnswers& answers) {
  const auto& job = batch->jobs.front().job;
  std::vector<Endpoint> endpoints;
  std::vector<delivery::HostTls> skipped;
  std::map<std::string, delivery::HostTls> decided;  // by host: logged once
  for (const auto& c : plan.candidates) {
    auto found = decided.find(c.host);
    if (found == decided.end()) {
      const auto answer = answers.find(c.host);
      found = decided.emplace(c.host, host_tls(*batch, c.host, answer == answers.end() ? nullptr : &answer->second)).first;
      log_host_tls(*batch, c.host, found->second);
    }
    const delivery::HostTls& tls = found->second;
    if (!tls.usable) {
      skipped.push_back(tls);
      continue;
    }
    const bool dane = tls.source == delivery::TlsSource::dane || tls.source == delivery::TlsSource::dane_only_encrypt;
    // RFC 8461 §2: DANE wins over MTA-STS for a host that has both.
    if (!dane && !tls_required_no(*batch) && !sts_allows(*batch, job.domain, c.host)) {
      skipped.push_back({false, smtp::codes::k451MtaStsNoMx,
                         "No MX host of " + job.domain + " is allowed by its MTA-STS policy", {}, {}, {}});
      continue;
    }
    endpoints.push_back({c.host, c.address.str(), port, "", tls.policy, tls.tlsa, std::string(to_string(tls.source))});
  }
  if (endpoints.empty()) return fail_batch(batch, no_host(job, skipped));
  send(batch, std::move(endpoints));
}

delivery::HostTls RemoteQueue::Impl::host_tls(const Batch& batch, const std::string& host,
                                              const dns::TlsaAnswer* tlsa) const {
  const RemoteJob& job = batch.jobs.front().job;
  delivery::HostTlsInput in;
  in.host = host;
  in.configured = job.tls.value_or(options.tls);
  in.sts_enforced = batch.sts && batch.sts->mode == mtasts::Policy::Mode::enforce;
  in.dane_applies = tlsa != nullptr;
  if (tlsa) in.tlsa = *tlsa;
  in.requiretls = requiretls(batch);
  in.tls_required_no = job.message->envelope.tls_required_no;
  return delivery::decide_host_tls(in);
}

void RemoteQueue::Impl::log_host_tls(const Batch& batch, const std::string& host, const delivery::HostTls& tls) const {
  const std::string& domain = batch.jobs.front().job.domain;
  if (!tls.usable) {
    spdlog::warn("tls domain={} mx={} not used: {} {}", domain, host, tls.status.enhanced, tls.reason);
  } else if (tls.source == delivery::TlsSource::dane || tls.source == delivery::TlsSource::dane_only_encrypt) {
    spdlog::info("dane domain={} mx={} tls_policy={} usable_tlsa={}", domain, host, to_string(tls.source),
                 tls.tlsa.size());
  }
}

// A route's host, looked up by address: the policy is the configured one
// (no DANE), with REQUIRETLS's demand on it.
void RemoteQueue::Impl::send_to_host(const std::shared_ptr<Batch>& batch, std::vector<Endpoint> endpoints) {
  std::vector<delivery::HostTls> skipped;
  std::vector<Endpoint> kept;
  for (auto& e : endpoints) {
    const delivery::HostTls tls = host_tls(*batch, e.host, nullptr);
    if (!tls.usable) {
      log_host_tls(*batch, e.host, tls);
      skipped.push_back(tls);
      continue;
    }
    e.tls = tls.policy;
    e.tls_policy = to_string(tls.source);
    kept.push_back(std::move(e));
  }
  if (kept.empty()) return fail_batch(batch, no_host(batch->jobs.front().job, skipped));
  send(batch, std::move(kept));
}

// RFC 8461 §4.1: an enforced policy names the MX hosts mail may go to;
// in testing mode a mismatch is only reported.
bool RemoteQueue::Impl::sts_allows(const Batch& batch, const std::string& domain, const std::string& mx_host) const {
  if (!batch.sts || mtasts::mx_matches(*batch.sts, mx_host)) return true;
  const bool enforce = batch.sts->mode == mtasts::Policy::Mode::enforce;
  spdlog::warn("mta-sts domain={} mode={} mx={} not in the policy{}", domain, mtasts::to_string(batch.sts->mode),
               mx_host, enforce ? ": skipped" : " (testing: used anyway)");
  return !enforce;
}

}  // namespace petrel::queue
