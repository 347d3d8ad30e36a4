#include "admin/cluster_commands.hpp"

#include <mutex>
#include <string>

namespace petrel::admin {
namespace {

std::mutex status_mutex;
ClusterStatus status_source;  // guarded by status_mutex

}  // namespace

void set_cluster_status(ClusterStatus status) {
  std::lock_guard lock(status_mutex);
  status_source = std::move(status);
}

std::optional<nlohmann::json> handle_cluster(const nlohmann::json& request) {
  const std::string command = request.value("command", "");
  if (!command.starts_with("cluster-")) return std::nullopt;
  if (command != "cluster-status") {
    return nlohmann::json{{"ok", false}, {"error", "unknown command \"" + command + "\" (cluster-status)"}};
  }
  ClusterStatus source;
  {
    std::lock_guard lock(status_mutex);
    source = status_source;
  }
  if (!source) return nlohmann::json{{"ok", true}, {"cluster", false}};
  return source();
}

}  // namespace petrel::admin
