// The delivery thread's sites: a job finds its site (the MX set of its
// domain, looked up once per site_ttl, or its route), waits in the site's
// ready queue, and leaves it on a connection opened within the site's
// limits. What sites say back (connection failures, replies matching an
// automation rule) closes or slows them; a closed site's jobs go back to
// the queue manager not attempted, with the time to come back.
#include "queue/remote_internal.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <ctime>
#include <future>

#include "dns/destination.hpp"
#include "smtp/reply_codes.hpp"

namespace petrel::queue {
namespace asio = boost::asio;

namespace detail {

std::int64_t unix_time_of(SteadyClock::time_point t) {
  const auto now = SteadyClock::now();
  if (t == SteadyClock::time_point::max()) return 0;
  return std::time(nullptr) + std::chrono::duration_cast<std::chrono::seconds>(t - now).count();
}

JobResult all_recipients(const RemoteJob& job, smtp::DeliveryOutcome outcome, smtp::Status status,
                         const std::string& text) {
  JobResult result;
  const std::string reply = std::to_string(status.code) + " " + std::string(status.enhanced) + " " + text;
  for (std::size_t r : job.recipients) result.outcomes.push_back({r, outcome, reply, std::string(status.enhanced), ""});
  return result;
}

}  // namespace detail

namespace {

using detail::Pending;
using Clock = detail::SteadyClock;

constexpr auto kIndefinite = Clock::time_point::max();
constexpr auto kHousekeeping = std::chrono::seconds(30);
// A ready queue that is full is tried again after this long at least.
constexpr auto kReadyFullRetry = std::chrono::seconds(5);
constexpr auto kReadyFullRetryMax = std::chrono::minutes(5);


// Jobs with the same key can share a connection: same endpoints, same TLS
// policy, same credentials.
std::string connection_key(const RemoteJob& job, smtp::TlsPolicy default_tls) {
  std::string key = job.route ? job.route->str() : "mx:" + job.domain;
  key += " tls=" + std::to_string(static_cast<int>(job.tls.value_or(default_tls)));
  if (job.to_relayhost) key += " relayhost";
  // RFC 8689: a message's TLS requests decide its endpoints and checks.
  if (job.message->envelope.params.requiretls) key += " requiretls";
  if (job.message->envelope.tls_required_no) key += " tls-required-no";
  return key;
}

// The name a route's site goes by: the route itself.
std::string route_site(const delivery::Route& route) { return route.str(); }

// Whether the route's host is found by MX (smtp:HOST) rather than directly.
bool by_mx(const RemoteJob& job) { return !job.route || (job.route->mx_lookup && job.route->unix_path.empty()); }

std::string lookup_name(const RemoteJob& job) { return job.route ? job.route->host : job.domain; }

}  // namespace

RemoteQueue::Impl::Impl(RemoteOptions o, spool::Spool& s)
    : options(std::move(o)),
      spool(s),
      guard(io.get_executor()),
      resolver(io, dns::petreld_options(options.resolver, options.trust_anchor_file)),
      sts_policies(io, resolver, mtasts::FetchOptions{.ca_file = options.tls_ca_file}),
      automation(options.shaping),
      housekeeping(io) {
  // The domain blocks of [shaping] are looked up at once, so that their
  // sites carry their limits before the first mail for a sibling domain.
  asio::post(io, [this] {
    for (const auto& [domain, limits] : options.shaping.domains) resolve_site(domain);
    prune();
  });
  start_cluster();
  thread = std::thread([this] { io.run(); });
}

RemoteQueue::Impl::~Impl() {
  guard.reset();
  io.stop();
  if (thread.joinable()) thread.join();
}

bool RemoteQueue::Impl::cancelled(const std::string& queue_id) { return cancelled_ids.count(queue_id) > 0; }

void RemoteQueue::Impl::not_attempted(Pending& p, const std::string& site, Clock::time_point retry,
                                      const std::string& why, const std::string& spool_error, bool wait_for_room) {
  smtp::Status status = smtp::codes::k451SiteSuspended;
  JobResult result = detail::all_recipients(p.job, smtp::DeliveryOutcome::deferred, status, why);
  result.attempted = false;
  result.retry_at = retry == kIndefinite ? std::time(nullptr) + 3600 : detail::unix_time_of(retry);
  result.site = site;
  result.spool_error = spool_error;
  result.wait_for_room = wait_for_room;
  p.done(std::move(result));
}

void RemoteQueue::Impl::admit(Pending p) {
  if (cancelled(p.job.message->id.value)) {
    return not_attempted(p, "", Clock::now(), "Cancelled by the operator");
  }
  p.pool = pool_of(p.job);
  p.key = connection_key(p.job, options.tls) + (p.pool.empty() ? "" : " pool=" + p.pool);
  if (!by_mx(p.job)) {
    Site& site = site_named(route_site(*p.job.route), {});
    site.domains.insert(p.job.domain);
    return enqueue(site, std::move(p));
  }
  const std::string name = lookup_name(p.job);
  auto& info = domains[name];
  if (!info.site.empty() && info.expires > Clock::now()) {
    auto found = sites.find(info.site);
    if (found != sites.end()) return enqueue(*found->second, std::move(p));
  }
  info.waiting.push_back(std::move(p));
  if (!info.resolving) resolve_site(name);
}

void RemoteQueue::Impl::resolve_site(const std::string& name) {
  auto& info = domains[name];
  info.resolving = true;
  dns::PlanOptions plan;
  plan.local_names = {options.hostname};
  dns::resolve_destination(resolver, name, plan, [this, name](const dns::DeliveryPlan& p) { sited(name, p); });
}

// The lookup is back: the domain's site is known (or why there is none).
void RemoteQueue::Impl::sited(const std::string& name, const dns::DeliveryPlan& plan) {
  namespace codes = smtp::codes;
  auto& info = domains[name];
  info.resolving = false;
  std::deque<Pending> waiting;
  waiting.swap(info.waiting);
  if (plan.verdict != dns::Verdict::deliver) {
    info.site.clear();
    info.expires = {};
    for (auto& p : waiting) {
      const std::string& d = p.job.domain;
      using dns::Verdict;
      using smtp::DeliveryOutcome;
      switch (plan.verdict) {
        case Verdict::null_mx:
          p.done(detail::all_recipients(p.job, DeliveryOutcome::failed, codes::k556NullMx,
                                        "Domain " + d + " does not accept mail (null MX)"));
          break;
        case Verdict::no_such_domain:
          p.done(detail::all_recipients(p.job, DeliveryOutcome::failed, codes::k550NoSuchDomain,
                                        "Domain " + d + " does not exist"));
          break;
        case Verdict::unroutable:
          p.done(detail::all_recipients(p.job, DeliveryOutcome::failed, codes::k550Unroutable,
                                        "No mail exchanger of " + d + " has an address: " + plan.reason));
          break;
        case Verdict::routing_loop:
          p.done(detail::all_recipients(p.job, DeliveryOutcome::failed, codes::k550RoutingLoop,
                                        "Mail for " + d + " loops back to this server"));
          break;
        default:
          p.done(detail::all_recipients(p.job, DeliveryOutcome::deferred, codes::k451DnsFailure,
                                        "DNS lookup for " + d + " failed: " + plan.reason));
      }
    }
    return;
  }
  std::vector<std::string> hosts = plan.mx_hosts;
  if (hosts.empty()) {
    for (const auto& c : plan.candidates) hosts.push_back(c.host);
  }
  std::sort(hosts.begin(), hosts.end());
  hosts.erase(std::unique(hosts.begin(), hosts.end()), hosts.end());
  Site& mx_site = site_named(shaping::site_name(hosts), hosts);
  if (mx_site.domains.insert(name).second) recompute_limits(mx_site);
  info.site = mx_site.name;
  info.expires = Clock::now() + options.site_ttl;
  if (auto s = domain_suspensions.find(name); s != domain_suspensions.end()) {
    suspend_site(mx_site, s->second.first, s->second.second);
    domain_suspensions.erase(s);
  }
  for (auto& p : waiting) {
    // A route looked up by MX is a site of its own, with the MX set's endpoints.
    Site& site = p.job.route ? site_named(route_site(*p.job.route), {}) : mx_site;
    if (p.job.route) site.domains.insert(p.job.domain);
    enqueue(site, std::move(p));
  }
}

RemoteQueue::Impl::Site& RemoteQueue::Impl::site_named(const std::string& name, const std::vector<std::string>& mx_hosts) {
  auto& slot = sites[name];
  if (!slot) {
    slot = std::make_unique<Site>();
    slot->name = name;
    slot->mx_hosts = mx_hosts;
    slot->provider = shaping::provider_of(options.shaping, mx_hosts);
    slot->health = shaping::SiteHealth(options.health);
    slot->timer = std::make_unique<asio::steady_timer>(io);
    slot->idle_since = Clock::now();
    recompute_limits(*slot);
  }
  return *slot;
}

void RemoteQueue::Impl::recompute_limits(Site& site) {
  std::vector<std::string> configured;
  for (const auto& d : site.domains) {
    if (options.shaping.domains.count(d)) configured.push_back(d);
  }
  site.base = shaping::limits_for(options.shaping, site.provider, configured);
}

// A path's limits are the site's (lowered by a rule, maybe) overlaid by its
// source's block; its throttles are made anew when those change.
detail::Path& RemoteQueue::Impl::path(Site& site, const std::string& source, Clock::time_point now) {
  detail::Path& p = site.paths[source];
  p.source = source;
  shaping::EffectiveLimits limits = site.limits(now);
  p.shared_message_source = p.shared_connection_source = p.shared_limit_source = "";
  if (auto block = options.shaping.sources.find(source); block != options.shaping.sources.end()) {
    limits = shaping::apply(limits, block->second);
    if (block->second.max_message_rate) p.shared_message_source = source;
    if (block->second.max_connection_rate) p.shared_connection_source = source;
    if (block->second.connection_limit) p.shared_limit_source = source;
  }
  if (!(limits == p.limits) || (p.connection_rate.rate().count == 0 && p.message_rate.rate().count == 0)) {
    if (!(limits.max_connection_rate == p.limits.max_connection_rate) || p.connection_rate.rate().count == 0) {
      p.connection_rate = shaping::Throttle(limits.max_connection_rate);
    }
    if (!(limits.max_message_rate == p.limits.max_message_rate) || p.message_rate.rate().count == 0) {
      p.message_rate = shaping::Throttle(limits.max_message_rate);
    }
    p.limits = limits;
  }
  return p;
}

std::string RemoteQueue::Impl::pool_of(const RemoteJob& job) const {
  if (options.pools.empty()) return "";
  if (auto t = options.tenant_pools.find(job.message->envelope.tenant);
      !job.message->envelope.tenant.empty() && t != options.tenant_pools.end()) {
    return t->second;
  }
  return options.default_pool.empty() ? options.pools.front().name : options.default_pool;
}

const EgressSource* RemoteQueue::Impl::source_named(const std::string& name) const {
  for (const auto& s : options.sources) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

namespace {

std::int64_t today() { return static_cast<std::int64_t>(std::time(nullptr)) / 86400; }

// The provider's schedule, else "default"'s, keyed as counted.
std::string warmup_key(const EgressSource& source, const detail::Site& site) {
  std::string provider = site.provider ? site.provider->name : "";
  if (!provider.empty() && source.warmup.count(provider)) return provider;
  return "default";
}

}  // namespace

// Today's cap of messages from `source` to the site's provider, if its
// warm-up schedule still runs.
std::optional<std::uint64_t> RemoteQueue::Impl::warmup_cap(const EgressSource& source, const Site& site) const {
  if (source.warmup.empty()) return std::nullopt;
  auto schedule = source.warmup.find(warmup_key(source, site));
  if (schedule == source.warmup.end()) return std::nullopt;
  const std::int64_t day = std::max<std::int64_t>(0, today() - source.warmup_start_day);
  if (static_cast<std::size_t>(day) >= schedule->second.size()) return std::nullopt;  // warm
  return schedule->second[static_cast<std::size_t>(day)];
}

bool RemoteQueue::Impl::under_cap(const std::string& name, const Site& site) {
  const EgressSource* source = source_named(name);
  if (!source) return true;
  const auto cap = warmup_cap(*source, site);
  if (!cap) return true;
  const auto& count = sent_today[{name, warmup_key(*source, site)}];
  return count.first != today() || count.second < *cap;
}

void RemoteQueue::Impl::count_sent(const std::string& name, const Site& site) {
  const EgressSource* source = source_named(name);
  if (!source || source->warmup.empty()) return;
  auto& count = sent_today[{name, warmup_key(*source, site)}];
  if (count.first != today()) count = {today(), 0};
  ++count.second;
}

// The source of the next connection for a job of `pool`: smooth weighted
// round-robin among the pool's sources whose path has a free connection,
// whose rates allow one now and that are under their warm-up cap.
RemoteQueue::Impl::Choice RemoteQueue::Impl::choose_source(Site& site, const std::string& pool_name,
                                                           Clock::time_point now) {
  Choice choice;
  auto ready_now = [&](const std::string& source, std::chrono::nanoseconds& wait) {
    detail::Path& p = path(site, source, now);
    if (p.connections >= p.limits.connection_limit) return false;
    const auto w = std::max(connection_wait(site, p, now), message_wait(site, p, now));
    if (w.count() > 0) {
      wait = wait.count() == 0 ? w : std::min(wait, w);
      return false;
    }
    return connection_free(site, p, now);  // a cluster lease is asked for when none is held
  };
  if (pool_name.empty()) {
    if (ready_now("", choice.wait)) choice.source = "";
    return choice;
  }
  const auto pool = std::find_if(options.pools.begin(), options.pools.end(),
                                 [&](const EgressPool& p) { return p.name == pool_name; });
  if (pool == options.pools.end()) return choice;
  auto& weights = pool_weights[pool_name];
  long long total = 0;
  std::string best;
  bool any_under_cap = false;
  for (const auto& [name, weight] : pool->sources) {
    if (!under_cap(name, site)) continue;
    any_under_cap = true;
    if (!ready_now(name, choice.wait)) continue;
    total += weight;
    weights[name] += weight;
    if (best.empty() || weights[name] > weights[best]) best = name;
  }
  choice.capped = !any_under_cap;
  if (best.empty()) return choice;
  weights[best] -= total;
  choice.source = best;
  return choice;
}

void RemoteQueue::Impl::release(Site& site, const std::string& source) {
  if (site.connections > 0) --site.connections;
  auto p = site.paths.find(source);
  if (p != site.paths.end() && p->second.connections > 0) --p->second.connections;
  if (p != site.paths.end()) connection_ended(site, p->second);
  if (site.connections == 0) site.idle_since = Clock::now();
}

// The job goes back not attempted when the site is closed; else it waits.
bool RemoteQueue::Impl::gate(Site& site, Pending& p) {
  const auto now = Clock::now();
  if (site.suspended && (site.suspended_until == kIndefinite || now < site.suspended_until)) {
    not_attempted(p, site.name, site.suspended_until, "Site " + site.name + " is suspended: " + site.suspend_reason);
    return true;
  }
  site.suspended = false;
  if (site.health.state(now) == shaping::SiteHealth::State::down) {
    auto retry = site.health.down_until();
    not_attempted(p, site.name, retry, "Site " + site.name + " is down (no answer): " + site.last_reply);
    return true;
  }
  if (site.ready_count >= options.max_ready) {
    // The job's domain waits for room: on_room says when there is (see
    // take()). Should that never come, back when the queue should have
    // room: its length over the rate the site drains at. That is its recent deliveries over the time they
    // span (at most the last minute), or, while there are few (a site just
    // found, a backlog just queued), what its message rate allows; with
    // neither, soon. (Dividing by a whole minute at the start sent a
    // backlog away for 5 minutes after its first 1000 jobs.)
    const auto& limits = site.limits(now);
    double per_second = 0;
    if (!site.delivered.empty()) {
      const double span = std::max(1.0, std::chrono::duration<double>(now - site.delivered.front()).count());
      per_second = static_cast<double>(site.delivered.size()) / span;
    }
    if (!limits.max_message_rate.unlimited()) {
      const double allowed = static_cast<double>(limits.max_message_rate.count) * 1000.0 /
                             static_cast<double>(std::max<std::int64_t>(1, limits.max_message_rate.period.count())) *
                             static_cast<double>(std::max<std::size_t>(1, site.paths.size()));
      if (site.delivered.size() < 100) per_second = std::max(per_second, allowed);
    }
    auto wait = per_second > 0 ? std::chrono::seconds(static_cast<std::int64_t>(site.ready_count / per_second))
                               : std::chrono::seconds(kReadyFullRetry);
    wait = std::clamp<std::chrono::seconds>(wait, kReadyFullRetry, kReadyFullRetryMax);
    site.turned_away = true;
    not_attempted(p, site.name, now + wait, "Site " + site.name + " has a full ready queue", "", /*wait_for_room=*/true);
    return true;
  }
  return false;
}

void RemoteQueue::Impl::enqueue(Site& site, Pending p) {
  if (gate(site, p)) return;
  site.ready[p.key].push_back(std::move(p));
  ++site.ready_count;
  pump(site);
}

void RemoteQueue::Impl::flush_ready(Site& site, Clock::time_point retry, const std::string& why) {
  for (auto& [key, queue] : site.ready) {
    for (auto& p : queue) not_attempted(p, site.name, retry, why);
  }
  site.ready.clear();
  site.ready_count = 0;
}

// Takes the next job for `key` ("": any key, the one after the last served).
std::optional<Pending> RemoteQueue::Impl::take(Site& site, const std::string& key) {
  while (site.ready_count > 0) {
    auto it = key.empty() ? site.ready.upper_bound(site.last_key) : site.ready.find(key);
    if (key.empty() && it == site.ready.end()) it = site.ready.begin();
    if (it == site.ready.end()) return std::nullopt;
    Pending p = std::move(it->second.front());
    it->second.pop_front();
    --site.ready_count;
    site.last_key = it->first;
    if (it->second.empty()) site.ready.erase(it);
    if (site.turned_away && site.ready_count <= options.max_ready / 2 && options.on_room) {
      site.turned_away = false;
      options.on_room({site.domains.begin(), site.domains.end()}, options.max_ready - site.ready_count);
    }
    if (cancelled(p.job.message->id.value)) {
      not_attempted(p, site.name, Clock::now(), "Cancelled by the operator");
      continue;
    }
    p.taken = Clock::now();
    return p;
  }
  return std::nullopt;
}

// Opens connections while the site's limits allow and jobs wait.
void RemoteQueue::Impl::pump(Site& site) {
  while (site.ready_count > 0) {
    const auto now = Clock::now();
    if (site.suspended) return flush_ready(site, site.suspended_until, "Site " + site.name + " is suspended");
    if (site.health.state(now) == shaping::SiteHealth::State::down) {
      return flush_ready(site, site.health.down_until(), "Site " + site.name + " is down: " + site.last_reply);
    }
    if (!site.health.may_connect(now, site.connections)) return;  // its probe is out
    // The next key to serve, round-robin, and a source of its pool.
    auto it = site.ready.upper_bound(site.last_key);
    if (it == site.ready.end()) it = site.ready.begin();
    const std::string key = it->first;
    const std::string pool = it->second.front().pool;
    const Choice choice = choose_source(site, pool, now);
    if (choice.capped) {
      // Every source of the pool has sent its warm-up cap for today: the
      // jobs wait for tomorrow (UTC), in the queue rather than here.
      const auto tomorrow = Clock::now() + std::chrono::seconds(86400 - std::time(nullptr) % 86400);
      for (auto& p : it->second) not_attempted(p, site.name, tomorrow, "Warm-up cap for today reached (pool " + pool + ")");
      site.ready_count -= it->second.size();
      site.ready.erase(it);
      continue;
    }
    if (!choice.source) {
      if (choice.wait.count() > 0) wait_and_pump(site, choice.wait);
      return;  // else a connection that ends pumps again
    }
    auto p = take(site, key);
    if (!p) continue;
    detail::Path& chosen = path(site, *choice.source, now);
    take_connection(site, chosen, now);
    take_message(site, chosen, now);
    ++chosen.connections;
    count_sent(*choice.source, site);
    start(site, *choice.source, std::move(*p));
  }
}

void RemoteQueue::Impl::wait_and_pump(Site& site, std::chrono::nanoseconds wait) {
  if (site.timer->expiry() > Clock::now()) return;  // one is set already
  site.timer->expires_after(wait);
  site.timer->async_wait([this, name = site.name](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto found = sites.find(name); found != sites.end()) pump(*found->second);
  });
}

// A connection is over: its health, the rules on its replies, and the next one.
void RemoteQueue::Impl::connection_done(const std::string& name, const std::string& source,
                                        const std::vector<delivery::DeliveryReport>& reports) {
  auto found = sites.find(name);
  if (found == sites.end()) return;
  Site& site = *found->second;
  const auto now = Clock::now();
  release(site, source);
  const bool answered = std::any_of(reports.begin(), reports.end(), [](const auto& r) { return r.endpoint.has_value(); });
  std::set<std::string> replies;
  for (const auto& report : reports) {
    for (const auto& r : report.recipients) {
      if (r.outcome == smtp::DeliveryOutcome::delivered) site.delivered.push_back(now);
      if (!r.reply.local || !answered) replies.insert(r.reply.str());
    }
  }
  while (!site.delivered.empty() && now - site.delivered.front() > std::chrono::minutes(1)) site.delivered.pop_front();
  if (!replies.empty()) site.last_reply = *replies.rbegin();
  if (answered) {
    site.health.connection_succeeded();
  } else if (!reports.empty()) {
    std::uniform_real_distribution<double> jitter(0.0, 1.0);
    const bool was_down = site.health.state(now) == shaping::SiteHealth::State::down;
    site.health.connection_failed(now, jitter(random));
    if (!was_down && site.health.state(now) == shaping::SiteHealth::State::down) {
      spdlog::warn("site {} is down after {} failed connection(s), until {}s from now: {}", site.name,
                   site.health.consecutive_failures(),
                   std::chrono::duration_cast<std::chrono::seconds>(site.health.down_until() - now).count(),
                   site.last_reply);
    }
  }
  for (const auto& reply : replies) {
    if (answered) observe(site, reply);
  }
  pump(site);
}

void RemoteQueue::Impl::observe(Site& site, const std::string& reply) {
  const std::vector<std::string> domains_of_site(site.domains.begin(), site.domains.end());
  const auto fired = automation.observe(site.name, site.provider ? site.provider->name : "", domains_of_site, reply,
                                        Clock::now());
  for (const auto& f : fired) apply(site, f);
}

void RemoteQueue::Impl::apply(Site& site, const shaping::Fired& fired) {
  const shaping::Rule& rule = *fired.rule;
  if (rule.action == shaping::Rule::Action::suspend) {
    spdlog::warn("site {} suspended for {}s by the rule at {} ('{}'): {}", site.name,
                 std::chrono::duration_cast<std::chrono::seconds>(rule.duration).count(), rule.origin, rule.pattern,
                 site.last_reply);
    suspend_site(site, fired.until, "rule " + rule.origin + " matched: " + site.last_reply);
    return;
  }
  site.lowered = shaping::apply(site.base, rule.set);
  site.lowered_until = fired.until;  // the paths' throttles follow (path())
  spdlog::warn("site {} limits lowered for {}s by the rule at {} ('{}')", site.name,
               std::chrono::duration_cast<std::chrono::seconds>(rule.duration).count(), rule.origin, rule.pattern);
}

void RemoteQueue::Impl::suspend_site(Site& site, Clock::time_point until, const std::string& reason) {
  site.suspended = true;
  site.suspended_until = until;
  site.suspend_reason = reason;
  flush_ready(site, until, "Site " + site.name + " is suspended: " + reason);
}

// Forgets what is old: expired lookups, idle sites, cancellations.
void RemoteQueue::Impl::prune() {
  const auto now = Clock::now();
  for (auto it = cancelled_ids.begin(); it != cancelled_ids.end();) {
    it = it->second < now ? cancelled_ids.erase(it) : std::next(it);
  }
  for (auto it = domains.begin(); it != domains.end();) {
    const bool old = !it->second.resolving && it->second.waiting.empty() && it->second.expires < now;
    if (old && options.shaping.domains.count(it->first)) {
      resolve_site(it->first);  // configured: kept known
      ++it;
      continue;
    }
    it = old ? domains.erase(it) : std::next(it);
  }
  for (auto it = sites.begin(); it != sites.end();) {
    Site& s = *it->second;
    std::erase_if(s.domains, [&](const std::string& d) {
      auto info = domains.find(d);
      return s.mx_hosts.size() > 0 && (info == domains.end() || info->second.site != s.name);
    });
    const bool idle = s.ready_count == 0 && s.connections == 0 && !s.suspended && !s.lowered &&
                      s.health.state(now) == shaping::SiteHealth::State::up && s.domains.empty() &&
                      now - s.idle_since > options.site_ttl;
    it = idle ? sites.erase(it) : std::next(it);
  }
  housekeeping.expires_after(kHousekeeping);
  housekeeping.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) prune();
  });
}

SiteView RemoteQueue::Impl::view(Site& site, Clock::time_point now) {
  SiteView v;
  v.site = site.name;
  v.domains.assign(site.domains.begin(), site.domains.end());
  v.provider = site.provider ? site.provider->name : "";
  const bool suspended = site.suspended && (site.suspended_until == kIndefinite || now < site.suspended_until);
  v.state = suspended ? "suspended"
                      : site.health.state(now) == shaping::SiteHealth::State::down ? "down" : "active";
  if (suspended && site.suspended_until != kIndefinite) v.suspended_until = detail::unix_time_of(site.suspended_until);
  if (suspended) v.suspend_reason = site.suspend_reason;
  v.ready = site.ready_count;
  v.connections = site.connections;
  while (!site.delivered.empty() && now - site.delivered.front() > std::chrono::minutes(1)) site.delivered.pop_front();
  v.delivered_last_minute = site.delivered.size();
  v.last_reply = site.last_reply;
  v.limits = site.limits(now);
  for (auto& [name, p] : site.paths) {
    if (name.empty()) continue;
    SiteView::Source source{name, p.connections, 0, std::nullopt};
    if (const EgressSource* configured = source_named(name)) {
      source.cap_today = warmup_cap(*configured, site);
      const auto& count = sent_today[{name, warmup_key(*configured, site)}];
      if (count.first == today()) source.sent_today = count.second;
    }
    v.sources.push_back(std::move(source));
  }
  return v;
}

RemoteQueue::RemoteQueue(RemoteOptions options, spool::Spool& spool)
    : impl_(std::make_unique<Impl>(std::move(options), spool)) {}

RemoteQueue::~RemoteQueue() = default;

void RemoteQueue::submit(RemoteJob job, std::function<void(JobResult)> done) {
  asio::post(impl_->io, [impl = impl_.get(), p = Pending{std::move(job), std::move(done), {}}]() mutable {
    impl->admit(std::move(p));
  });
}

void RemoteQueue::cancel(const std::string& queue_id) {
  asio::post(impl_->io, [impl = impl_.get(), queue_id] {
    impl->cancelled_ids[queue_id] = Clock::now() + std::chrono::minutes(10);
    for (auto& [name, site] : impl->sites) {
      for (auto& [key, queue] : site->ready) {
        for (auto it = queue.begin(); it != queue.end();) {
          if (it->job.message->id.value != queue_id) {
            ++it;
            continue;
          }
          impl->not_attempted(*it, name, Clock::now(), "Cancelled by the operator");
          it = queue.erase(it);
          --site->ready_count;
        }
      }
      std::erase_if(site->ready, [](const auto& entry) { return entry.second.empty(); });
    }
  });
}

void RemoteQueue::uncancel(const std::string& queue_id) {
  asio::post(impl_->io, [impl = impl_.get(), queue_id] { impl->cancelled_ids.erase(queue_id); });
}

void RemoteQueue::revive(const std::string& domain) {
  asio::post(impl_->io, [impl = impl_.get(), domain] {
    std::string only;
    if (!domain.empty()) {
      auto info = impl->domains.find(domain);
      if (info == impl->domains.end() || info->second.site.empty()) return;
      only = info->second.site;
    }
    for (auto& [name, site] : impl->sites) {
      if (!only.empty() && name != only) continue;
      if (site->health.state(Clock::now()) != shaping::SiteHealth::State::up) site->health.connection_succeeded();
    }
  });
}

namespace {

// Runs f on the delivery thread and waits for its answer (operator
// commands only: never on a thread that serves SMTP).
template <typename F>
auto on_delivery_thread(asio::io_context& io, F f) -> decltype(f()) {
  std::promise<decltype(f())> answer;
  asio::post(io, [&] { answer.set_value(f()); });
  return answer.get_future().get();
}

}  // namespace

std::vector<SiteView> RemoteQueue::sites() const {
  return on_delivery_thread(impl_->io, [impl = impl_.get()] {
    std::vector<SiteView> out;
    const auto now = Clock::now();
    for (auto& [name, site] : impl->sites) out.push_back(impl->view(*site, now));
    return out;
  });
}

std::optional<std::string> RemoteQueue::site_of(const std::string& domain) const {
  return on_delivery_thread(impl_->io, [impl = impl_.get(), domain]() -> std::optional<std::string> {
    auto info = impl->domains.find(domain);
    if (info == impl->domains.end() || info->second.site.empty()) return std::nullopt;
    return info->second.site;
  });
}

std::string RemoteQueue::suspend(const std::string& target, bool by_domain, std::chrono::milliseconds duration,
                                 const std::string& reason) {
  return on_delivery_thread(impl_->io, [impl = impl_.get(), target, by_domain, duration, reason]() -> std::string {
    const auto until = duration.count() > 0 ? Clock::now() + duration : kIndefinite;
    std::string name = target;
    if (by_domain) {
      auto info = impl->domains.find(target);
      if (info == impl->domains.end() || info->second.site.empty()) {
        // Its site is not known yet: looked up now, suspended when found.
        impl->domain_suspensions[target] = {until, reason};
        if (!impl->domains[target].resolving) impl->resolve_site(target);
        return "";
      }
      name = info->second.site;
    }
    auto found = impl->sites.find(name);
    if (found == impl->sites.end()) return "no site " + name + " (see petrel queue sites)";
    impl->suspend_site(*found->second, until, reason);
    spdlog::info("site {} suspended by the operator{}", name,
                 duration.count() > 0 ? " for " + std::to_string(duration.count() / 1000) + "s" : " until resumed");
    return "";
  });
}

std::string RemoteQueue::resume(const std::string& target, bool by_domain) {
  return on_delivery_thread(impl_->io, [impl = impl_.get(), target, by_domain]() -> std::string {
    std::string name = target;
    if (by_domain) {
      impl->domain_suspensions.erase(target);
      auto info = impl->domains.find(target);
      if (info == impl->domains.end() || info->second.site.empty()) return "";
      name = info->second.site;
    }
    auto found = impl->sites.find(name);
    if (found == impl->sites.end()) return "no site " + name + " (see petrel queue sites)";
    detail::Site& site = *found->second;
    site.suspended = false;
    site.suspend_reason.clear();
    site.health.connection_succeeded();  // an operator's word: try it now
    spdlog::info("site {} resumed by the operator", name);
    impl->pump(site);
    return "";
  });
}

}  // namespace petrel::queue
