#include "cli/suppress_command.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/admin_client.hpp"
#include "cli/terminal.hpp"

namespace petrel::cli {
namespace {

using nlohmann::json;

constexpr int kExitOk = 0;
constexpr std::size_t kBatch = 1000;  // addresses per admin request when importing

struct SuppressFlags {
  std::string admin;
  std::string spool = "./var/spool";
  bool json = false;
  std::string tenant;
  bool tenant_given = false;
  std::vector<std::string> addresses;
  std::string reason = "manual";
  std::string detail;
  std::string file;
};

json ask(const SuppressFlags& f, const json& request) { return admin_ask(f.admin, f.spool, request); }

std::string when(std::int64_t at) {
  char buf[32];
  const std::time_t t = at;
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

// Every entry (of one tenant, or of all), page by page: memory holds one page.
void for_each_entry(const SuppressFlags& f, const std::function<void(const json&)>& visit) {
  std::string after;
  for (;;) {
    json request = {{"command", "suppress-list"}, {"limit", 1000}, {"after", after}};
    if (f.tenant_given) request["tenant"] = f.tenant;
    const json page = ask(f, request);
    for (const auto& e : page["suppressions"]) visit(e);
    if (!page.contains("next")) return;
    after = page["next"].get<std::string>();
  }
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

int list(const SuppressFlags& f, bool as_csv) {
  if (as_csv) std::printf("address,tenant,reason,campaign,detail,at\n");
  Table table({"ADDRESS", "TENANT", "REASON", "CAMPAIGN", "SINCE", "DETAIL"});
  std::size_t count = 0;
  for_each_entry(f, [&](const json& e) {
    ++count;
    if (f.json) {
      std::cout << e.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
    } else if (as_csv) {
      std::printf("%s,%s,%s,%s,%s,%lld\n", csv_field(e.value("address", "")).c_str(), csv_field(e.value("tenant", "")).c_str(),
                  e.value("reason", "").c_str(), csv_field(e.value("campaign", "")).c_str(),
                  csv_field(e.value("detail", "")).c_str(), static_cast<long long>(e.value("at", std::int64_t{0})));
    } else {
      std::string detail = printable(e.value("detail", ""));
      if (display_width(detail) > 40) detail = detail.substr(0, 37) + "...";
      table.add_row({printable(e.value("address", "")), printable(e.value("tenant", "")).empty() ? "(all)" : printable(e.value("tenant", "")),
                     e.value("reason", ""), printable(e.value("campaign", "")), when(e.value("at", std::int64_t{0})),
                     paint(detail, Colour::dim)});
    }
  });
  if (!f.json && !as_csv) {
    if (!table.empty()) table.print();
    std::printf("%zu suppressed\n", count);
  }
  return kExitOk;
}

int change(const SuppressFlags& f, const std::vector<std::string>& addresses, bool add) {
  std::size_t done = 0;
  for (std::size_t i = 0; i < addresses.size(); i += kBatch) {
    json request = {{"command", add ? "suppress-add" : "suppress-remove"},
                    {"tenant", f.tenant},
                    {"addresses", std::vector<std::string>(addresses.begin() + i,
                                                           addresses.begin() + std::min(addresses.size(), i + kBatch))}};
    if (add) {
      request["reason"] = f.reason;
      if (!f.detail.empty()) request["detail"] = f.detail;
    }
    done += ask(f, request).value(add ? "added" : "removed", std::size_t{0});
  }
  std::printf("%s %zu address%s%s\n", add ? "suppressed" : "removed", done, done == 1 ? "" : "es",
              f.tenant.empty() ? " (all tenants)" : (" for tenant " + f.tenant).c_str());
  return kExitOk;
}

// One address per line, or a CSV whose header has an "email" or "address"
// column; blank lines and # comments are skipped.
std::vector<std::string> read_addresses(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<std::string> out;
  std::string line;
  std::size_t number = 0;
  long column = -1;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.front() == '#') continue;
    if (number == 1 && line.find(',') != std::string::npos) {
      std::size_t at = 0;
      long index = 0;
      for (std::size_t next; at <= line.size(); at = next + 1, ++index) {
        next = line.find(',', at);
        if (next == std::string::npos) next = line.size();
        const std::string name = line.substr(at, next - at);
        if (name == "email" || name == "address") column = index;
      }
      if (column < 0) throw std::runtime_error(path + ":1: a CSV needs an \"email\" or \"address\" column");
      continue;
    }
    std::string address = line;
    if (column >= 0) {
      std::size_t at = 0;
      for (long i = 0; i < column && at != std::string::npos; ++i) at = line.find(',', at) + 1;
      address = at == 0 || at > line.size() ? "" : line.substr(at, line.find(',', at) - at);
    }
    if (address.find('@') == std::string::npos) {
      std::string message = path;
      message += ':';
      message += std::to_string(number);
      message += ": '";
      message += address;
      message += "' is not an address";
      throw std::runtime_error(message);
    }
    out.push_back(address);
  }
  return out;
}

void add_common(CLI::App* sub, SuppressFlags& f) {
  sub->add_option("--tenant", f.tenant, "The tenant's list (default: the global list, which covers every tenant)")
      ->type_name("T")
      ->each([&f](const std::string&) { f.tenant_given = true; });
}

}  // namespace

void add_suppress_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<SuppressFlags>();
  auto* suppress = app.add_subcommand("suppress", "The suppression list: addresses bulk mail is no longer sent to");
  suppress->require_subcommand(1);
  suppress->add_option("--admin", flags->admin, "petreld's admin channel (default unix:SPOOL/admin.sock)")
      ->type_name("unix:PATH|ADDR:PORT");
  suppress->add_option("--spool", flags->spool, "petreld's spool directory (default ./var/spool)")->type_name("DIR");
  suppress->add_flag("--json", flags->json, "One JSON object per entry");

  auto* list_cmd = suppress->add_subcommand("list", "Entries (of one tenant with --tenant, else of all)");
  add_common(list_cmd, *flags);
  list_cmd->callback([flags, &exit_code] { run_admin_command(exit_code, [&] { return list(*flags, false); }); });

  auto* export_cmd = suppress->add_subcommand("export", "Entries as CSV: address,tenant,reason,campaign,detail,at");
  add_common(export_cmd, *flags);
  export_cmd->callback([flags, &exit_code] { run_admin_command(exit_code, [&] { return list(*flags, true); }); });

  auto* add = suppress->add_subcommand("add", "Suppress addresses");
  add->add_option("addresses", flags->addresses, "Addresses")->required();
  add_common(add, *flags);
  add->add_option("--reason", flags->reason, "unsubscribe, hard_bounce, complaint or manual (default)");
  add->add_option("--detail", flags->detail, "A note kept with the entry");
  add->callback([flags, &exit_code] { run_admin_command(exit_code, [&] { return change(*flags, flags->addresses, true); }); });

  auto* remove = suppress->add_subcommand("remove", "Take addresses off the list");
  remove->add_option("addresses", flags->addresses, "Addresses")->required();
  add_common(remove, *flags);
  remove->callback(
      [flags, &exit_code] { run_admin_command(exit_code, [&] { return change(*flags, flags->addresses, false); }); });

  auto* import = suppress->add_subcommand("import", "Suppress every address of a file (one per line, or a CSV with an email column)");
  import->add_option("file", flags->file, "The file")->required();
  add_common(import, *flags);
  import->add_option("--reason", flags->reason, "unsubscribe, hard_bounce, complaint or manual (default)");
  import->callback([flags, &exit_code] {
    run_admin_command(exit_code, [&] { return change(*flags, read_addresses(flags->file), true); });
  });
}

}  // namespace petrel::cli
