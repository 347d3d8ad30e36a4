#include "cli/campaign_input.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

namespace petrel::cli {
namespace {

using nlohmann::json;

std::string read_whole(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CampaignInputError(std::string("cannot read the ") + what + " " + path + ": " + std::strerror(errno));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string trim(const std::string& s) {
  const char* space = " \t\r\n";
  const std::size_t first = s.find_first_not_of(space);
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(space) - first + 1);
}

json parse_json_template(const std::string& path, const std::string& text) {
  json request;
  try {
    request = json::parse(text);
  } catch (const json::parse_error& e) {
    // nlohmann's message says where: "... at line 3, column 7: ...".
    throw CampaignInputError(path + " is not JSON: " + std::string(e.what()));
  }
  if (!request.is_object()) throw CampaignInputError(path + ": the template must be a JSON object (the API request body)");
  for (const char* ours : {"recipients", "idempotency_key"}) {
    if (request.contains(ours)) {
      throw CampaignInputError(path + ": '" + ours + "' is not for the template: " +
                               (std::string(ours) == "recipients" ? "the recipients come from --recipients"
                                                                  : "each batch gets its own"));
    }
  }
  return request;
}

// --campaign, --tenant and --envelope-sender win over the file's.
void apply_flag(json& request, const char* field, const std::string& value, const std::string& path) {
  if (!value.empty()) request[field] = value;
  if (request.contains(field) && !request[field].is_string()) {
    throw CampaignInputError(path + ": '" + field + "' must be a string");
  }
}

std::string field(const json& request, const char* name) {
  return request.contains(name) ? request[name].get<std::string>() : "";
}

void check_fields(const CampaignTemplate& t, bool needs_campaign) {
  const std::string sender = field(t.request, "envelope_sender");
  if (sender.empty()) {
    throw CampaignInputError(t.raw ? "--template " + t.path + " is a whole message: give --envelope-sender too"
                                   : "no envelope sender: give --envelope-sender or put \"envelope_sender\" in " + t.path);
  }
  if (std::string why = address_problem(sender); !why.empty()) throw CampaignInputError("envelope sender: " + why);
  const std::string campaign = field(t.request, "campaign");
  if (needs_campaign && campaign.empty()) {
    throw CampaignInputError("give --campaign NAME (or \"campaign\" in " + t.path + "): it names the batches' idempotency keys");
  }
  for (const char* name : {"campaign", "tenant"}) {
    if (std::string why = name_problem(field(t.request, name)); !why.empty()) {
      throw CampaignInputError(std::string("--") + name + ": " + why);
    }
  }
}

}  // namespace

std::string name_problem(const std::string& name) {
  if (name.size() > 64) return "'" + name + "' is longer than 64 characters";
  if (name.find_first_of(" \t\r\n\"\\/<>") != std::string::npos) {
    return "'" + name + "' may not hold spaces, quotes, slashes or <>";
  }
  return "";
}

CampaignTemplate load_template(const CampaignFlags& flags, bool needs_campaign) {
  CampaignTemplate t;
  t.path = flags.template_file;
  const std::string text = read_whole(t.path, "template");
  if (text.empty()) throw CampaignInputError("the template " + t.path + " is empty");
  t.raw = !t.path.ends_with(".json");
  if (t.raw) {
    t.request = json::object();
    t.request["raw"] = text;
  } else {
    t.request = parse_json_template(t.path, text);
  }
  apply_flag(t.request, "campaign", flags.campaign, t.path);
  apply_flag(t.request, "tenant", flags.tenant, t.path);
  apply_flag(t.request, "envelope_sender", flags.envelope_sender, t.path);
  check_fields(t, needs_campaign);
  t.sha256 = sha256_hex(t.request.dump(-1, ' ', false, json::error_handler_t::replace));
  return t;
}

std::string read_secret(const std::string& path, const char* what, std::string& warning, bool one_word) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw CampaignInputError(std::string("cannot read the ") + what + " file " + path + ": " + std::strerror(errno));
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    warning = std::string("the ") + what + " file " + path + " can be read by others (mode " + mode + "); chmod 600 " + path;
  }
  std::string secret = read_whole(path, (std::string(what) + " file").c_str());
  if (one_word) {
    secret = trim(secret);
  } else {
    while (secret.ends_with('\n') || secret.ends_with('\r')) secret.pop_back();
  }
  if (secret.empty()) throw CampaignInputError(std::string("the ") + what + " file " + path + " is empty");
  if (one_word && secret.find_first_of(" \t\r\n") != std::string::npos) {
    throw CampaignInputError(std::string("the ") + what + " file " + path + " holds more than one line or word");
  }
  return secret;
}

}  // namespace petrel::cli
