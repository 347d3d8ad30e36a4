// Webhooks (docs/events.md): each [[events.webhook]] gets the events of
// its types (and tenant) from the outbox, in order, as POSTed JSON arrays
// of at most batch_size events, signed (X-Petrel-Signature). At least
// once: a batch leaves the outbox for a webhook only when it answered
// 2xx, or when it is set aside for inspection (`petrel events failed`):
// a 4xx other than 408 and 429, or no success within max_age. A 5xx, 408,
// 429, a timeout or no connection is retried with exponential backoff and
// jitter, at most max_retry_interval apart. Where each webhook stands is
// a record ("oc/<name>"), so a restart resumes there.
//
// One thread of its own; memory is one batch per webhook.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "events/event.hpp"

namespace petrel::spool {
class Spool;
}
namespace petrel::events {
class Outbox;
}

namespace petrel::webhook {

struct WebhookOptions {
  std::string name;
  std::string url;                 // http[s]://host[:port][/path]
  std::set<events::Type> types;    // empty: every type
  std::string tenant;              // "": every tenant's events
  std::size_t batch_size = 100;
  std::chrono::milliseconds batch_max_delay{1000};  // a smaller batch waits at most this for more
  std::string secret;              // the HMAC key, as bytes
  std::chrono::milliseconds timeout{10000};
  std::chrono::milliseconds max_retry_interval{std::chrono::minutes(5)};
  std::chrono::milliseconds max_age{std::chrono::hours(72)};
  std::string ca_file;             // HTTPS: CAs to trust; "": the system store
};

class Webhooks {
 public:
  // Throws std::runtime_error for a URL that is not one. `reader`: the
  // webhooks' reader number in the outbox (Outbox::passed).
  Webhooks(std::vector<WebhookOptions> hooks, events::Outbox& outbox, unsigned reader, spool::Spool& spool);
  ~Webhooks();  // stop()
  Webhooks(const Webhooks&) = delete;
  Webhooks& operator=(const Webhooks&) = delete;

  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace petrel::webhook
