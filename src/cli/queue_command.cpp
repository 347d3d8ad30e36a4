#include "cli/queue_command.hpp"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "cli/admin_client.hpp"
#include "cli/queue_sites.hpp"
#include "cli/terminal.hpp"

namespace petrel::cli {
namespace {

using nlohmann::json;

constexpr int kExitOk = 0;
constexpr int kExitUnknownId = 3;

struct QueueFlags {
  std::string admin;  // "" : unix:SPOOL/admin.sock
  std::string spool = "./var/spool";
  bool json = false;
  std::string id;
  std::vector<std::string> ids;
  std::string domain;
  std::string site;
  std::string campaign;
  std::string tenant;
  std::size_t limit = 0;  // 0: every message, page by page
  std::string duration;   // suspend --for
};


std::string age(std::int64_t since) {
  const std::int64_t s = std::max<std::int64_t>(0, std::time(nullptr) - since);
  if (s < 120) return std::to_string(s) + "s";
  if (s < 7200) return std::to_string(s / 60) + "m";
  if (s < 172800) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

std::string next_attempt(const json& m) {
  if (m.value("held", false)) return "held";
  const std::int64_t at = m.value("next_attempt", std::int64_t{0});
  if (at == 0) return "now";
  const std::int64_t in = at - std::time(nullptr);
  return in <= 0 ? "now" : "in " + age(std::time(nullptr) - in);
}

json ask(const QueueFlags& f, const json& request) { return admin_ask(f.admin, f.spool, request); }

void print_list_header() {
  std::printf("%s\n", paint("QUEUE ID          AGE   SIZE     SENDER / RECIPIENTS                       NEXT", Colour::bold).c_str());
}

void print_list(const json& messages) {
  for (const auto& m : messages) {
    const std::string sender = m.value("sender", "");
    std::printf("%-17s %-5s %-8zu %-41s %s\n", m.value("id", "").c_str(), age(m.value("arrival", 0)).c_str(),
                m.value("size", std::size_t{0}), (sender.empty() ? "<>" : sender).c_str(), next_attempt(m).c_str());
    for (const auto& r : m["recipients"]) {
      const std::string state = r.value("state", "");
      const Colour code = state == "delivered" ? Colour::green : state == "bounced" ? Colour::red : Colour::yellow;
      std::printf("%33s %s  %s\n", "", r.value("address", "").c_str(), paint(state, code).c_str());
    }
    const std::string error = m.value("last_error", "");
    if (!error.empty()) std::printf("%33s %s\n", "", paint("(" + printable(error) + ")", Colour::dim).c_str());
  }
}

// Pages through the queue (petreld never builds the whole of it in one
// reply), printing each page as it comes; --json prints one array.
int list_messages(const QueueFlags& f) {
  constexpr std::size_t kPage = 1000;
  json request = {{"command", "list"}};
  if (!f.domain.empty()) request["domain"] = f.domain;
  if (!f.site.empty()) request["site"] = f.site;
  if (!f.campaign.empty()) request["campaign"] = f.campaign;
  if (!f.tenant.empty()) request["tenant"] = f.tenant;
  std::size_t shown = 0;
  bool first = true;
  if (f.json) std::cout << "[";
  else print_list_header();
  for (;;) {
    const std::size_t want = f.limit == 0 ? kPage : std::min(kPage, f.limit - shown);
    request["limit"] = want;
    const json j = ask(f, request);
    for (const auto& m : j["messages"]) {
      if (f.json) {
        std::cout << (first ? "\n" : ",\n") << m.dump(2);
        first = false;
      }
    }
    if (!f.json) print_list(j["messages"]);
    shown += j["messages"].size();
    if (j["next"].is_null() || (f.limit != 0 && shown >= f.limit)) break;
    request["after"] = j["next"];
  }
  if (f.json) {
    std::cout << (first ? "]" : "\n]") << "\n";
  } else {
    std::printf("%zu message%s%s\n", shown, shown == 1 ? "" : "s", f.limit != 0 && shown >= f.limit ? " (limit reached)" : "");
  }
  return kExitOk;
}

void print_show(const json& m) {
  std::printf("%s %s\n", paint("Queue ID:", Colour::bold).c_str(), m.value("id", "").c_str());
  std::printf("Arrived:      %s ago\nSize:         %zu octets\nSender:       <%s>\nAttempts:     %u\nNext attempt: %s\n",
              age(m.value("arrival", 0)).c_str(), m.value("size", std::size_t{0}), m.value("sender", "").c_str(),
              m.value("attempts", 0u), next_attempt(m).c_str());
  if (!m.value("last_error", "").empty()) std::printf("Last error:   %s\n", printable(m.value("last_error", "")).c_str());
  if (m.contains("campaign") && m["campaign"].is_string()) {
    std::printf("Campaign:     %s\n", printable(m["campaign"].get<std::string>()).c_str());
  }
  if (m.contains("tenant") && m["tenant"].is_string()) {
    std::printf("Tenant:       %s\n", printable(m["tenant"].get<std::string>()).c_str());
  }
  std::printf("Recipients:\n");
  for (const auto& r : m["recipients"]) {
    std::printf("  %-40s %s\n", r.value("address", "").c_str(), r.value("state", "").c_str());
  }
  if (m.contains("headers")) std::printf("\n%s", m.value("headers", "").c_str());
}

int per_id(const QueueFlags& f, const std::string& command, const char* verb) {
  const json j = ask(f, {{"command", command}, {"ids", f.ids}});
  if (f.json) {
    std::cout << j.dump(2) << "\n";
  } else {
    std::set<std::string> in_flight;
    for (const auto& id : j.value("in_flight", json::array())) in_flight.insert(id.get<std::string>());
    for (const auto& id : j["done"]) {
      const std::string text = id.get<std::string>();
      std::printf("%s: %s%s\n", text.c_str(), verb,
                  in_flight.count(text) ? " (being delivered now: takes effect when this attempt ends)" : "");
    }
    for (const auto& id : j["unknown"]) std::fprintf(stderr, "%s: not in the queue\n", id.get<std::string>().c_str());
  }
  return j["unknown"].empty() ? kExitOk : kExitUnknownId;
}

// Runs `body`, turning failures into a message and exit status 1.

}  // namespace

void add_queue_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<QueueFlags>();
  CLI::App* queue = app.add_subcommand("queue", "Look at and control the queue of a running petreld");
  queue->require_subcommand(1);
  queue->add_option("--admin", flags->admin, "petreld's admin channel (default unix:SPOOL/admin.sock)")
      ->type_name("unix:PATH|ADDR:PORT");
  queue->add_option("--spool", flags->spool, "petreld's spool directory (default ./var/spool)")->type_name("DIR");
  queue->add_flag("--json", flags->json, "Machine-readable output (docs/admin.md)");

  auto* list = queue->add_subcommand("list", "Queued messages: ID, age, size, sender, recipients, next attempt");
  list->add_option("--domain", flags->domain, "Only messages with a pending recipient in DOMAIN")->type_name("DOMAIN");
  list->add_option("--site", flags->site, "Only messages for this site (see `petrel queue sites`)")->type_name("SITE");
  list->add_option("--campaign", flags->campaign, "Only this campaign's messages")->type_name("C");
  list->add_option("--tenant", flags->tenant, "Only this tenant's messages")->type_name("T");
  list->add_option("--limit", flags->limit, "At most N messages (default: all, fetched 1000 at a time)")
      ->type_name("N")
      ->check(CLI::PositiveNumber);
  list->callback([flags, &exit_code] { run_admin_command(exit_code, [&] { return list_messages(*flags); }); });
  auto* show = queue->add_subcommand("show", "One message: envelope, state of each recipient, headers");
  show->add_option("id", flags->id, "Queue ID")->required();
  show->callback([flags, &exit_code] {
    run_admin_command(exit_code, [&] {
      const json j = ask(*flags, {{"command", "show"}, {"id", flags->id}});
      if (flags->json) {
        std::cout << j["message"].dump(2) << "\n";
      } else {
        print_show(j["message"]);
      }
      return kExitOk;
    });
  });
  auto* flush = queue->add_subcommand("flush", "Retry now what waits (for one domain, or all)");
  flush->add_option("domain", flags->domain, "Only messages with a pending recipient in DOMAIN");
  flush->callback([flags, &exit_code] {
    run_admin_command(exit_code, [&] {
      const json j = ask(*flags, {{"command", "flush"}, {"domain", flags->domain}});
      if (flags->json) {
        std::cout << j.dump(2) << "\n";
      } else {
        std::printf("%zu message(s) to be tried now\n", j.value("flushed", std::size_t{0}));
      }
      return kExitOk;
    });
  });
  struct PerId {
    const char* name;
    const char* help;
    const char* verb;
  };
  for (const PerId& p : {PerId{"hold", "Keep messages from being delivered", "held"},
                         PerId{"release", "Let held messages go, now", "released"},
                         PerId{"delete", "Delete messages from the queue (no bounce)", "deleted"}}) {
    auto* sub = queue->add_subcommand(p.name, p.help);
    sub->add_option("ids", flags->ids, "Queue IDs")->required();
    const std::string name = p.name;
    const char* verb = p.verb;
    sub->callback([flags, &exit_code, name, verb] { run_admin_command(exit_code, [&] { return per_id(*flags, name, verb); }); });
  }
  add_site_commands(*queue, exit_code, [flags](const json& request) { return ask(*flags, request); },
                    [flags] { return flags->json; });
}

}  // namespace petrel::cli
