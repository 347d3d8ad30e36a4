// The keys of [queue]: the scheduler's bounds (docs/config.md).
#include "config/reading.hpp"

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

}  // namespace

std::span<const Key> queue_keys() { return kQueueKeys; }

}  // namespace petrel::config::detail
