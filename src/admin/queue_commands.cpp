#include "admin/queue_commands.hpp"

#include <nlohmann/json.hpp>

#include "delivery/queue_manager.hpp"
#include "spool/spool.hpp"

namespace petrel::admin {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxHeaderBytes = 64 * 1024;

json to_json(const delivery::QueueEntry& e) {
  json recipients = json::array();
  for (const auto& r : e.recipients) recipients.push_back({{"address", r.address}, {"state", r.state}});
  return {{"id", e.id},
          {"arrival", e.arrival_unix_seconds},
          {"size", e.size},
          {"sender", e.sender},
          {"recipients", recipients},
          {"attempts", e.attempts},
          {"next_attempt", e.next_attempt_unix_seconds},
          {"last_error", e.last_error},
          {"held", e.held}};
}

json error(const std::string& text) { return {{"ok", false}, {"error", text}}; }

// The header section of a message (up to the first empty line).
std::string headers_of(const std::string& content) {
  auto end = content.find("\r\n\r\n");
  end = end == std::string::npos ? content.size() : end + 2;
  return content.substr(0, std::min(end, kMaxHeaderBytes));
}

json show(const json& request, delivery::QueueManager& queue, spool::Spool& spool) {
  const std::string id = request.value("id", "");
  auto entry = queue.find(id);
  if (!entry) return error("no message " + id + " in the queue");
  json out = to_json(*entry);
  if (auto content = spool.load_content(spool::QueueId{id})) {
    out["size"] = content->size();
    out["headers"] = headers_of(*content);
  }
  return {{"ok", true}, {"message", out}};
}

json for_each_id(const json& request, bool (delivery::QueueManager::*action)(std::string_view),
                 delivery::QueueManager& queue) {
  if (!request.contains("ids") || !request["ids"].is_array()) return error("\"ids\" must be an array of queue IDs");
  json done = json::array(), unknown = json::array();
  for (const auto& id : request["ids"]) {
    if (!id.is_string()) return error("\"ids\" must be an array of queue IDs");
    const std::string text = id.get<std::string>();
    ((queue.*action)(text) ? done : unknown).push_back(text);
  }
  return {{"ok", true}, {"done", done}, {"unknown", unknown}};
}

json dispatch(const json& request, delivery::QueueManager& queue, spool::Spool& spool) {
  if (!request.is_object() || !request.contains("command") || !request["command"].is_string()) {
    return error("a request is a JSON object with a \"command\"");
  }
  const std::string command = request["command"].get<std::string>();
  if (command == "list") {
    json messages = json::array();
    for (const auto& e : queue.list()) messages.push_back(to_json(e));
    return {{"ok", true}, {"messages", messages}};
  }
  if (command == "show") return show(request, queue, spool);
  if (command == "flush") return {{"ok", true}, {"flushed", queue.flush(request.value("domain", ""))}};
  if (command == "hold") return for_each_id(request, &delivery::QueueManager::hold, queue);
  if (command == "release") return for_each_id(request, &delivery::QueueManager::release, queue);
  if (command == "delete") return for_each_id(request, &delivery::QueueManager::remove, queue);
  return error("unknown command \"" + command + "\" (list, show, flush, hold, release, delete)");
}

}  // namespace

std::string handle_request(std::string_view line, delivery::QueueManager& queue, spool::Spool& spool) {
  json reply;
  try {
    reply = dispatch(json::parse(line), queue, spool);
  } catch (const json::exception& e) {
    reply = error(std::string("bad request: ") + e.what());
  }
  // Message IDs and addresses may hold any octet: replace what is not UTF-8.
  return reply.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace petrel::admin
