// `petrel campaign send --api URL`: the list in batches to petreld's
// POST /api/v1/messages, --concurrency batches in flight over as many
// keep-alive connections, each batch recorded in the state file once its
// reply is in. 429, 503 and 409 are waited out (Retry-After) and the same
// batch is posted again under the same idempotency key; any other 4xx
// fails the batch, and the run, for good.
#pragma once

#include <string>

#include "cli/campaign_http.hpp"
#include "cli/campaign_run.hpp"

namespace petrel::cli {

CampaignOutcome run_api_campaign(CampaignRun& run, const ApiUrl& url, const std::string& token);

}  // namespace petrel::cli
