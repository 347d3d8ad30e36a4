#include "cli/cluster_command.hpp"

#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>

#include "cli/admin_client.hpp"
#include "cli/terminal.hpp"

namespace petrel::cli {
namespace {

using nlohmann::json;

struct ClusterFlags {
  std::string admin;  // "" : unix:SPOOL/admin.sock
  std::string spool = "./var/spool";
  bool json = false;
};

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, s < 10 ? "%.1fs" : "%.0fs", s);
  return buf;
}

// "up" in green, anything else in red, with what it says after.
std::string state(bool up, const std::string& text, std::FILE* out) {
  return paint(text, up ? Colour::green : Colour::red, out);
}

std::string redis_line(const json& redis, std::FILE* out) {
  const bool up = redis.value("connected", false);
  std::string line = printable(redis.value("url", "")) + " " + state(up, up ? "connected" : "unreachable", out);
  if (!up && redis.contains("error")) line += " (" + printable(redis.value("error", "")) + ")";
  return line;
}

std::string suppression_line(const json& s, std::FILE* out) {
  const std::string st = s.value("state", "off");
  if (st == "off") return "off (this node's list is its own)";
  std::string line = state(st == "following", st, out);
  line += ", " + std::to_string(s.value("pending", std::size_t{0})) + " change(s) waiting to be written";
  if (st == "following") line += ", lag " + seconds(s.value("lag_seconds", 0.0));
  if (const std::string e = s.value("last_error", ""); !e.empty()) line += " (" + printable(e) + ")";
  return line;
}

std::string link_line(const json& link, std::FILE* out) {
  const bool up = link.value("connected", false);
  std::string line = printable(link.value("url", "")) + " " + state(up, up ? "connected" : "unreachable", out);
  if (const std::string d = link.value("detail", ""); !d.empty()) line += " (" + printable(d) + ")";
  return line;
}

// A node's shares of the cluster's limits, as its heartbeat carries them:
// "SITE[/SOURCE] KIND SHARE of LIMIT", the share being what the node keeps
// to itself while Redis is away (the whole limit is shared while it answers).
std::string limits_cell(const json& beat) {
  const auto it = beat.find("limits");
  if (it == beat.end() || !it->is_array() || it->empty()) return "-";
  std::string out;
  for (const auto& l : *it) {
    if (!out.empty()) out += ", ";
    out += printable(l.value("site", "?"));
    if (l.contains("source")) out += "/" + printable(l.value("source", ""));
    out += " " + printable(l.value("kind", "")) + " " + printable(l.value("share", "")) + " of " +
           printable(l.value("limit", ""));
  }
  return out;
}

int status(const ClusterFlags& f) {
  const json reply = admin_ask(f.admin, f.spool, {{"command", "cluster-status"}});
  if (f.json) {
    std::cout << reply.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    return 0;
  }
  print_cluster_status(reply, stdout);
  return 0;
}

}  // namespace

void print_cluster_status(const json& s, std::FILE* out) {
  if (!s.value("cluster", false)) {
    std::fprintf(out, "not in a cluster (petreld has no [cluster] section with redis or nats)\n");
    return;
  }
  std::fprintf(out, "%s %s\n", paint("node", Colour::bold, out).c_str(), printable(s.value("node", "")).c_str());
  if (s.contains("redis")) {
    const json& redis = s["redis"];
    std::fprintf(out, "%s %s\n", paint("redis", Colour::bold, out).c_str(), redis_line(redis, out).c_str());
    std::fprintf(out, "%s %s\n", paint("shared suppression list", Colour::bold, out).c_str(),
                 suppression_line(redis.value("suppression", json::object()), out).c_str());
  } else {
    std::fprintf(out, "%s not configured\n", paint("redis", Colour::bold, out).c_str());
  }
  const json links = s.value("links", json::object());
  if (const auto nats = links.find("nats"); nats != links.end()) {
    std::fprintf(out, "%s %s\n", paint("nats", Colour::bold, out).c_str(), link_line(*nats, out).c_str());
  } else {
    std::fprintf(out, "%s not configured\n", paint("nats", Colour::bold, out).c_str());
  }
  for (const auto& [name, link] : links.items()) {
    if (name == "nats") continue;
    std::fprintf(out, "%s %s\n", paint(printable(name), Colour::bold, out).c_str(), link_line(link, out).c_str());
  }
  if (!s.contains("nodes")) {
    std::fprintf(out, s.contains("redis") ? "\nnodes: unknown while Redis does not answer\n"
                                          : "\nnodes: known only through Redis (their heartbeats); set [cluster] redis\n");
    return;
  }
  std::fprintf(out, "\n");
  Table table({"NODE", "HEARTBEAT", "QUEUE", "LIMITS", "SHARE OF EACH CLUSTER LIMIT", "VERSION"});
  for (const auto& n : s["nodes"]) {
    const json beat = n.value("heartbeat", json::object());
    std::string name = printable(n.value("name", ""));
    if (n.value("self", false)) name += " *";
    const double age = static_cast<double>(n.value("age_ms", std::int64_t{0})) / 1000.0;
    const bool fallback = beat.value("fallback", false);
    const std::string queue = beat.contains("queue") && beat["queue"].is_number() ? beat["queue"].dump() : "-";
    table.add_row({paint(name, Colour::bold, out), paint(seconds(age) + " ago", age < 5 ? Colour::none : Colour::yellow, out),
                   queue, fallback ? paint("local share", Colour::yellow, out) : paint("shared", Colour::green, out),
                   limits_cell(beat), printable(beat.value("version", ""))});
  }
  table.print(out);
  const std::size_t count = s["nodes"].size();
  std::fprintf(out, "%zu node%s alive (* this one)\n", count, count == 1 ? "" : "s");
}

void add_cluster_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<ClusterFlags>();
  auto* cluster = app.add_subcommand("cluster", "The cluster a running petreld is part of");
  cluster->require_subcommand(1);
  cluster->add_option("--admin", flags->admin, "petreld's admin channel (default unix:SPOOL/admin.sock)")
      ->type_name("unix:PATH|ADDR:PORT");
  cluster->add_option("--spool", flags->spool, "petreld's spool directory (default ./var/spool)")->type_name("DIR");
  cluster->add_flag("--json", flags->json, "The reply as JSON");
  auto* status_cmd = cluster->add_subcommand(
      "status", "Each node: last heartbeat, queue size, its share of each cluster limit; Redis and NATS health");
  status_cmd->add_flag("--json", flags->json, "The reply as JSON");
  status_cmd->callback([flags, &exit_code] { run_admin_command(exit_code, [&] { return status(*flags); }); });
}

}  // namespace petrel::cli
