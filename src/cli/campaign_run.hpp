// What `petrel campaign send` knows before it sends anything, shared by
// its two ways of sending: the flags, the template, the list's identity,
// the state file and the pace; and what a run comes to.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/campaign_batch.hpp"
#include "cli/campaign_list.hpp"
#include "cli/campaign_progress.hpp"
#include "cli/campaign_report.hpp"
#include "cli/campaign_state.hpp"

namespace petrel::cli {

// Exit status (docs/campaign.md).
constexpr int kCampaignDone = 0;         // every batch done, whatever the server said of each recipient
constexpr int kCampaignFailed = 1;       // a batch failed for good, or (SMTP) recipients were deferred
constexpr int kCampaignUsage = 2;        // bad flags or input; nothing sent
constexpr int kCampaignInterrupted = 130;  // Ctrl-C (128 + SIGINT); SIGTERM gives 143

struct CampaignFlags {
  // Where: the API, or an SMTP server.
  std::string api;
  std::string server;
  // What and to whom.
  std::string token_file;
  std::string recipients;
  std::string template_file;
  std::string campaign;
  std::string tenant;
  std::string envelope_sender;
  // How fast.
  std::string rate;
  std::size_t concurrency = 8;
  std::size_t batch = 500;
  unsigned retries = 5;
  double timeout = 60;
  // Records.
  std::string state;
  std::string report;
  bool json = false;
  bool quiet = false;
  // HTTPS to the API.
  bool insecure = false;
  std::string ca_file;
  // SMTP.
  bool tls = false;
  bool starttls = false;
  std::string auth_user;
  std::string password_file;
  std::string helo;
  std::size_t per_connection = 100;
};

// The message template as the API takes it: the request body without
// recipients, with --campaign, --tenant and --envelope-sender applied.
struct CampaignTemplate {
  nlohmann::json request = nlohmann::json::object();
  bool raw = false;  // a whole message (msg.eml), sent as "raw"
  std::string path;
  std::string sha256;  // of `request` as sent
};

struct CampaignRun {
  CampaignFlags flags;
  CampaignTemplate message;
  ListInfo list;
  RunIdentity identity;
  std::unique_ptr<StateFile> state;
  std::optional<Rate> rate;
  Progress::Style progress = Progress::Style::lines;
};

struct CampaignOutcome {
  int signal = 0;       // the signal that stopped the run, 0 if none
  std::string error;    // why a batch failed for good; "" if none did
  Tally run;            // this run's results
  Tally all;            // with earlier runs' (a resumed state file)
  double seconds = 0;
  // Results not in the state file that the report still lists (SMTP deferrals).
  std::vector<RecipientResult> unrecorded;
  // SMTP: the extensions table, [{"extension","offered","used"}].
  nlohmann::json extensions = nlohmann::json::array();
  std::size_t max_recipients = 0;  // SMTP: the most RCPTs in one transaction
};

}  // namespace petrel::cli
