// Fuzzes DMARC (src/dmarc/): the record parser, which reads any domain's
// _dmarc TXT record, and the verdict over a From domain and DKIM domains
// taken from the input (organizational domains by libpsl).
//
// Input: two settings octets, then the text.
//   0: bit 0 also split the text at the first '\n' into a From domain and
//      DKIM domains (the rest, one per line) and evaluate the record
//      bit 1 SPF passed for the From domain
//   1: the pct= draw (taken modulo 100)
#include <cstdint>
#include <string>
#include <string_view>

#include "dmarc/evaluate.hpp"
#include "dmarc/record.hpp"
#include "fuzz_check.hpp"

using namespace petrel;

namespace {

void check_record(const std::optional<dmarc::Record>& record, const std::string& error) {
  FUZZ_CHECK(record.has_value() == error.empty());
  if (!record) return;
  FUZZ_CHECK(record->percent >= 0 && record->percent <= 100);
  FUZZ_CHECK(!record->policy_defaulted || (record->policy == dmarc::Policy::none && !record->aggregate_uris.empty()));
  for (const auto& uri : record->aggregate_uris) FUZZ_CHECK(uri.find(':') != std::string::npos);
}

void evaluate(const dmarc::Record& record, std::string_view lines, std::uint8_t settings, std::uint8_t draw) {
  dmarc::Input input;
  const std::size_t newline = lines.find('\n');
  input.from_domain = std::string(lines.substr(0, newline));
  for (std::string_view rest = newline == std::string_view::npos ? "" : lines.substr(newline + 1); !rest.empty();) {
    const std::size_t end = rest.find('\n');
    input.dkim_pass_domains.emplace_back(rest.substr(0, end));
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
  }
  input.spf = settings & 2 ? spf::Result::pass : spf::Result::fail;
  input.spf_domain = input.from_domain;
  input.sample = draw % 100;
  const auto& psl = dmarc::PublicSuffixList::system();
  const dmarc::Decision d = dmarc::evaluate(input, &record, settings & 4, psl);
  FUZZ_CHECK(d.result == dmarc::Result::pass || d.result == dmarc::Result::fail);
  FUZZ_CHECK((d.result == dmarc::Result::pass) == (d.spf_aligned || d.dkim_aligned));
  FUZZ_CHECK(!d.sampled_out || (d.result == dmarc::Result::fail && d.policy != d.published_policy));
  const std::string org = psl.organizational_domain(input.from_domain);
  FUZZ_CHECK(psl.organizational_domain(org) == org);
  FUZZ_CHECK(dmarc::record_names(input.from_domain, psl).size() <= 2);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input input(data, size);
  const std::uint8_t settings = input.setting();
  const std::uint8_t draw = input.setting();
  const std::string_view text = input.rest();
  const std::size_t split = settings & 1 ? text.find("\n\n") : std::string_view::npos;
  const std::string_view record_text = text.substr(0, split);

  std::string error;
  const auto record = dmarc::parse_record(record_text, error);
  check_record(record, error);
  if (!dmarc::is_dmarc_record(record_text)) FUZZ_CHECK(!record);
  std::string select_error;
  const auto selected = dmarc::select_record({dns::TxtRecord{{std::string(record_text)}}}, select_error);
  FUZZ_CHECK(selected.has_value() == record.has_value());
  if (record && split != std::string_view::npos) evaluate(*record, text.substr(split + 2), settings, draw);
  return 0;
}
