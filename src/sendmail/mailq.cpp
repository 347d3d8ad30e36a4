#include "sendmail/mailq.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <ctime>

namespace petrel::sendmail {
namespace {

std::string arrival(std::int64_t unix_seconds) {
  const std::time_t t = unix_seconds;
  std::tm tm{};
  localtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%a %b %e %H:%M:%S", &tm);
  return text;
}

// Control characters from a remote server's reply do not reach the terminal.
std::string printable(std::string text) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return text;
}

}  // namespace

std::string format_mailq(const nlohmann::json& messages) {
  if (!messages.is_array() || messages.empty()) return "Mail queue is empty\n";
  std::string out = "-Queue ID-        --Size-- ----Arrival Time---- -Sender/Recipient-------\n";
  std::uint64_t bytes = 0;
  char line[512];
  for (const auto& m : messages) {
    std::string id = m.value("id", "");
    if (m.value("in_flight", false)) id += '*';
    else if (m.value("held", false)) id += '!';
    const std::uint64_t size = m.value("size", std::uint64_t{0});
    bytes += size;
    std::string sender = m.value("sender", "");
    if (sender.empty()) sender = "MAILER-DAEMON";
    std::snprintf(line, sizeof line, "%-17s %8llu %-20.20s ", id.c_str(), static_cast<unsigned long long>(size),
                  arrival(m.value("arrival", std::int64_t{0})).c_str());
    out += line + printable(sender) + "\n";
    const std::string error = m.value("last_error", "");
    if (!error.empty()) out += "(" + printable(error) + ")\n";
    for (const auto& r : m.value("recipients", nlohmann::json::array())) {
      const std::string state = r.value("state", "");
      if (state == "delivered" || state == "bounced" || state == "failed") continue;
      out += std::string(48, ' ') + printable(r.value("address", "")) + "\n";
    }
    out += "\n";
  }
  const std::size_t n = messages.size();
  std::snprintf(line, sizeof line, "-- %llu Kbytes in %zu Request%s.\n",
                static_cast<unsigned long long>((bytes + 1023) / 1024), n, n == 1 ? "" : "s");
  return out + line;
}

}  // namespace petrel::sendmail
