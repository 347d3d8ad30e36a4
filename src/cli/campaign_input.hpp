// The inputs of `petrel campaign send` other than the list: the template
// file (msg.json, an API request body without recipients, or msg.eml, a
// whole message) and the token and password files.
#pragma once

#include <string>

#include "cli/campaign_run.hpp"

namespace petrel::cli {

// Reads and checks the template and applies the flags to it; `needs_campaign`
// (the API) makes --campaign (or "campaign" in msg.json) required. Throws
// CampaignInputError naming the file.
CampaignTemplate load_template(const CampaignFlags& flags, bool needs_campaign);

// A secret kept in a file: a bearer token (`one_word`: white space around
// it trimmed, none inside) or a password (only the final line break
// dropped). `warning` is set when the file can be read by group or
// others. Throws CampaignInputError.
std::string read_secret(const std::string& path, const char* what, std::string& warning, bool one_word);

// Why `name` cannot be a campaign or tenant name for the API ("" when it
// can): at most 64 characters, no spaces, quotes, slashes or <>.
std::string name_problem(const std::string& name);

}  // namespace petrel::cli
