// What the inbound checks found, and what petreld does about it: the
// Authentication-Results field (RFC 8601) and accept, quarantine or
// reject. Pure: the checker (checker.hpp) gathers the results.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "arc/arc.hpp"
#include "dkim/verify.hpp"
#include "dmarc/evaluate.hpp"
#include "smtp/reply.hpp"
#include "spf/evaluator.hpp"

namespace petrel::auth_checks {

struct Policy {
  std::string authserv_id;       // our host name
  bool dmarc_enforce = true;     // honour p=reject and p=quarantine
  bool reject_spf_fail = false;  // refuse an SPF fail on its own
};

struct Results {
  spf::Outcome spf;
  bool spf_of_helo = false;  // MAIL FROM was <>: SPF checked the HELO name
  std::string spf_identity;  // the MAIL FROM address, or the HELO name
  std::vector<dkim::SignatureResult> dkim;
  // Unset when the message has no single From domain to judge.
  std::optional<dmarc::Decision> dmarc;
  std::string from_domain;
  arc::Outcome arc;
};

enum class Action { accept, quarantine, reject };

struct Verdict {
  std::string header;  // "Authentication-Results: ...\r\n"
  Action action = Action::accept;
  std::optional<smtp::Reply> reply;  // with reject: 550 5.7.1 (DMARC) or 550 5.7.23 (SPF)
  std::string summary;         // "spf=pass dkim=pass dmarc=pass arc=none", for the log
  std::vector<std::pair<std::string, std::string>> results;  // (method, result) in field order, for metrics
  std::string refused_by;      // with reject: "dmarc" or "spf"
};

Verdict decide(const Results& results, const Policy& policy);

}  // namespace petrel::auth_checks
