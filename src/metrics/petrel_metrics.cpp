#include "metrics/petrel_metrics.hpp"

namespace petrel::metrics {
namespace {

template <typename Metric>
Family<Metric>& registered(Family<Metric>& family) {
  registry().add(family);
  return family;
}

}  // namespace

Family<Counter>& messages_received() {
  static Family<Counter>& f = registered(*new Family<Counter>(
      "petrel_messages_received_total", "Messages accepted (a 250 after the message data), by listener.", {"listener"}));
  return f;
}

Family<Counter>& deliveries() {
  static Family<Counter>& f = registered(*new Family<Counter>(
      "petrel_deliveries_total",
      "Recipients' delivery outcomes: delivered, deferred (a temporary failure), bounced (failed for good) "
      "or expired (too long in the queue), by site (\"local\": a mailbox; \"other\": sites past the cap).",
      {"result", "site"}));
  return f;
}

Family<Counter>& bounces() {
  static Family<Counter>& f = registered(*new Family<Counter>(
      "petrel_bounces_total", "Recipients that failed for good, by bounce class (docs/bounces.md).", {"class"}));
  return f;
}

Family<Counter>& webhook_events() {
  static Family<Counter>& f = registered(*new Family<Counter>(
      "petrel_webhook_events_total", "Events sent to a webhook, by webhook and result.", {"webhook", "result"}));
  return f;
}

Family<Counter>& auth_results() {
  static Family<Counter>& f = registered(*new Family<Counter>(
      "petrel_auth_results_total", "Inbound SPF, DKIM, DMARC and ARC results, by method and result.",
      {"method", "result"}));
  return f;
}

Family<Counter>& auth_refused() {
  static Family<Counter>& f = registered(*new Family<Counter>(
      "petrel_auth_refused_total", "Messages refused by the inbound checks, by reason (dmarc, spf).", {"reason"}));
  return f;
}

Family<Counter>& proxy_header_errors() {
  static Family<Counter>& f = registered(*new Family<Counter>(
      "petrel_proxy_header_errors_total",
      "Connections to a PROXY protocol listener closed without a session, by listener and reason "
      "(timeout, closed, untrusted_peer, or the header's fault such as bad_signature).",
      {"listener", "reason"}));
  return f;
}

Family<Counter>& connections_refused() {
  static Family<Counter>& f = registered(*new Family<Counter>(
      "petrel_connections_refused_total",
      "Connections refused at once, by listener and reason (per_ip, sessions, rate).", {"listener", "reason"}));
  return f;
}

Family<Counter>& events() {
  static Family<Counter>& f =
      registered(*new Family<Counter>("petrel_events_total", "Events recorded, by type (docs/events.md).", {"type"}));
  return f;
}

Family<Gauge>& sessions() {
  static Family<Gauge>& f = registered(
      *new Family<Gauge>("petrel_sessions", "SMTP sessions open now, by listener.", {"listener"}));
  return f;
}

Family<Histogram>& spool_commit_seconds() {
  static Family<Histogram>& f = registered(*new Family<Histogram>(
      "petrel_spool_commit_seconds", "Seconds a group commit of the spool took, write and sync.", {}));
  return f;
}

Family<Histogram>& delivery_seconds() {
  static Family<Histogram>& f = registered(*new Family<Histogram>(
      "petrel_delivery_seconds", "Seconds a delivery attempt took, by its result.", {"result"}));
  return f;
}

void register_petrel_metrics(std::size_t max_sites) {
  messages_received();
  deliveries().fold("site", max_sites);
  bounces();
  webhook_events();
  auth_results();
  auth_refused();
  connections_refused();
  proxy_header_errors();
  events();
  sessions();
  spool_commit_seconds();
  delivery_seconds();
}

}  // namespace petrel::metrics
