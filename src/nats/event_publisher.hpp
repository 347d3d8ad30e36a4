// Events on NATS JetStream (docs/cluster.md): every event of the outbox
// is published to petrel.events.<tenant>.<type>, with the header
// Nats-Msg-Id set to its event_id (JetStream drops a copy it has seen in
// its duplicate window) and Petrel-Node to the node's name. An event
// leaves the outbox only once JetStream has acked it (PubAck): the
// outbox is the buffer while NATS is away, and it is replayed, in order,
// when NATS is back. Where the publisher stands is a record
// ("on/jetstream"), so a restart resumes there.
//
// At start (and whenever publishes find no stream) the publisher looks
// for a stream that covers petrel.events.>, and makes PETREL_EVENTS (file
// storage) when there is none.
//
// One thread of its own (libnats has its own too): mail never waits for
// NATS. Memory: at most max_in_flight events at once.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace petrel::spool {
class Spool;
}
namespace petrel::events {
class Outbox;
}

namespace petrel::nats {

struct PublisherOptions {
  std::string node_name;
  std::string urls;        // "nats://127.0.0.1:4222", several separated by commas
  std::string creds_file;  // "": none
  std::string token;       // "": none
  std::string tls_ca;      // "": none (tls:// URLs then trust the system's CAs)
  std::string tls_cert;    // a client certificate, with tls_key
  std::string tls_key;
  std::size_t max_in_flight = 256;
};

class EventPublisher {
 public:
  // Starts connecting (in the background: NATS need not be up). Throws
  // std::runtime_error for options libnats refuses (an unreadable
  // creds or certificate file, a bad URL).
  EventPublisher(PublisherOptions options, events::Outbox& outbox, unsigned reader, spool::Spool& spool);
  ~EventPublisher();  // stop()
  EventPublisher(const EventPublisher&) = delete;
  EventPublisher& operator=(const EventPublisher&) = delete;

  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace petrel::nats
