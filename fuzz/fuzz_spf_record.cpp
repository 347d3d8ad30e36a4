// Fuzzes SPF (src/spf/): the record parser and the macro expander, which
// read any domain's TXT records, and check_host() answered from a zone
// where every TXT record is the input, so includes and redirects recurse
// into it.
//
// Input: two settings octets, then the text.
//   0: bit 0 also expand the text as an explanation (exp= TXT)
//      bit 1 also evaluate it (check_host over the fuzzed zone)
//      bit 2 the client is IPv6; bit 3 DNS answers fail now and then
//   1: seeds which lookups find addresses
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "spf/evaluator.hpp"
#include "spf/macro.hpp"
#include "spf/record.hpp"

using namespace petrel;

namespace {

spf::MacroContext context() {
  spf::MacroContext c;
  c.sender = "strong-bad@email.example.com";
  c.local_part = "strong-bad";
  c.sender_domain = "email.example.com";
  c.domain = "email.example.com";
  c.client = *dns::IpAddress::parse("2001:db8::cb01");
  c.helo = "mx.example.org";
  return c;
}

void check_record(std::string_view text) {
  std::string error;
  const auto record = spf::parse_record(text, error);
  FUZZ_CHECK(record.has_value() == error.empty());
  if (!record) return;
  FUZZ_CHECK(spf::is_spf_record(text));
  for (const spf::Mechanism& m : record->mechanisms) {
    FUZZ_CHECK(m.cidr4 <= 32 && m.cidr6 <= 128 && !m.text.empty());
    const bool ip = m.kind == spf::Mechanism::Kind::ip4 || m.kind == spf::Mechanism::Kind::ip6;
    FUZZ_CHECK(ip == m.network.has_value());
    if (ip) FUZZ_CHECK(m.network->is_v6() == (m.kind == spf::Mechanism::Kind::ip6));
    if (m.domain_spec.empty()) continue;
    // A domain-spec the parser took always expands, to a name DNS can be asked.
    const auto name = spf::expand_domain(m.domain_spec, context(), error);
    FUZZ_CHECK(name && name->size() <= 253 && (name->empty() || name->back() != '.'));
  }
  for (const auto* spec : {&record->redirect, &record->explanation}) {
    if (*spec) FUZZ_CHECK(spf::expand_domain(**spec, context(), error));
  }
  std::string again_error;
  const auto again = spf::parse_record(text, again_error);
  FUZZ_CHECK(again && again->mechanisms.size() == record->mechanisms.size() && again->redirect == record->redirect);
}

void check_explanation(std::string_view text) {
  std::string error;
  const bool valid = spf::check_macro_string(text, spf::MacroUse::explanation, error);
  const auto expanded = spf::expand(text, context(), spf::MacroUse::explanation, error);
  FUZZ_CHECK(valid == expanded.has_value());
}

// Every TXT lookup finds the input; addresses and MX hosts come and go by the seed.
void evaluate(std::string_view text, std::uint8_t settings, std::uint8_t seed) {
  spf::Input input;
  input.client = *dns::IpAddress::parse(settings & 4 ? "2001:db8::1" : "192.0.2.1");
  input.sender = "user+tag@example.com";
  input.helo = "mail.example.com";
  input.domain = "example.com";
  spf::Evaluator evaluator(input);
  fuzz::Splitter coin(seed);
  int lookups = 0;
  while (const auto lookup = evaluator.next_lookup()) {
    FUZZ_CHECK(++lookups < 300);  // §4.6.4's limits bound the work
    FUZZ_CHECK(!lookup->name.empty() && lookup->name.back() != '.');
    const bool fail = (settings & 8) && coin.next() % 7 == 0;
    const dns::Outcome outcome = fail ? dns::Outcome::temporary_failure : dns::Outcome::ok;
    switch (lookup->kind) {
      case spf::Lookup::Kind::txt: evaluator.feed(dns::TxtAnswer{outcome, {dns::TxtRecord{{std::string(text)}}}}); break;
      case spf::Lookup::Kind::a:
      case spf::Lookup::Kind::aaaa: {
        const bool hit = coin.next() % 3 == 0;
        evaluator.feed(hit ? dns::AddressAnswer{outcome, {input.client}} : dns::AddressAnswer{dns::Outcome::nxdomain});
        break;
      }
      case spf::Lookup::Kind::mx: {
        dns::MxAnswer answer{outcome};
        for (std::size_t i = coin.next() % 13; i > 0; --i) answer.records.push_back({10, "mx" + std::to_string(i) + ".example.com"});
        evaluator.feed(answer);
        break;
      }
      case spf::Lookup::Kind::ptr: evaluator.feed(dns::PtrAnswer{outcome, {"mail.example.com", "x.example.net"}}); break;
    }
  }
  FUZZ_CHECK(evaluator.done());
  const spf::Outcome& outcome = evaluator.outcome();
  FUZZ_CHECK(outcome.explanation.empty() || outcome.result == spf::Result::fail);
  FUZZ_CHECK(!outcome.reason.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input input(data, size);
  const std::uint8_t settings = input.setting();
  const std::uint8_t seed = input.setting();
  const std::string_view text = input.rest();
  check_record(text);
  if (settings & 1) check_explanation(text);
  if (settings & 2) evaluate(text, settings, seed);
  return 0;
}
