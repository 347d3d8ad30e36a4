#include "queue/odmr_index.hpp"

#include <unordered_set>

namespace petrel::queue {

void OdmrIndex::add(const std::string& domain, std::string_view id) {
  if (ids_[domain].emplace(id).second) ++entries_;
}

void OdmrIndex::remove(const std::string& domain, std::string_view id) {
  const auto d = ids_.find(domain);
  if (d == ids_.end()) return;
  if (const auto i = d->second.find(std::string(id)); i != d->second.end()) {
    d->second.erase(i);
    --entries_;
  }
  if (d->second.empty()) ids_.erase(d);
}

std::vector<std::string> OdmrIndex::candidates(const std::vector<std::string>& domains, std::size_t max,
                                               const Skip& skip) const {
  std::vector<std::string> out;
  std::unordered_set<std::string_view> seen;  // a message held for two of the domains comes once
  for (const auto& domain : domains) {
    const auto d = ids_.find(domain);
    if (d == ids_.end()) continue;
    for (const auto& id : d->second) {
      if (out.size() >= max) return out;
      if (!seen.insert(id).second || (skip && skip(id))) continue;
      out.push_back(id);
    }
  }
  return out;
}

std::size_t OdmrIndex::count(const std::string& domain) const {
  const auto d = ids_.find(domain);
  return d == ids_.end() ? 0 : d->second.size();
}

}  // namespace petrel::queue
