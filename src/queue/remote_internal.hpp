// RemoteQueue's state, shared by remote_queue.cpp (sites, ready queues,
// shaping, operator commands) and remote_connections.cpp (a connection's
// endpoints and its messages). Everything here lives on the delivery
// thread. Internal to src/queue/.
#pragma once

#include <utility>  // Boost 1.74's Asio needs std::exchange declared first

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <thread>

#include "delivery/smtp_deliverer.hpp"
#include "delivery/sts_policies.hpp"
#include "delivery/tls_decision.hpp"
#include "dns/mx_plan.hpp"
#include "dns/unbound_resolver.hpp"
#include "queue/remote_queue.hpp"
#include "shaping/shaping.hpp"

namespace petrel::queue {
namespace detail {

using Done = std::function<void(JobResult)>;
using SteadyClock = std::chrono::steady_clock;

struct Pending {
  RemoteJob job;
  Done done;
  std::string key;   // jobs with the same key may share a connection
  std::string pool;  // the egress pool it leaves through ("": no egress configured)
  SteadyClock::time_point taken{};  // when a connection took it, for JobResult::seconds
};

// One egress source's traffic to one site (KumoMTA's egress path): the
// site's limits, overlaid by [shaping.source."NAME"], apply per path.
// A limit with scope = "cluster" is shared by every node's paths to the
// site (its source "" in the cluster), unless the source's own block set
// it (its source then). The throttles are used only for the local ones.
struct Path {
  std::string source;  // the egress source's name ("": none)
  std::size_t connections = 0;
  shaping::Throttle connection_rate;
  shaping::Throttle message_rate;
  shaping::EffectiveLimits limits;  // as the throttles were made for
  std::string shared_message_source, shared_connection_source, shared_limit_source;
};

// What the DNS said about a domain (or a route's host looked up by MX):
// the site its MX set makes up, for a while.
struct DomainInfo {
  std::string site;
  SteadyClock::time_point expires{};
  bool resolving = false;
  std::deque<Pending> waiting;  // for the lookup
};

struct Site {
  std::string name;
  std::vector<std::string> mx_hosts;  // empty for a route
  std::set<std::string> domains;
  const shaping::Provider* provider = nullptr;
  shaping::EffectiveLimits base;                       // from [shaping]
  std::optional<shaping::EffectiveLimits> lowered;     // by an automation rule, until lowered_until
  SteadyClock::time_point lowered_until{};
  std::map<std::string, Path> paths;  // by egress source name ("": none configured)
  shaping::SiteHealth health;
  bool suspended = false;
  SteadyClock::time_point suspended_until{};  // max(): until resumed
  std::string suspend_reason;
  std::map<std::string, std::deque<Pending>> ready;  // by connection key
  std::size_t ready_count = 0;
  bool turned_away = false;  // a job found the ready queue full: on_room is owed
  std::string last_key;  // served last: the next connection serves another first
  std::size_t connections = 0;  // over all paths
  std::string last_reply;
  std::deque<SteadyClock::time_point> delivered;  // the last minute's, for the rate shown
  std::unique_ptr<boost::asio::steady_timer> timer;  // a pump waiting for a throttle
  SteadyClock::time_point idle_since{};

  const shaping::EffectiveLimits& limits(SteadyClock::time_point now) {
    if (lowered && now >= lowered_until) lowered.reset();
    return lowered ? *lowered : base;
  }
};

// The jobs one connection carries: the one it was opened for, then those
// it took from the site's ready queue.
struct Batch {
  std::string site;
  std::string key;
  std::string source;  // the egress source's name ("": none)
  std::vector<Pending> jobs;
  std::vector<bool> completed;
  std::optional<mtasts::Policy> sts;  // the destination's MTA-STS policy, when it has one
  bool stop = false;                  // take no more: QUIT after the current one

  void complete(std::size_t i, JobResult result) {
    if (i >= jobs.size() || completed[i]) return;
    completed[i] = true;
    if (result.attempted && jobs[i].taken != SteadyClock::time_point{}) {
      result.seconds = std::chrono::duration<double>(SteadyClock::now() - jobs[i].taken).count();
    }
    jobs[i].done(std::move(result));
  }
};

std::int64_t unix_time_of(SteadyClock::time_point t);
JobResult all_recipients(const RemoteJob& job, smtp::DeliveryOutcome outcome, smtp::Status status,
                         const std::string& text);

}  // namespace detail

struct RemoteQueue::Impl {
  using Pending = detail::Pending;
  using Site = detail::Site;
  using Batch = detail::Batch;
  using Clock = detail::SteadyClock;

  Impl(RemoteOptions o, spool::Spool& s);
  ~Impl();

  // remote_queue.cpp: where a job waits, and when connections start.
  void admit(Pending p);
  void resolve_site(const std::string& lookup_name);
  void sited(const std::string& lookup_name, const dns::DeliveryPlan& plan);
  Site& site_named(const std::string& name, const std::vector<std::string>& mx_hosts);
  void enqueue(Site& site, Pending p);
  bool gate(Site& site, Pending& p);  // completes p not attempted when the site is closed
  void not_attempted(Pending& p, const std::string& site, Clock::time_point retry, const std::string& why,
                     const std::string& spool_error = "", bool wait_for_room = false);
  void flush_ready(Site& site, Clock::time_point retry, const std::string& why);
  void pump(Site& site);
  void wait_and_pump(Site& site, std::chrono::nanoseconds wait);
  std::optional<Pending> take(Site& site, const std::string& key);
  void connection_done(const std::string& site_name, const std::string& source,
                       const std::vector<delivery::DeliveryReport>& reports);
  // Egress: the pool a job leaves through, a path's state and limits now,
  // the source a new connection goes out from, and warm-up caps.
  std::string pool_of(const RemoteJob& job) const;
  detail::Path& path(Site& site, const std::string& source, Clock::time_point now);
  struct Choice {
    std::optional<std::string> source;  // chosen; nullopt: none may now
    std::chrono::nanoseconds wait{0};   // until one may (rates), when that is all that stops them
    bool capped = false;                // every source is at its warm-up cap for today
  };
  Choice choose_source(Site& site, const std::string& pool, Clock::time_point now);
  std::optional<std::uint64_t> warmup_cap(const EgressSource& source, const Site& site) const;
  bool under_cap(const std::string& source, const Site& site);
  void count_sent(const std::string& source, const Site& site);
  const EgressSource* source_named(const std::string& name) const;
  void release(Site& site, const std::string& source);  // a connection ended
  void observe(Site& site, const std::string& reply);
  void apply(Site& site, const shaping::Fired& fired);
  void suspend_site(Site& site, Clock::time_point until, const std::string& reason);
  void recompute_limits(Site& site);
  void prune();
  SiteView view(Site& site, Clock::time_point now);
  bool cancelled(const std::string& queue_id);

  // remote_connections.cpp: a connection and its messages.
  void start(Site& site, const std::string& source, Pending p);
  void resolve_host(const std::shared_ptr<Batch>& batch, const std::string& host, std::uint16_t port);
  // remote_tls.cpp: each endpoint's TLS policy (DANE, MTA-STS, REQUIRETLS).
  using TlsaAnswers = std::map<std::string, dns::TlsaAnswer>;  // by MX host
  void planned(const std::shared_ptr<Batch>& batch, const dns::DeliveryPlan& plan, std::uint16_t port);
  bool dane_applies(const Batch& batch, const dns::DeliveryPlan& plan) const;
  void choose_endpoints(const std::shared_ptr<Batch>& batch, const dns::DeliveryPlan& plan, std::uint16_t port,
                        const TlsaAnswers& answers);
  delivery::HostTls host_tls(const Batch& batch, const std::string& host, const dns::TlsaAnswer* tlsa) const;
  void log_host_tls(const Batch& batch, const std::string& host, const delivery::HostTls& tls) const;
  void send_to_host(const std::shared_ptr<Batch>& batch, std::vector<delivery::Endpoint> endpoints);
  bool sts_allows(const Batch& batch, const std::string& domain, const std::string& mx_host) const;
  delivery::DeliveryOptions delivery_options(const Batch& batch) const;
  void send(const std::shared_ptr<Batch>& batch, std::vector<delivery::Endpoint> endpoints);
  void fail_batch(const std::shared_ptr<Batch>& batch, const JobResult& result);
  std::optional<smtp::OutgoingMessage> outgoing(Pending& p, std::string& error);
  std::optional<smtp::OutgoingMessage> take_more(Batch& batch);
  std::chrono::milliseconds pace(Batch& batch);

  // remote_cluster.cpp: a path's rates and connection limit, local or
  // shared with the cluster.
  std::chrono::nanoseconds message_wait(Site& site, detail::Path& p, Clock::time_point now);
  bool take_message(Site& site, detail::Path& p, Clock::time_point now);
  std::chrono::nanoseconds connection_wait(Site& site, detail::Path& p, Clock::time_point now);
  void take_connection(Site& site, detail::Path& p, Clock::time_point now);
  bool connection_free(Site& site, detail::Path& p, Clock::time_point now);
  void connection_ended(Site& site, detail::Path& p);
  void start_cluster();

  RemoteOptions options;
  spool::Spool& spool;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard;
  dns::UnboundResolver resolver;
  delivery::StsPolicies sts_policies;
  shaping::Automation automation;
  std::map<std::string, detail::DomainInfo> domains;  // by lookup name
  std::map<std::string, std::unique_ptr<Site>> sites;  // by name (stable addresses)
  std::map<std::string, Clock::time_point> cancelled_ids;  // queue IDs, until when
  std::map<std::string, std::pair<Clock::time_point, std::string>> domain_suspensions;  // for a site not known yet
  // Smooth weighted round-robin state per pool: source name -> current weight.
  std::map<std::string, std::map<std::string, long long>> pool_weights;
  // Warm-up: messages sent today (unix day) per (source, provider key).
  std::map<std::pair<std::string, std::string>, std::pair<std::int64_t, std::uint64_t>> sent_today;
  std::mt19937_64 random{std::random_device{}()};
  boost::asio::steady_timer housekeeping;
  std::unique_ptr<cluster::Cluster> cluster;  // with [cluster] redis
  std::thread thread;
};

}  // namespace petrel::queue
