#include "cli/queue_sites.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>

#include "cli/admin_client.hpp"
#include "cli/terminal.hpp"

namespace petrel::cli {
namespace {

using nlohmann::json;

constexpr int kExitOk = 0;

Colour state_colour(const std::string& state) {
  if (state == "active") return Colour::green;
  if (state == "down") return Colour::red;
  return Colour::yellow;
}

// "in 1h 5m" until a unix time, or "until resumed".
std::string remaining(const json& site) {
  if (site.value("state", "") != "suspended") return "";
  if (site["suspended_until"].is_null()) return "until resumed";
  std::tm tm{};
  std::string text = site["suspended_until"].get<std::string>();
  if (!strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm)) return text;
  const long long left = static_cast<long long>(timegm(&tm)) - static_cast<long long>(std::time(nullptr));
  if (left <= 0) return "ending";
  if (left < 120) return "for " + std::to_string(left) + "s";
  if (left < 7200) return "for " + std::to_string(left / 60) + "m";
  return "for " + std::to_string(left / 3600) + "h" + std::to_string(left % 3600 / 60) + "m";
}

std::string domains_of(const json& site) {
  std::string out;
  std::size_t shown = 0;
  for (const auto& d : site["domains"]) {
    if (shown == 3) {
      out += " +" + std::to_string(site["domains"].size() - 3);
      break;
    }
    out += (out.empty() ? "" : ",") + d.get<std::string>();
    ++shown;
  }
  return out;
}

void print_sites(const json& reply) {
  Table table({"SITE", "DOMAINS", "STATE", "QUEUED", "READY", "CONN", "RATE/MIN", "LIMITS", "LAST REPLY"});
  for (const auto& s : reply["sites"]) {
    const std::string state = s.value("state", "");
    const json& limits = s["limits"];
    const std::string limit_text = std::to_string(limits.value("connection_limit", 0)) + " conn, " +
                                   limits.value("max_message_rate", std::string("0")) + " msg";
    std::string reply_text = printable(s.value("last_reply", ""));
    if (display_width(reply_text) > 50) reply_text = reply_text.substr(0, 47) + "...";
    table.add_row({printable(s.value("site", "")), printable(domains_of(s)),
                   paint(state + (state == "suspended" ? " " + remaining(s) : ""), state_colour(state)),
                   std::to_string(s.value("queued", 0)), std::to_string(s.value("ready", 0)),
                   std::to_string(s.value("connections", 0)), std::to_string(s.value("rate", 0)), limit_text,
                   paint(reply_text, Colour::dim)});
  }
  if (table.empty()) {
    std::printf("no sites yet: none of the queued mail has been routed to another server\n");
  } else {
    table.print();
  }
  const json& q = reply["queue"];
  std::printf("%s messages queued, %s being attempted", std::to_string(q.value("messages", 0)).c_str(),
              std::to_string(q.value("active", 0)).c_str());
  if (q.value("spool_errors", 0) > 0) {
    std::printf(", %s: %s (%s)", paint("spool errors", Colour::red).c_str(),
                std::to_string(q.value("spool_errors", 0)).c_str(), printable(q.value("last_spool_error", "")).c_str());
  }
  std::printf("\n");
  for (const auto& s : reply.value("suspensions", json::array())) {
    const bool campaign = s.contains("campaign");
    const std::string name = s.value(campaign ? "campaign" : "tenant", "");
    std::printf("%s %s %s %s\n", paint("suspended", Colour::yellow).c_str(), campaign ? "campaign" : "tenant",
                printable(name).c_str(),
                s["until"].is_null() ? "until resumed" : ("until " + s["until"].get<std::string>()).c_str());
  }
}


struct SiteFlags {
  std::string site;
  std::string domain;
  std::string campaign;
  std::string tenant;
  std::string duration;
};

json target_of(const SiteFlags& f) {
  const int named = !f.site.empty() + !f.domain.empty() + !f.campaign.empty() + !f.tenant.empty();
  if (named != 1) throw std::runtime_error("name one of SITE, --domain D, --campaign C or --tenant T");
  if (!f.domain.empty()) return {{"domain", f.domain}};
  if (!f.campaign.empty()) return {{"campaign", f.campaign}};
  if (!f.tenant.empty()) return {{"tenant", f.tenant}};
  return {{"site", f.site}};
}

// "the site of x.org", "campaign december"...: what the command acted on.
std::string described(const SiteFlags& f) {
  if (!f.domain.empty()) return "the site of " + f.domain;
  if (!f.campaign.empty()) return "campaign " + f.campaign;
  if (!f.tenant.empty()) return "tenant " + f.tenant;
  return f.site;
}

void add_target_options(CLI::App& command, SiteFlags& flags) {
  command.add_option("site", flags.site, "The site, as `petrel queue sites` names it");
  command.add_option("--domain", flags.domain, "The site DOMAIN's mail goes to")->type_name("D");
  command.add_option("--campaign", flags.campaign, "One campaign's mail, wherever it goes")->type_name("C");
  command.add_option("--tenant", flags.tenant, "One tenant's mail, wherever it goes")->type_name("T");
}

}  // namespace

std::optional<long long> parse_for(const std::string& text) {
  if (text.empty()) return std::nullopt;
  long long factor = 1;
  std::string digits = text;
  switch (text.back()) {
    case 's': factor = 1; digits.pop_back(); break;
    case 'm': factor = 60; digits.pop_back(); break;
    case 'h': factor = 3600; digits.pop_back(); break;
    case 'd': factor = 86400; digits.pop_back(); break;
    default: break;
  }
  if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoll(digits) * factor;
}

void add_site_commands(CLI::App& queue, int& exit_code, std::function<json(const json&)> ask,
                       std::function<bool()> json_output) {
  auto* sites = queue.add_subcommand(
      "sites", "Destinations by site (MX set): state, queued, ready, connections, rate, limits, last reply");
  sites->callback([&exit_code, ask, json_output] {
    run_admin_command(exit_code, [&] {
      const json reply = ask({{"command", "sites"}});
      if (json_output()) {
        std::cout << reply["sites"].dump(2) << "\n";
      } else {
        print_sites(reply);
      }
      return kExitOk;
    });
  });

  auto flags = std::make_shared<SiteFlags>();
  auto* suspend =
      queue.add_subcommand("suspend", "Hold back a site's, a campaign's or a tenant's mail (it stays queued)");
  add_target_options(*suspend, *flags);
  suspend->add_option("--for", flags->duration, "How long: 90s, 15m, 2h, 1d (default: until resumed)")
      ->type_name("DURATION");
  suspend->callback([flags, &exit_code, ask] {
    run_admin_command(exit_code, [&] {
      json request = target_of(*flags);
      request["command"] = "suspend";
      if (!flags->duration.empty()) {
        const auto seconds = parse_for(flags->duration);
        if (!seconds || *seconds <= 0) throw std::runtime_error("--for takes a duration such as 90s, 15m, 2h or 1d");
        request["seconds"] = *seconds;
      }
      ask(request);
      std::printf("suspended %s%s\n", described(*flags).c_str(),
                  flags->duration.empty() ? " until resumed" : (" for " + flags->duration).c_str());
      return kExitOk;
    });
  });
  auto* resume = queue.add_subcommand("resume", "Let suspended mail (a site's, a campaign's, a tenant's) go, now");
  add_target_options(*resume, *flags);
  resume->callback([flags, &exit_code, ask] {
    run_admin_command(exit_code, [&] {
      json request = target_of(*flags);
      request["command"] = "resume";
      ask(request);
      std::printf("resumed %s\n", described(*flags).c_str());
      return kExitOk;
    });
  });
}

}  // namespace petrel::cli
