// The keys of [queue] (the scheduler's bounds) and [bulk] (campaign and
// tenant headers); docs/config.md.
#include "config/reading.hpp"

#include <algorithm>

namespace petrel::config::detail {
namespace {

using std::chrono::milliseconds;

const Key kQueueKeys[] = {
    {"active_limit", [](const Field& f, Config& c) { c.queue.active_limit = read_count(f, 1, 10'000'000); }},
    {"max_ready", [](const Field& f, Config& c) { c.queue.max_ready = read_count(f, 1, 10'000'000); }},
    {"failures_before_down", [](const Field& f, Config& c) { c.queue.failures_before_down = read_count(f, 1, 1000); }},
    {"down_backoff", [](const Field& f, Config& c) { c.queue.down_backoff = read_duration(f, f.value); }},
    {"down_max_backoff", [](const Field& f, Config& c) { c.queue.down_max_backoff = read_duration(f, f.value); }},
    {"reply_timeout",
     [](const Field& f, Config& c) {
       if (auto i = f.value.as_integer(); i && i->get() == 0) {
         c.queue.reply_timeout = milliseconds(0);
         return;
       }
       c.queue.reply_timeout = read_duration(f, f.value);
     }},
};

// A header field name (RFC 5322 §3.6.8 ftext), or "" for none.
bool valid_field_name(std::string_view s) {
  return s.size() <= 76 && std::all_of(s.begin(), s.end(), [](char c) { return c > 32 && c < 127 && c != ':'; });
}

const Key kBulkKeys[] = {
    {"campaign_header",
     [](const Field& f, Config& c) {
       c.bulk.campaign_header = read_string(f, f.value, valid_field_name, "a header field name such as \"X-Campaign\", or \"\"");
     }},
    {"tenant_header",
     [](const Field& f, Config& c) {
       c.bulk.tenant_header = read_string(f, f.value, valid_field_name, "a header field name such as \"X-Tenant\", or \"\"");
     }},
};

}  // namespace

std::span<const Key> queue_keys() { return kQueueKeys; }
std::span<const Key> bulk_keys() { return kBulkKeys; }

}  // namespace petrel::config::detail
