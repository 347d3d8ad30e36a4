// [events]: the event log (docs/events.md).
#include "config/reading.hpp"

namespace petrel::config::detail {
namespace {

const Key kEventsKeys[] = {
    {"file", [](const Field& f, Config& c) { c.events.file = read_path(f); }},
    {"max_size", [](const Field& f, Config& c) { c.events.max_size = read_size(f, 4096); }},
    {"keep", [](const Field& f, Config& c) { c.events.keep = static_cast<unsigned>(read_count(f, 0, 1000)); }},
    {"max_pending", [](const Field& f, Config& c) { c.events.max_pending = read_count(f, 1, 10'000'000); }},
};

}  // namespace

std::span<const Key> events_keys() { return kEventsKeys; }

}  // namespace petrel::config::detail
