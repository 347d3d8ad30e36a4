// Traffic shaping, the pure part: rates and their throttle (GCRA), the
// limits a site gets from [shaping] (default < provider < domain < source),
// the site a set of MX hosts makes up, the health of a site (down after
// connection failures, with a growing back-off), and the automation rules
// that react to the replies a site gives. No clock, no sockets, no
// randomness: time and jitter are passed in, so all of it is unit-tested.
// The queue (src/queue/) applies it; config (src/config/) reads it.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace petrel::shaping {

using Clock = std::chrono::steady_clock;

// "N/s", "N/sec", "N/second", "N/m", "N/min", "N/minute", "N/h", "N/hr",
// "N/hour", "N/d", "N/day"; digits may be grouped with ',' or '_'
// ("1,000/h"); "0" (or "0/s") is unlimited.
struct Rate {
  std::uint64_t count = 0;                  // 0: unlimited
  std::chrono::milliseconds period{1000};
  bool unlimited() const { return count == 0; }
  bool operator==(const Rate&) const = default;
};
std::optional<Rate> parse_rate(std::string_view text);
std::string to_string(const Rate& rate);  // "500/min", "0"

// A throttle by GCRA (the generic cell rate algorithm): cells are spaced
// period/count apart, with a burst of `burst` cells (at least 1).
class Throttle {
 public:
  Throttle() = default;  // unlimited
  explicit Throttle(Rate rate, std::uint64_t burst = 1);
  // Takes a cell if one may pass at `now` (returns 0); otherwise takes
  // nothing and returns how long until one may.
  std::chrono::nanoseconds acquire(Clock::time_point now);
  std::chrono::nanoseconds wait(Clock::time_point now) const;  // 0: one may pass now
  const Rate& rate() const { return rate_; }

 private:
  Rate rate_;
  std::chrono::nanoseconds interval_{0};
  std::chrono::nanoseconds tolerance_{0};
  Clock::time_point theoretical_arrival_{};
};

// Which limits are shared by every node of a cluster (scope = "cluster"
// in the block that set them, docs/cluster.md) rather than kept by each
// node for itself. The scope goes with the value: a later level that sets
// a limit brings its own scope.
struct ClusterScope {
  bool connection_limit = false;
  bool max_connection_rate = false;
  bool max_message_rate = false;
  bool operator==(const ClusterScope&) const = default;
};

// Limits as one level of [shaping] sets them: nullopt is "not set here".
struct Limits {
  std::optional<std::size_t> connection_limit;
  std::optional<Rate> max_connection_rate;
  std::optional<std::size_t> max_deliveries_per_connection;
  std::optional<Rate> max_message_rate;
  ClusterScope cluster;  // of the keys set here (a block's scope = "cluster" sets all three)
  // Later levels win, key by key; each key keeps the scope of its level.
  void overlay(const Limits& over);
  bool operator==(const Limits&) const = default;
};

// What a site ends up with.
struct EffectiveLimits {
  std::size_t connection_limit = 20;
  Rate max_connection_rate;  // unlimited
  std::size_t max_deliveries_per_connection = 100;
  Rate max_message_rate;  // unlimited
  ClusterScope cluster;   // the limits above that the cluster shares
  bool operator==(const EffectiveLimits&) const = default;
};
EffectiveLimits apply(EffectiveLimits base, const Limits& over);

struct Provider {
  std::string name;
  std::vector<std::string> mx_suffix;  // lower-case, e.g. ".yahoodns.net"
  Limits limits;
};

// [[shaping.rule]]: what to do when a site's reply matches.
struct Rule {
  enum class Scope { every_site, provider, domain };
  enum class Action { suspend, set };
  Scope scope = Scope::every_site;
  std::string target;   // the provider's name or the domain (A-label, lower-case)
  std::string pattern;  // as written
  std::regex regex;     // ECMAScript, over "code enhanced-code text"
  Action action = Action::suspend;
  Limits set;           // Action::set
  std::chrono::milliseconds duration{0};
  Rate trigger;         // unlimited (count 0): every match fires; else N matches within the period
  std::string origin;   // "FILE:LINE", for the log
};

struct Config {
  Limits defaults;                          // [shaping.default]
  std::map<std::string, Limits> domains;    // [shaping.domain."D"], A-label, lower-case
  std::vector<Provider> providers;          // [shaping.provider.NAME], in file order
  std::map<std::string, Limits> sources;    // [shaping.source."NAME"]
  std::vector<Rule> rules;                  // [[shaping.rule]], in file order
};

// The provider whose suffixes every one of the MX hosts ends with (the
// first such in file order), or null.
const Provider* provider_of(const Config& config, const std::vector<std::string>& mx_hosts);

// A site's limits: built-in defaults < [shaping.default] < its provider <
// the domain blocks of the domains known to make up the site (in name
// order) < the source's block (when the connection goes out from one).
EffectiveLimits limits_for(const Config& config, const Provider* provider, const std::vector<std::string>& site_domains,
                           std::string_view source = {});

// The name of the site a set of MX hosts makes up (KumoMTA's "MX rollup"):
// the same set, in any order or case, gives the same name. Readable: hosts
// that differ only in their first label are folded,
// "(alt1|alt2|alt3|alt4)?.gmail-smtp-in.l.google.com" style is fine.
std::string site_name(const std::vector<std::string>& mx_hosts);

// The health of a site: after `failures_before_down` connection failures
// in a row (refused, timed out, closed or silent before the greeting) it
// is down for a back-off that doubles while it stays down (up to
// max_backoff); when the period ends one probe connection is allowed,
// whose success brings the site back up.
struct HealthOptions {
  std::size_t failures_before_down = 3;
  std::chrono::milliseconds initial_backoff{std::chrono::minutes(1)};
  std::chrono::milliseconds max_backoff{std::chrono::hours(1)};
  double jitter = 0.2;  // the back-off is stretched by up to this fraction
};

class SiteHealth {
 public:
  enum class State { up, down, probing };
  explicit SiteHealth(HealthOptions options = {}) : options_(options) {}
  // jitter01: a random number in [0, 1), from the caller.
  void connection_failed(Clock::time_point now, double jitter01);
  void connection_succeeded();
  // Whether a new connection may start now with `active` connections open.
  bool may_connect(Clock::time_point now, std::size_t active);
  State state(Clock::time_point now) const;
  Clock::time_point down_until() const { return down_until_; }
  std::size_t consecutive_failures() const { return failures_; }

 private:
  HealthOptions options_;
  std::size_t failures_ = 0;
  std::chrono::milliseconds backoff_{0};
  Clock::time_point down_until_{};
  bool down_ = false;
  bool probe_out_ = false;
};

// The automation: every reply a site gives goes through observe(); a rule
// that matches (and whose trigger threshold is reached) fires.
struct Fired {
  const Rule* rule = nullptr;
  Clock::time_point until;  // now + the rule's duration
};

class Automation {
 public:
  explicit Automation(const Config& config) : config_(config) {}
  // reply: "421 4.7.0 [TSS04] Messages temporarily deferred". provider: the
  // site's provider name or "". domains: the domains known to make up the site.
  std::vector<Fired> observe(std::string_view site, std::string_view provider, const std::vector<std::string>& domains,
                             std::string_view reply, Clock::time_point now);
  // The (rule, site) pairs whose threshold count is held in memory.
  std::size_t open_windows() const { return matches_.size(); }

 private:
  void sweep(Clock::time_point now);

  const Config& config_;
  // Recent matches per (rule index, site), for thresholds; bounded by the
  // rule's trigger count. Entries whose matches have aged out are swept
  // when the map has doubled since the last sweep.
  std::map<std::pair<std::size_t, std::string>, std::deque<Clock::time_point>> matches_;
  static constexpr std::size_t kMinSweep = 64;
  std::size_t sweep_at_ = kMinSweep;
};

}  // namespace petrel::shaping
