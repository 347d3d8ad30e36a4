// [events]: the event log and the webhooks ([[events.webhook]]); docs/events.md.
// [auth_checks]: the inbound SPF/DKIM/DMARC/ARC checks; docs/auth-checks.md.
#include <algorithm>
#include <set>

#include "config/reading.hpp"

namespace petrel::config::detail {
namespace {

constexpr std::string_view kWebhookKeys[] = {"name",       "url",                "types",   "tenant",
                                             "batch_size", "batch_max_delay",    "secret_file", "timeout",
                                             "max_retry_interval", "max_age",    "ca_file"};
constexpr std::string_view kEventTypes[] = {"Reception",   "Delivery",    "TransientFailure",
                                            "Bounce",      "Expiration",  "Suppression",
                                            "Unsubscribe", "Complaint",   "AdminAction"};

bool valid_name(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
  });
}

bool valid_url(std::string_view s) {
  return (s.starts_with("http://") || s.starts_with("https://")) && s.size() > 8 &&
         s.find_first_of(" \t\r\n\"<>") == std::string_view::npos;
}

void read_webhook_key(const Field& f, WebhookConfig& w) {
  if (f.key == "name") {
    w.name = read_string(f, f.value, valid_name, "a name of letters, digits, '-', '_' and '.'");
  } else if (f.key == "url") {
    w.url = read_string(f, f.value, valid_url, "an http:// or https:// URL");
  } else if (f.key == "types") {
    w.types = read_array<std::string>(f, "event types", false, [&](const toml::node& n) {
      const std::string t = read_string(f, n, non_empty, "an event type");
      if (std::find(std::begin(kEventTypes), std::end(kEventTypes), t) == std::end(kEventTypes)) {
        f.fail(n, "one of Reception, Delivery, TransientFailure, Bounce, Expiration, Suppression, Unsubscribe, "
                  "Complaint, AdminAction");
      }
      return t;
    });
  } else if (f.key == "tenant") {
    w.tenant = read_string(f, f.value, non_empty, "a tenant name");
  } else if (f.key == "batch_size") {
    w.batch_size = read_count(f, 1, 10000);
  } else if (f.key == "batch_max_delay") {
    w.batch_max_delay = read_duration(f, f.value);
  } else if (f.key == "secret_file") {
    w.secret_file = read_path(f);
  } else if (f.key == "timeout") {
    w.timeout = read_duration(f, f.value);
  } else if (f.key == "max_retry_interval") {
    w.max_retry_interval = read_duration(f, f.value);
  } else if (f.key == "max_age") {
    w.max_age = read_duration(f, f.value);
  } else if (f.key == "ca_file") {
    w.ca_file = read_path(f);
  }
}

std::vector<WebhookConfig> read_webhooks(const Field& f) {
  auto array = f.value.as_array();
  if (!array || !array->is_array_of_tables()) f.fail("an array of tables ([[events.webhook]])");
  std::vector<WebhookConfig> out;
  std::set<std::string> names;
  for (const toml::node& element : *array) {
    WebhookConfig w;
    w.line = line_of(element);
    for (const auto& [key, value] : *element.as_table()) {
      const Field field{f.file, "events.webhook", key.str(), value};
      if (std::find(std::begin(kWebhookKeys), std::end(kWebhookKeys), key.str()) == std::end(kWebhookKeys)) {
        unknown_key(f.file, key, value, "[[events.webhook]]", kWebhookKeys);
      }
      read_webhook_key(field, w);
    }
    const auto missing = [&](const char* what) {
      throw ConfigError(f.file, w.line, std::string("[[events.webhook]] needs ") + what);
    };
    if (w.name.empty()) missing("a name");
    if (w.url.empty()) missing("a url");
    if (w.secret_file.empty()) missing("a secret_file (the key its batches are signed with)");
    if (!names.insert(w.name).second) throw ConfigError(f.file, w.line, "a second webhook named " + w.name);
    out.push_back(std::move(w));
  }
  return out;
}

const Key kEventsKeys[] = {
    {"file", [](const Field& f, Config& c) { c.events.file = read_path(f); }},
    {"max_size", [](const Field& f, Config& c) { c.events.max_size = read_size(f, 4096); }},
    {"keep", [](const Field& f, Config& c) { c.events.keep = static_cast<unsigned>(read_count(f, 0, 1000)); }},
    {"max_pending", [](const Field& f, Config& c) { c.events.max_pending = read_count(f, 1, 10'000'000); }},
    {"max_outbox_size", [](const Field& f, Config& c) { c.events.max_outbox_size = read_size(f, 1 << 20); }},
    {"webhook", [](const Field& f, Config& c) { c.events.webhooks = read_webhooks(f); }},
};

// Folder names as Maildir++ writes them: no '/', no leading '.'.
bool valid_folder(std::string_view s) {
  return !s.empty() && s.size() <= 64 && !s.starts_with('.') && s.find_first_of(std::string_view("/\\\0\r\n", 5)) == std::string_view::npos;
}

const Key kAuthChecksKeys[] = {
    {"enabled", [](const Field& f, Config& c) { c.auth_checks.enabled = read_bool(f); }},
    {"dmarc_enforce", [](const Field& f, Config& c) { c.auth_checks.dmarc_enforce = read_bool(f); }},
    {"reject_spf_fail", [](const Field& f, Config& c) { c.auth_checks.reject_spf_fail = read_bool(f); }},
    {"max_dkim_signatures",
     [](const Field& f, Config& c) { c.auth_checks.max_dkim_signatures = read_count(f, 0, 50); }},
    {"quarantine_folder",
     [](const Field& f, Config& c) {
       c.auth_checks.quarantine_folder = read_string(f, f.value, valid_folder, "a Maildir folder name such as \"Junk\"");
     }},
    {"timeout", [](const Field& f, Config& c) { c.auth_checks.timeout = read_duration(f, f.value); }},
};

}  // namespace

std::span<const Key> events_keys() { return kEventsKeys; }
std::span<const Key> auth_checks_keys() { return kAuthChecksKeys; }

}  // namespace petrel::config::detail
