#include "cli/dkim_report.hpp"

#include <nlohmann/json.hpp>

#include "cli/terminal.hpp"
#include "dkim/record.hpp"

namespace petrel::cli {
namespace {

using nlohmann::json;

// RFC 1035 §3.3: a character-string is a length octet and that many octets.
constexpr std::size_t kMaxCharacterString = 255;

std::string joined(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : std::string(separator)) + item;
  return out;
}

void fail(DkimCheck& check, DkimStatus status, std::string problem) {
  check.status = status;
  check.problems.push_back(std::move(problem));
}

// The record at the name, once the lookup found TXT records.
void judge_record(DkimCheck& check, const dkim::KeyRecord& record, const dkim::Key* key) {
  check.key_type = record.key_type;
  check.flags = record.flags;
  check.hash_algorithms = record.hash_algorithms;
  if (record.revoked()) return fail(check, DkimStatus::revoked, "p= is empty: the key is revoked");
  const std::optional<dkim::Algorithm> algorithm = record.algorithm();
  if (!algorithm) {
    return fail(check, DkimStatus::invalid,
                "k=" + printable(record.key_type) + " is not a key type of rsa-sha256 or ed25519-sha256");
  }
  if (!record.allows_sha256()) {
    return fail(check, DkimStatus::invalid,
                "h=" + printable(joined(record.hash_algorithms, ":")) + " does not allow sha256, which both algorithms use");
  }
  if (!record.for_email()) return fail(check, DkimStatus::invalid, "s= does not include email");
  std::string error;
  const std::optional<dkim::PublicKeyInfo> published = dkim::read_public_key(*algorithm, record.public_key, error);
  if (!published) return fail(check, DkimStatus::invalid, error);
  check.bits = published->bits;
  if (*algorithm == dkim::Algorithm::rsa_sha256 && published->bits < dkim::kMinRsaBits) {
    return fail(check, DkimStatus::invalid,
                "a " + std::to_string(published->bits) + "-bit RSA key: receivers ignore keys under 1024 bits (RFC 8301)");
  }
  if (*algorithm == dkim::Algorithm::rsa_sha256 && published->bits < dkim::kRecommendedRsaBits) {
    check.warnings.push_back("a " + std::to_string(published->bits) + "-bit RSA key: 2048 bits are recommended (RFC 8301)");
  }
  if (record.testing()) check.warnings.push_back("t=y: the domain is testing DKIM; receivers treat its signatures as absent");
  if (key) {
    check.key_matches = key->algorithm() == *algorithm && key->public_key_data() == published->data;
    if (!*check.key_matches) {
      return fail(check, DkimStatus::mismatch,
                  "the published key is not the public key of " + check.key_file + " (" +
                      std::string(dkim::key_type(key->algorithm())) + ", " + std::to_string(key->bits()) + " bits)");
    }
  }
  check.status = DkimStatus::ok;
}

void print_list(const char* label, const std::vector<std::string>& items, Colour colour, std::FILE* out) {
  for (const std::string& item : items) std::fprintf(out, "%s %s\n", paint(label, colour, out).c_str(), item.c_str());
}

std::string verdict(const DkimCheck& check) {
  switch (check.status) {
    case DkimStatus::ok:
      return check.name + " publishes a usable " + check.key_type + " key" +
             (check.key_matches ? " that matches " + check.key_file : "");
    case DkimStatus::not_found: return "no key record at " + check.name;
    case DkimStatus::dns_failure: return "the DNS lookup of " + check.name + " failed: try again";
    case DkimStatus::invalid: return "the key record at " + check.name + " is not usable";
    case DkimStatus::revoked: return "the key at " + check.name + " is revoked";
    case DkimStatus::mismatch: return check.name + " publishes another key than " + check.key_file;
  }
  return {};
}

}  // namespace

std::string dkim_record_name(std::string_view domain, std::string_view selector) {
  return std::string(selector) + "._domainkey." + std::string(domain);
}

std::string dkim_zone_line(std::string_view domain, std::string_view selector, std::string_view record) {
  std::string line = dkim_record_name(domain, selector) + ". IN TXT";
  for (std::size_t i = 0; i < record.size() || i == 0; i += kMaxCharacterString) {
    line += " \"" + std::string(record.substr(i, kMaxCharacterString)) + "\"";
  }
  return line;
}

std::string_view to_string(DkimStatus status) {
  switch (status) {
    case DkimStatus::ok: return "ok";
    case DkimStatus::not_found: return "not_found";
    case DkimStatus::dns_failure: return "dns_failure";
    case DkimStatus::invalid: return "invalid";
    case DkimStatus::revoked: return "revoked";
    case DkimStatus::mismatch: return "mismatch";
  }
  return "invalid";
}

DkimCheck judge_dkim_record(std::string name, const dns::TxtAnswer& answer, const dkim::Key* key,
                            std::string key_file) {
  DkimCheck check;
  check.name = std::move(name);
  check.key_file = std::move(key_file);
  check.dnssec = answer.dnssec;
  switch (answer.outcome) {
    case dns::Outcome::nxdomain: fail(check, DkimStatus::not_found, check.name + " does not exist (NXDOMAIN)"); return check;
    case dns::Outcome::nodata: fail(check, DkimStatus::not_found, check.name + " has no TXT record"); return check;
    case dns::Outcome::temporary_failure:
      fail(check, DkimStatus::dns_failure, "DNS lookup failed: " + printable(answer.error));
      return check;
    case dns::Outcome::ok: break;
  }
  if (answer.records.size() != 1) {
    // RFC 6376 §3.6.2.2: the result of several records is undefined.
    fail(check, DkimStatus::invalid,
         std::to_string(answer.records.size()) + " TXT records at the name; a receiver's choice is undefined");
    return check;
  }
  const std::string text = answer.records.front().joined();
  check.record = printable(text);
  std::string error;
  const std::optional<dkim::KeyRecord> record = dkim::parse_key_record(text, error);
  if (!record) {
    fail(check, DkimStatus::invalid, printable(error));
  } else {
    judge_record(check, *record, key);
  }
  return check;
}

int dkim_check_exit_status(const DkimCheck& check) { return check.status == DkimStatus::ok ? 0 : 1; }

void print_dkim_check(const DkimCheck& check, bool validating, std::FILE* out) {
  std::fprintf(out, "%s\n", paint(check.name, Colour::bold, out).c_str());
  if (check.record) std::fprintf(out, "  TXT      \"%s\"\n", check.record->c_str());
  if (check.bits > 0) std::fprintf(out, "  key      %s, %d bits\n", check.key_type.c_str(), check.bits);
  if (!check.flags.empty()) std::fprintf(out, "  flags    t=%s\n", joined(check.flags, ":").c_str());
  std::fprintf(out, "  DNSSEC   %s\n", validating ? std::string(dns::to_string(check.dnssec)).c_str() : "not validated");
  if (check.key_matches) {
    std::fprintf(out, "  key file %s: %s\n", check.key_file.c_str(),
                 *check.key_matches ? paint("matches", Colour::green, out).c_str()
                                    : paint("does not match", Colour::red, out).c_str());
  }
  print_list("warning:", check.warnings, Colour::yellow, out);
  print_list("problem:", check.problems, Colour::red, out);
  const bool ok = check.status == DkimStatus::ok;
  std::fprintf(out, "%s %s\n", paint(ok ? "ok:" : "failed:", ok ? Colour::green : Colour::red, out).c_str(),
               verdict(check).c_str());
}

std::string dkim_check_json(const DkimCheck& check, bool validating) {
  json j = {{"name", check.name},
            {"status", to_string(check.status)},
            {"record", check.record ? json(*check.record) : json(nullptr)},
            {"key_type", check.key_type.empty() ? json(nullptr) : json(check.key_type)},
            {"bits", check.bits > 0 ? json(check.bits) : json(nullptr)},
            {"flags", check.flags},
            {"hash_algorithms", check.hash_algorithms},
            {"dnssec", validating ? json(dns::to_string(check.dnssec)) : json(nullptr)},
            {"key_file", check.key_file.empty() ? json(nullptr) : json(check.key_file)},
            {"key_matches", check.key_matches ? json(*check.key_matches) : json(nullptr)},
            {"problems", check.problems},
            {"warnings", check.warnings}};
  return j.dump(2);
}

}  // namespace petrel::cli
