// Fuzzes what the inbound checks read of a stranger's message: the
// DKIM-Signature and ARC fields (src/dkim/signature.cpp, tag_list.cpp),
// the verifier and the ARC validator over the whole message with a fixed
// key record (src/dkim/verify.cpp, src/arc/), and the Authentication-Results
// reader that removes forged fields (src/authres/).
//
// Input: one settings octet, then the message.
//   0: bit 0 the key lookup fails (temperror path), bit 1 the key record is
//      the message's first line instead of a fixed Ed25519 key
#include <cstdint>
#include <string>
#include <string_view>

#include "arc/arc.hpp"
#include "authres/authres.hpp"
#include "dkim/signature.hpp"
#include "dkim/verify.hpp"
#include "fuzz_check.hpp"

using namespace petrel;

namespace {

constexpr std::string_view kKey = "v=DKIM1; k=ed25519; p=ESD1xmmhk9QTtxDfzi1L5znolg/olzLyNotiVSJvCuM=";

void check_signature_fields(std::string_view message) {
  for (const auto kind : {dkim::SignatureKind::dkim, dkim::SignatureKind::arc_message, dkim::SignatureKind::arc_seal}) {
    std::string error;
    const auto s = dkim::parse_signature(message, kind, error);
    if (s) {
      FUZZ_CHECK(!s->domain.empty() && !s->selector.empty());
    } else {
      FUZZ_CHECK(!error.empty());
    }
  }
  const std::string stripped = dkim::without_signature_value(message);
  FUZZ_CHECK(stripped.size() <= message.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input input(data, size);
  const std::uint8_t settings = input.setting();
  const std::string_view message = input.rest();
  check_signature_fields(message);

  dkim::KeyLookup key;
  key.status = (settings & 1) ? dkim::KeyLookup::Status::failed : dkim::KeyLookup::Status::found;
  key.records.emplace_back((settings & 2) ? message.substr(0, message.find('\n')) : kKey);
  const auto lookup = [&key](std::string_view) { return &key; };

  dkim::Verifier verifier(message, {5, 1'800'000'000, 1024});
  const auto names = verifier.key_names();
  const auto results = verifier.verify(lookup);
  FUZZ_CHECK(results.size() <= 5);
  FUZZ_CHECK(names.size() <= results.size());

  arc::Validator arc(message);
  const arc::Outcome outcome = arc.validate(lookup);
  FUZZ_CHECK(outcome.instances >= 0 && outcome.instances <= 50);

  std::string copy(message);
  const std::size_t removed = authres::remove_forged(copy, authres::authserv_id(message));
  FUZZ_CHECK(copy.size() <= message.size() && (removed == 0) == (copy.size() == message.size()));
  return 0;
}
