// `petrel campaign send --api URL`: the list in batches to petreld's
// POST /api/v1/messages, --concurrency batches in flight over as many
// keep-alive connections, each batch recorded in the state file once its
// reply is in. 429, 503 and 409 are waited out (Retry-After) and the same
// batch is posted again under the same idempotency key; any other 4xx
// fails the batch, and the run, for good.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "cli/campaign_run.hpp"
#include "http/client.hpp"

namespace petrel::cli {

// --api URL: http[s]://host[:port][/prefix]. The messages endpoint is
// prefix + /api/v1/messages, unless the URL names it already.
std::optional<http::Url> parse_api_url(std::string_view url, std::string& error);

CampaignOutcome run_api_campaign(CampaignRun& run, const http::Url& url, const std::string& token);

}  // namespace petrel::cli
