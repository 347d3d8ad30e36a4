#include "cli/events_command.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/admin_client.hpp"
#include "cli/terminal.hpp"

namespace petrel::cli {
namespace {

using nlohmann::json;

struct EventsFlags {
  std::string admin;
  std::string spool = "./var/spool";
  bool json = false;
  std::size_t limit = 100;
};

int failed(const EventsFlags& f) {
  const json reply = admin_ask(f.admin, f.spool, {{"command", "events-failed"}, {"limit", f.limit}});
  const json& batches = reply["failed"];
  if (f.json) {
    for (const auto& b : batches) std::cout << b.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
    return 0;
  }
  Table table({"WEBHOOK", "AT (UTC)", "EVENTS", "STATUS", "REASON", "FIRST EVENT"});
  for (const auto& b : batches) {
    const auto& events = b.value("events", json::array());
    std::string first;
    if (!events.empty() && events[0].is_object()) {
      first = events[0].value("type", "") + " " + events[0].value("event_id", "");
    }
    table.add_row({b.value("webhook", ""), utc_time(b.value("at", std::int64_t{0}), "%Y-%m-%d %H:%M:%S"),
                   std::to_string(events.size()), b.value("status", 0u) ? std::to_string(b.value("status", 0u)) : "-",
                   b.value("reason", ""), first});
  }
  if (table.empty()) {
    std::printf("no failed webhook batches\n");
  } else {
    table.print();
  }
  return 0;
}

}  // namespace

void add_events_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<EventsFlags>();
  auto* events = app.add_subcommand("events", "Events of a running petreld: webhook batches set aside");
  events->require_subcommand(1);
  events->add_option("--admin", flags->admin, "petreld's admin channel (default unix:SPOOL/admin.sock)")
      ->type_name("unix:PATH|ADDR:PORT");
  events->add_option("--spool", flags->spool, "petreld's spool directory (default ./var/spool)")->type_name("DIR");
  events->add_flag("--json", flags->json, "One JSON object per batch, with its events");
  auto* failed_cmd = events->add_subcommand(
      "failed", "Webhook batches set aside: refused with a 4xx (not 408 or 429), or not delivered within max_age");
  failed_cmd->add_option("--limit", flags->limit, "The newest N batches (default 100)");
  failed_cmd->callback([flags, &exit_code] { run_admin_command(exit_code, [&] { return failed(*flags); }); });
}

}  // namespace petrel::cli
