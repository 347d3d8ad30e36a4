// Listing the queue and the operator's commands (petrel queue, ETRN). They
// work on the spool, the truth, and never walk the whole queue for one ID;
// a message being attempted is told so, and the command takes effect when
// its attempt ends.
#include <algorithm>
#include <ctime>

#include "events/mail_events.hpp"
#include "queue/queue_internal.hpp"
#include "util/idn.hpp"

namespace petrel::queue {
namespace detail {

const char* state_name(State state) {
  switch (state) {
    case State::delivered: return "delivered";
    case State::failed: return "bounced";
    default: return "pending";
  }
}

QueueEntry entry_of(const spool::SpooledMessage& m) {
  QueueEntry e;
  e.id = m.id.value;
  e.arrival_unix_seconds = m.arrival_unix_seconds;
  e.size = m.content.size() + m.tail_size;
  e.sender = m.envelope.reverse_path.is_null() ? "" : m.envelope.reverse_path.mailbox->str();
  for (std::size_t r = 0; r < m.envelope.recipients.size(); ++r) {
    e.recipients.push_back({m.envelope.recipients[r].forward_path.str(), state_name(m.state(r))});
  }
  e.attempts = m.attempts;
  e.next_attempt_unix_seconds = m.next_attempt_unix_seconds;
  e.last_error = m.last_error;
  e.held = m.held;
  e.campaign = m.envelope.campaign;
  e.tenant = m.envelope.tenant;
  return e;
}

}  // namespace detail

namespace {

// An operator's command, as an AdminAction event (docs/events.md).
void admin_event(const std::string& queue_id, std::string what) {
  if (!events::listened()) return;
  events::Event e;
  e.type = events::Type::AdminAction;
  e.event_id = events::random_event_id();
  e.timestamp_ms = events::now_ms();
  e.queue_id = queue_id;
  e.detail = std::move(what);
  events::emit(e);
}

std::string scope_word(QueueManager::Scope scope) {
  using Scope = QueueManager::Scope;
  switch (scope) {
    case Scope::site: return "site";
    case Scope::domain: return "domain";
    case Scope::campaign: return "campaign";
    case Scope::tenant: return "tenant";
  }
  return "?";
}

std::string for_duration(std::chrono::milliseconds d) {
  return d.count() > 0 ? " for " + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + "s"
                       : " until resumed";
}

}  // namespace

std::size_t QueueManager::pending() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->queued;
}

QueueStats QueueManager::stats() const {
  std::lock_guard lock(impl_->mutex);
  QueueStats s;
  s.scheduled = impl_->schedule.size();
  s.active = impl_->active.size();
  s.spool_errors = impl_->spool_errors;
  s.last_spool_error = impl_->last_spool_error;
  s.parked = impl_->schedule.parked();
  s.waiting_for_room = impl_->schedule.set_aside();
  s.held = impl_->held;
  return s;
}

ListPage QueueManager::list(const ListFilter& filter) const {
  std::set<std::string> site_domains;
  if (!filter.site.empty() && impl_->remote) {
    for (const auto& s : impl_->remote->sites()) {
      if (s.site == filter.site) site_domains.insert(s.domains.begin(), s.domains.end());
    }
    if (site_domains.empty()) return {};
  }
  const std::string domain = filter.domain.empty() ? "" : util::ascii_domain(filter.domain);
  const std::size_t limit = std::max<std::size_t>(1, filter.limit);
  ListPage page;
  impl_->spool.scan_envelopes(filter.after, [&](spool::SpooledMessage& m) {
    page.next = m.id.value;
    if (!filter.campaign.empty() && m.envelope.campaign != filter.campaign) return true;
    if (!filter.tenant.empty() && m.envelope.tenant != filter.tenant) return true;
    if (!domain.empty() || !site_domains.empty()) {
      std::vector<detail::State> states(m.envelope.recipients.size());
      for (std::size_t r = 0; r < states.size(); ++r) states[r] = m.state(r);
      const auto pending = detail::pending_domains(m, states, impl_->options);
      const bool match = (domain.empty() || pending.count(domain)) &&
                         (site_domains.empty() || std::any_of(pending.begin(), pending.end(), [&](const auto& d) {
                            return site_domains.count(d) > 0;
                          }));
      if (!match) return true;
    }
    page.entries.push_back(detail::entry_of(m));
    return page.entries.size() < limit;
  });
  if (page.entries.size() < limit) page.next.clear();  // the scan reached the end
  std::lock_guard lock(impl_->mutex);
  for (auto& e : page.entries) e.in_flight = impl_->active.count(e.id) > 0;
  return page;
}

std::optional<QueueEntry> QueueManager::find(std::string_view id) const {
  spool::SpooledMessage m;
  std::error_code ec;
  if (!impl_->spool.read_envelope(spool::QueueId{std::string(id)}, m, ec)) return std::nullopt;
  QueueEntry e = detail::entry_of(m);
  std::lock_guard lock(impl_->mutex);
  e.in_flight = impl_->active.count(e.id) > 0;
  return e;
}

std::size_t QueueManager::flush(std::string_view domain, bool with_subdomains) {
  if (with_subdomains && !domain.empty()) return flush_tree(util::ascii_domain(domain));
  std::size_t moved = 0;
  {
    std::lock_guard lock(impl_->mutex);
    const std::uint32_t id = domain.empty() ? DomainTable::none : impl_->domains.intern(util::ascii_domain(domain));
    if (domain.empty()) {
      impl_->gates.clear();
    } else {
      impl_->gates.erase(id);
    }
    moved = impl_->schedule.force_due(std::time(nullptr), id);
    impl_->rescheduled = true;
  }
  if (impl_->remote) impl_->remote->revive(domain.empty() ? "" : util::ascii_domain(domain));
  if (moved) impl_->wake.notify_one();
  admin_event("", "flush " + (domain.empty() ? std::string("all") : util::ascii_domain(domain)) + ": " +
                      std::to_string(moved) + " message(s)");
  return moved;
}

// ETRN @domain (RFC 1985 §3): the domain and every subdomain with mail waiting.
std::size_t QueueManager::flush_tree(const std::string& domain) {
  std::size_t moved = 0;
  std::vector<std::string> names;
  {
    std::lock_guard lock(impl_->mutex);
    const std::vector<std::uint32_t> ids = impl_->domains.matching(domain, true);
    for (const std::uint32_t id : ids) {
      impl_->gates.erase(id);
      names.push_back(impl_->domains.name(id));
    }
    moved = impl_->schedule.force_due(std::time(nullptr), ids);
    impl_->rescheduled = true;
  }
  if (impl_->remote) {
    for (const auto& name : names) impl_->remote->revive(name);
  }
  if (moved) impl_->wake.notify_one();
  admin_event("", "flush @" + domain + ": " + std::to_string(moved) + " message(s)");
  return moved;
}

Outcome QueueManager::hold(std::string_view id_view) {
  const std::string id(id_view);
  spool::SpooledMessage m;
  std::error_code ec;
  if (!impl_->spool.read_envelope(spool::QueueId{id}, m, ec)) return Outcome::unknown;
  // The spool first, durably: a restart keeps the hold, and its schedule
  // entry is dropped when it comes up.
  if (!m.held) {
    m.held = true;
    if (impl_->spool.record_progress(m, /*durable=*/true)) return Outcome::unknown;
    ++impl_->held;
  }
  // Marked too, for an attempt under way (held when it ends) and for one
  // whose envelope was read a moment before the hold was written.
  std::lock_guard lock(impl_->mutex);
  impl_->to_hold.insert(id);
  impl_->set_claimable(m, false);  // no ATRN takes it either
  if (impl_->active.count(id)) {
    if (impl_->remote) impl_->remote->cancel(id);
    admin_event(id, "hold (when its attempt ends)");
    return Outcome::in_flight;
  }
  admin_event(id, "hold");
  return Outcome::done;
}

Outcome QueueManager::release(std::string_view id_view) {
  const std::string id(id_view);
  // A hold in flight cancelled the jobs of that attempt; those of the
  // next must go (before this, a released message waited 10 minutes).
  if (impl_->remote) impl_->remote->uncancel(id);
  bool marked = false;
  {
    std::lock_guard lock(impl_->mutex);
    marked = impl_->to_hold.erase(id) > 0;
  }
  spool::SpooledMessage m;
  std::error_code ec;
  if (!impl_->spool.read_envelope(spool::QueueId{id}, m, ec)) return Outcome::unknown;
  if (!m.held) return marked ? Outcome::done : Outcome::unknown;
  m.held = false;
  m.next_attempt_unix_seconds = 0;
  if (impl_->spool.record_progress(m, /*durable=*/true)) return Outcome::unknown;
  if (impl_->held > 0) --impl_->held;
  std::vector<detail::State> states(m.envelope.recipients.size());
  for (std::size_t r = 0; r < states.size(); ++r) states[r] = m.state(r);
  {
    std::lock_guard lock(impl_->mutex);
    impl_->schedule.add(id, 0, impl_->schedule_domain(detail::pending_domains(m, states, impl_->options)), true);
    impl_->set_claimable(m, true);
    impl_->rescheduled = true;
  }
  impl_->wake.notify_one();
  admin_event(id, "release");
  return Outcome::done;
}

Outcome QueueManager::remove(std::string_view id_view) {
  const std::string id(id_view);
  spool::SpooledMessage m;
  std::error_code ec;
  if (!impl_->spool.read_envelope(spool::QueueId{id}, m, ec)) return Outcome::unknown;
  if (impl_->spool.remove({m.id})) return Outcome::unknown;
  if (m.held && impl_->held > 0) --impl_->held;
  std::lock_guard lock(impl_->mutex);
  if (impl_->active.count(id)) {
    // settle() forgets it when its attempt ends; jobs not yet on the wire
    // are called back now.
    impl_->deleted.insert(id);
    if (impl_->remote) impl_->remote->cancel(id);
    admin_event(id, "delete (when its attempt ends)");
    return Outcome::in_flight;
  }
  impl_->to_hold.erase(id);
  std::vector<detail::State> states(m.envelope.recipients.size());
  for (std::size_t r = 0; r < states.size(); ++r) states[r] = m.state(r);
  for (const auto& d : detail::pending_domains(m, states, impl_->options)) impl_->uncount_domain(id, d);
  if (impl_->queued > 0) --impl_->queued;
  admin_event(id, "delete");
  return Outcome::done;  // its schedule entry is dropped when it comes up
}

std::vector<SiteView> QueueManager::sites() const {
  if (!impl_->remote) return {};
  auto views = impl_->remote->sites();
  std::lock_guard lock(impl_->mutex);
  for (auto& v : views) {
    v.queued = 0;
    for (const auto& d : v.domains) {
      if (auto c = impl_->domain_counts.find(d); c != impl_->domain_counts.end()) v.queued += c->second;
    }
  }
  return views;
}

std::string QueueManager::suspend(Scope scope, const std::string& target, std::chrono::milliseconds duration) {
  if (target.empty()) return "nothing named to suspend";
  if (auto* held_back = impl_->suspensions_of(scope)) {
    // Its messages stay in the schedule, unread, as they come up; those
    // being attempted now finish their attempt.
    const std::int64_t until =
        duration.count() > 0 ? std::time(nullptr) + std::chrono::duration_cast<std::chrono::seconds>(duration).count()
                             : 0;
    {
      std::lock_guard lock(impl_->mutex);
      (*held_back)[target] = until;
    }
    admin_event("", "suspend " + scope_word(scope) + " " + target + for_duration(duration));
    return "";
  }
  if (!impl_->remote) return "no remote delivery is configured";
  const bool by_domain = scope == Scope::domain;
  std::string error = impl_->remote->suspend(by_domain ? util::ascii_domain(target) : target, by_domain, duration,
                                             "suspended by the operator");
  if (error.empty()) admin_event("", "suspend " + scope_word(scope) + " " + target + for_duration(duration));
  return error;
}

std::string QueueManager::resume(Scope scope, const std::string& target) {
  if (auto* held_back = impl_->suspensions_of(scope)) {
    {
      std::lock_guard lock(impl_->mutex);
      if (!held_back->erase(target)) return "no suspension of " + target;
      // The parked messages come up now; those of other suspended
      // campaigns and tenants are parked again as they do.
      impl_->schedule.release_parked(std::time(nullptr));
      impl_->rescheduled = true;
    }
    impl_->wake.notify_one();
    admin_event("", "resume " + scope_word(scope) + " " + target);
    return "";
  }
  if (!impl_->remote) return "no remote delivery is configured";
  const bool by_domain = scope == Scope::domain;
  const std::string key = by_domain ? util::ascii_domain(target) : target;
  // The site's domains: their messages wait for the suspension's end, so
  // they are made due now.
  std::vector<std::string> site_domains;
  for (const auto& s : impl_->remote->sites()) {
    const bool named = by_domain ? std::find(s.domains.begin(), s.domains.end(), key) != s.domains.end() : s.site == key;
    if (named) site_domains = s.domains;
  }
  std::string error = impl_->remote->resume(key, by_domain);
  if (!error.empty()) return error;
  {
    std::lock_guard lock(impl_->mutex);
    for (const auto& d : site_domains) {
      const std::uint32_t id = impl_->domains.intern(d);
      impl_->gates.erase(id);
      impl_->schedule.force_due(std::time(nullptr), id);
    }
    impl_->rescheduled = true;
  }
  impl_->wake.notify_one();
  admin_event("", "resume " + scope_word(scope) + " " + target);
  return "";
}

std::vector<QueueManager::Suspension> QueueManager::suspensions() const {
  std::vector<Suspension> out;
  std::lock_guard lock(impl_->mutex);
  const std::int64_t now = std::time(nullptr);
  for (const auto& [name, until] : impl_->campaign_suspensions) {
    if (until == 0 || until > now) out.push_back({Scope::campaign, name, until});
  }
  for (const auto& [name, until] : impl_->tenant_suspensions) {
    if (until == 0 || until > now) out.push_back({Scope::tenant, name, until});
  }
  return out;
}

}  // namespace petrel::queue
