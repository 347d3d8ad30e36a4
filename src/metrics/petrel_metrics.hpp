// Petrel's own metrics (docs/metrics.md): one function per family, made
// and registered on first use. The names and labels are an interface:
// dashboards and alerts are built on them.
#pragma once

#include <string>

#include "metrics/metrics.hpp"

namespace petrel::metrics {

// counter {listener}: messages accepted (one per 250 after the data).
Family<Counter>& messages_received();
// counter {result="delivered|deferred|bounced|expired", site}: recipients' delivery outcomes.
Family<Counter>& deliveries();
// counter {class}: recipients that failed for good, by bounce class.
Family<Counter>& bounces();
// counter {webhook, result="delivered|retried|failed|dropped"}: events per webhook.
Family<Counter>& webhook_events();
// counter {type}: events written to the event log.
Family<Counter>& events();
// counter {method="spf|dkim|dmarc|arc", result}: inbound check results (docs/auth-checks.md).
Family<Counter>& auth_results();
// counter {reason="dmarc|spf"}: messages refused at the end of DATA by the inbound checks.
Family<Counter>& auth_refused();
// counter {listener, reason="per_ip|sessions|rate"}: connections refused at
// once (421, or closed before the handshake on an implicit-TLS port).
Family<Counter>& connections_refused();
// gauge {listener}: SMTP sessions open now.
Family<Gauge>& sessions();
// counter {listener, reason}: connections to a PROXY protocol listener closed
// without a session, for a missing or bad header (docs/cluster.md).
Family<Counter>& proxy_header_errors();
// histogram: seconds from a group commit's start to its sync.
Family<Histogram>& spool_commit_seconds();
// histogram {result}: seconds a delivery attempt took (connection to reply).
Family<Histogram>& delivery_seconds();

// Makes every family above (so a scrape lists them all, at 0), and folds
// site labels past max_sites into "other".
void register_petrel_metrics(std::size_t max_sites);

// The site label of a delivery: the site's name, "local" for a mailbox.
inline const std::string& site_label(const std::string& site) {
  static const std::string local = "local";
  return site.empty() ? local : site;
}

}  // namespace petrel::metrics
