// `petrel campaign send --server HOST[:PORT]`: the list sent over SMTP to
// any server, the template rendered here for each recipient by the same
// code petreld's API renders with (api::Composer), and handed to the same
// client petreld relays with (delivery::deliver() over the sans-I/O
// smtp::ClientSession): PIPELINING, SIZE, CHUNKING, 8BITMIME and STARTTLS
// where offered. --concurrency connections, each sending up to
// --messages-per-connection messages before it says QUIT and another
// takes its place (that bounds what a connection keeps). One recipient
// per message, unless the template is a raw message without a single tag:
// then up to 100 RCPTs share one transaction. At the end, a table of the
// extensions offered and used.
#pragma once

#include <string>
#include <vector>

#include "cli/campaign_run.hpp"
#include "delivery/smtp_deliverer.hpp"

namespace petrel::cli {

struct SmtpSetup {
  std::vector<delivery::Endpoint> endpoints;
  // TLS, AUTH, HELO and timeouts; more, pace, reported and watch are the run's.
  delivery::DeliveryOptions options;
};

// The addresses of --server HOST[:PORT] (port 25, 465 with implicit TLS).
// Throws CampaignInputError.
std::vector<delivery::Endpoint> server_endpoints(const std::string& server, bool implicit_tls);

// Checks the template as the API would and compiles it; throws
// CampaignInputError (a bad field, a template that does not parse, with
// its line and column). Then sends.
CampaignOutcome run_smtp_campaign(CampaignRun& run, const SmtpSetup& setup);

}  // namespace petrel::cli
