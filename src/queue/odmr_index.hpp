// Which queued messages wait for each ODMR domain (RFC 2645), so that an
// ATRN claim reads the envelopes of its own domains' messages and nothing
// else: IDs only, like the schedule's entries, one per message and ODMR
// domain with a pending recipient. The queue manager keeps it beside its
// per-domain counts: built by the start-up scan, added to on submission,
// taken from when a domain's recipients are settled (delivered, bounced,
// expired) or the message is deleted. A message held by an operator is
// out of it until released. One claimed by a session stays in it, passed
// by; one that has moved on meanwhile is read again by the claim and
// passed by. Not thread-safe: the queue manager's mutex guards it.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace petrel::queue {

class OdmrIndex {
 public:
  // `domain`: A-label, lower case, as detail::pending_domains gives it.
  void add(const std::string& domain, std::string_view id);
  void remove(const std::string& domain, std::string_view id);

  // Up to `max` IDs with a pending recipient in one of `domains`, each
  // once, in queue-ID order within a domain, the domains in the order
  // given; those `skip` says are passed by (a session's claims).
  using Skip = std::function<bool(const std::string& id)>;
  std::vector<std::string> candidates(const std::vector<std::string>& domains, std::size_t max,
                                      const Skip& skip = {}) const;

  std::size_t entries() const { return entries_; }  // (domain, ID) pairs
  std::size_t count(const std::string& domain) const;

 private:
  std::map<std::string, std::set<std::string>, std::less<>> ids_;
  std::size_t entries_ = 0;
};

}  // namespace petrel::queue
