#include "cluster/cluster_status.hpp"

#include <algorithm>
#include <map>
#include <mutex>

namespace petrel::cluster {
namespace {

std::mutex health_mutex;
std::map<std::string, std::function<nlohmann::json()>> health_sources;  // guarded by health_mutex

}  // namespace

nlohmann::json node_rows(std::int64_t redis_now_ms, const std::vector<std::pair<std::string, std::int64_t>>& seen,
                         const std::vector<std::optional<std::string>>& beats, std::string_view self) {
  std::vector<std::pair<std::string, nlohmann::json>> rows;
  for (std::size_t i = 0; i < seen.size() && i < beats.size(); ++i) {
    if (!beats[i]) continue;
    nlohmann::json beat = nlohmann::json::parse(*beats[i], nullptr, false);
    if (!beat.is_object()) beat = nlohmann::json::object();
    rows.emplace_back(seen[i].first, nlohmann::json{{"name", seen[i].first},
                                                    {"age_ms", std::max<std::int64_t>(0, redis_now_ms - seen[i].second)},
                                                    {"self", seen[i].first == self},
                                                    {"heartbeat", std::move(beat)}});
  }
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  nlohmann::json out = nlohmann::json::array();
  for (auto& r : rows) out.push_back(std::move(r.second));
  return out;
}

void set_health_source(const std::string& link, std::function<nlohmann::json()> source) {
  std::lock_guard lock(health_mutex);
  if (source) {
    health_sources[link] = std::move(source);
  } else {
    health_sources.erase(link);
  }
}

nlohmann::json health() {
  std::map<std::string, std::function<nlohmann::json()>> sources;
  {
    std::lock_guard lock(health_mutex);
    sources = health_sources;
  }
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [link, source] : sources) out[link] = source();
  return out;
}

}  // namespace petrel::cluster
