// The automation: the rules of [[shaping.rule]] applied to the replies a
// site gives.
#include <algorithm>

#include "shaping/host_name.hpp"
#include "shaping/shaping.hpp"

namespace petrel::shaping {
namespace {

bool in_scope(const Rule& rule, std::string_view provider, const std::vector<std::string>& domains) {
  switch (rule.scope) {
    case Rule::Scope::every_site:
      return true;
    case Rule::Scope::provider:
      return !provider.empty() && provider == rule.target;
    case Rule::Scope::domain:
      return std::any_of(domains.begin(), domains.end(),
                         [&](const std::string& domain) { return detail::normalize_host(domain) == rule.target; });
  }
  return false;
}

bool matches(const Rule& rule, std::string_view reply) {
  return std::regex_search(reply.begin(), reply.end(), rule.regex);
}

// Drops the matches that are `period` or more before `now`.
void forget_older(std::deque<Clock::time_point>& times, std::chrono::milliseconds period, Clock::time_point now) {
  while (!times.empty() && now - times.front() >= period) times.pop_front();
}

}  // namespace

std::vector<Fired> Automation::observe(std::string_view site, std::string_view provider,
                                       const std::vector<std::string>& domains, std::string_view reply,
                                       Clock::time_point now) {
  std::vector<Fired> fired;
  for (std::size_t i = 0; i < config_.rules.size(); ++i) {
    const Rule& rule = config_.rules[i];
    if (!in_scope(rule, provider, domains) || !matches(rule, reply)) continue;
    if (rule.trigger.unlimited()) {
      fired.push_back({&rule, now + rule.duration});
      continue;
    }
    auto [entry, added] = matches_.try_emplace({i, std::string(site)});
    std::deque<Clock::time_point>& times = entry->second;
    forget_older(times, rule.trigger.period, now);
    times.push_back(now);
    if (times.size() >= rule.trigger.count) {
      // Fired: the count starts again, so the next match does not fire too.
      fired.push_back({&rule, now + rule.duration});
      matches_.erase(entry);
    } else if (added && matches_.size() >= sweep_at_) {
      sweep(now);
    }
  }
  return fired;
}

// Forgets the (rule, site) pairs whose matches have all aged out, so that
// memory follows the sites that matched lately, not every site ever seen.
// Run when the map has doubled since the last sweep: amortized O(1).
void Automation::sweep(Clock::time_point now) {
  for (auto entry = matches_.begin(); entry != matches_.end();) {
    forget_older(entry->second, config_.rules[entry->first.first].trigger.period, now);
    entry = entry->second.empty() ? matches_.erase(entry) : std::next(entry);
  }
  sweep_at_ = std::max<std::size_t>(kMinSweep, 2 * matches_.size());
}

}  // namespace petrel::shaping
