// ODMR (RFC 2645): mail for a domain routed "odmr" is never sent by MX; it
// waits in the queue (looked at now and then for its expiry and delay
// warning) until the client that may fetch the domain says ATRN. The ATRN
// session claims a batch of it: each claimed message is in the active set,
// so neither the delivery thread nor another claim takes it, and comes back
// through complete(), the path of every remote delivery's result.
#include "queue/queue_internal.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <thread>

#include "util/idn.hpp"

namespace petrel::queue {

using detail::Item;
using detail::State;

namespace {

constexpr int kBusyRounds = 20;
// Contents one claim reads into memory (after its first message): a batch of
// big messages does not take claim_batch times their size.
constexpr std::size_t kClaimContentBytes = 32u << 20;
constexpr std::chrono::milliseconds kBusyWait{50};

// Pending recipients of `m` held for one of `domains`.
std::vector<std::size_t> held_recipients(const spool::SpooledMessage& m, const std::vector<std::string>& domains,
                                         const QueueOptions& options) {
  std::vector<std::size_t> out;
  const auto& recipients = m.envelope.recipients;
  for (std::size_t r = 0; r < recipients.size(); ++r) {
    if (m.state(r) != State::pending || recipients[r].forward_path.domain.empty()) continue;
    const std::string domain = util::ascii_domain(recipients[r].forward_path.domain);
    if (std::find(domains.begin(), domains.end(), domain) == domains.end()) continue;
    const auto route = delivery::route_for(options.routes, domain, false);
    if (route && route->kind == delivery::Route::Kind::odmr) out.push_back(r);
  }
  return out;
}

}  // namespace

std::int64_t QueueManager::Impl::odmr_recheck() const {
  const auto first = std::chrono::duration_cast<std::chrono::seconds>(options.retry_intervals.front()).count();
  return std::clamp<std::int64_t>(first, 1, 600);
}

std::vector<OdmrClaim> QueueManager::Impl::claim_odmr(const std::vector<std::string>& domains, std::size_t max,
                                                      const std::set<std::string>& tried) {
  std::vector<OdmrClaim> claims;
  if (domains.empty() || max == 0) return claims;
  // Candidates from the index (odmr_index.hpp), not the spool: an ATRN
  // costs the reads of its own domains' messages, however big the queue.
  // Each is then taken (or found taken) under the lock and read again,
  // since it may have moved on meanwhile; a stale one is passed by.
  std::vector<std::string> candidates;
  {
    std::lock_guard lock(mutex);
    candidates = odmr_index.candidates(domains, max * 4, [this, &tried](const std::string& id) {
      return odmr_claims.count(id) > 0 || tried.count(id) > 0;  // another session's, or this one's already
    });
  }
  // A message the delivery thread has in hand (just arrived, or up for its
  // periodic look) is free again within moments: asked for again a few
  // times before the session is told there is no mail.
  for (int round = 0; round < kBusyRounds && !candidates.empty() && claims.size() < max; ++round) {
    if (round > 0) std::this_thread::sleep_for(kBusyWait);
    candidates = take(candidates, domains, max, claims);
  }
  return claims;
}

// Claims what it can of `candidates`; returns those busy elsewhere.
std::vector<std::string> QueueManager::Impl::take(const std::vector<std::string>& candidates,
                                                  const std::vector<std::string>& domains, std::size_t max,
                                                  std::vector<OdmrClaim>& claims) {
  std::vector<std::string> busy;
  std::size_t bytes = 0;
  for (const auto& c : claims) bytes += c.message->content.size();
  for (const std::string& id : candidates) {
    if (claims.size() >= max || (!claims.empty() && bytes >= kClaimContentBytes)) break;
    {
      std::lock_guard lock(mutex);
      if (!active.insert(id).second) {  // being delivered, or claimed by another session
        if (!odmr_claims.count(id)) busy.push_back(id);
        continue;
      }
    }
    auto m = std::make_shared<spool::SpooledMessage>();
    std::error_code ec;
    const bool found = spool.read_envelope(spool::QueueId{id}, *m, ec);
    std::optional<std::string> content;
    if (found) content = spool.read_content(m->id, ec);
    std::vector<std::size_t> recipients;
    if (found && content && !m->held) recipients = held_recipients(*m, domains, options);
    if (recipients.empty()) {
      std::lock_guard lock(mutex);
      active.erase(id);
      // Its schedule entry may have come up (and been dropped) meanwhile;
      // a held one has none until it is released.
      if (found && !m->held) schedule.add(id, m->next_attempt_unix_seconds, DomainTable::none);
      if (ec) note_spool_error("ODMR read of qid=" + id, ec);
      continue;
    }
    Item item = make_item(m, /*with_content=*/false, /*fresh=*/false);
    auto full = std::make_shared<spool::SpooledMessage>(*m);
    full->content = std::move(*content);
    bytes += full->content.size();
    claims.push_back({std::move(full), std::move(recipients)});
    std::lock_guard lock(mutex);
    odmr_claims.emplace(id, std::move(item));
  }
  return busy;
}

std::map<std::string, Item>::iterator QueueManager::Impl::take_odmr_claim(const std::string& queue_id) {
  Item item;
  {
    std::lock_guard lock(mutex);
    auto claimed = odmr_claims.find(queue_id);
    if (claimed == odmr_claims.end()) return in_flight.end();
    item = std::move(claimed->second);
    odmr_claims.erase(claimed);
  }
  // As deliver() starts an attempt.
  item.failed_now.clear();
  item.delivered_now.clear();
  item.remote_settled = false;
  item.attempted = false;
  item.not_before = 0;
  item.room_retry = 0;
  item.odmr_held = false;
  item.jobs_out = 1;
  return in_flight.emplace(queue_id, std::move(item)).first;
}

std::vector<OdmrClaim> QueueManager::claim_odmr(const std::vector<std::string>& domains, std::size_t max,
                                                const std::set<std::string>& tried) {
  return impl_->claim_odmr(domains, max, tried);
}

void QueueManager::odmr_done(const std::string& queue_id, JobResult result) {
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->odmr_claims.count(queue_id)) return;
    impl_->completions.push_back({queue_id, std::move(result)});
  }
  impl_->wake.notify_one();
}

}  // namespace petrel::queue
