// Fuzzes the command-line parsers of the protocol core: split_command,
// parse_path, the MAIL/RCPT parameters and xtext_decode (src/smtp/command,
// address, mail_params).
//
// Input: one settings octet, then a command line without its CRLF.
//   bit 0: allow the null path <>   bit 1: SMTPUTF8 allowed
//   bit 2: EHLO (parameters allowed)  bits 3-4: the SIZE limit
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "smtp/address.hpp"
#include "smtp/command.hpp"
#include "smtp/envelope.hpp"
#include "smtp/mail_params.hpp"
#include "wire_check.hpp"

using namespace petrel;
using petrel::fuzz::within;

namespace {

constexpr std::uint64_t kSizeLimits[] = {0, 1000, 10 * 1024 * 1024, 50ull * 1024 * 1024};

bool has_non_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return false;
}

void check_reply(const std::optional<smtp::Reply>& r) {
  if (!r) return;
  FUZZ_CHECK(!r->lines.empty());
  FUZZ_CHECK(fuzz::check_wire_replies(r->wire()) == 1);
  FUZZ_CHECK(!r->status.positive());  // a refusal
}

void check_path(std::string_view text, bool allow_null, bool utf8) {
  const smtp::PathParse p = smtp::parse_path(text, allow_null, utf8);
  FUZZ_CHECK(p.consumed <= text.size());
  (void)smtp::describe(p.error);
  if (p.error != smtp::AddressError::none) return;

  FUZZ_CHECK(p.consumed > 0);
  // What follows the path is the end or a space before the parameters.
  FUZZ_CHECK(p.consumed == text.size() || text[p.consumed] == ' ');
  if (p.path.is_null()) {
    FUZZ_CHECK(allow_null);
    return;
  }
  const smtp::Address& a = *p.path.mailbox;
  FUZZ_CHECK(!a.local_part.empty());
  FUZZ_CHECK(a.local_part.size() <= 64 && a.domain.size() <= 255);
  FUZZ_CHECK(p.path.str().size() <= 256);
  FUZZ_CHECK(!a.domain.empty() || smtp::is_bare_postmaster(p.path));
  if (!utf8) FUZZ_CHECK(!has_non_ascii(a.local_part) && !has_non_ascii(a.domain));
  (void)smtp::normalize_domain(a.domain);

  // The path as we would write it (Received:, the spool, a relay's MAIL
  // FROM) parses back to the same mailbox.
  const std::string written = p.path.str();
  const smtp::PathParse again = smtp::parse_path(written, allow_null, utf8);
  FUZZ_CHECK(again.error == smtp::AddressError::none);
  FUZZ_CHECK(again.consumed == written.size());
  FUZZ_CHECK(again.path.mailbox && *again.path.mailbox == a);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input input(data, size);
  const std::uint8_t flags = input.setting();
  const bool allow_null = flags & 1;
  const bool utf8 = flags & 2;
  const smtp::ParamContext ctx{(flags & 4) != 0, kSizeLimits[(flags >> 3) & 3]};
  const std::string_view line = input.rest();

  const smtp::CommandLine cmd = smtp::split_command(line);
  FUZZ_CHECK(within(line, cmd.verb_text) && within(line, cmd.argument));
  FUZZ_CHECK(cmd.verb == smtp::Verb::unknown || smtp::verb_name(cmd.verb).size() == cmd.verb_text.size());
  FUZZ_CHECK(cmd.argument.empty() || (cmd.argument.back() != ' ' && cmd.argument.back() != '\t'));

  // As the session does: "FROM:" / "TO:", spaces, the path, the parameters.
  std::string_view arg = cmd.argument;
  if (!smtp::consume_prefix_icase(arg, "FROM:")) (void)smtp::consume_prefix_icase(arg, "TO:");
  while (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);
  check_path(arg, allow_null, utf8);

  const smtp::PathParse parsed = smtp::parse_path(arg, allow_null, utf8);
  const std::string_view params = parsed.error == smtp::AddressError::none ? arg.substr(parsed.consumed) : arg;

  smtp::MailParams mail;
  const auto mail_refusal = smtp::parse_mail_params(params, ctx, mail);
  check_reply(mail_refusal);
  if (!mail_refusal) {
    if (ctx.max_message_size && mail.declared_size) FUZZ_CHECK(*mail.declared_size <= ctx.max_message_size);
    FUZZ_CHECK(mail.envid.size() <= 100);
  }

  smtp::Recipient rcpt;
  const auto rcpt_refusal = smtp::parse_rcpt_params(params, ctx, rcpt);
  check_reply(rcpt_refusal);
  if (!rcpt_refusal) {
    // NEVER stands alone (RFC 3461 §4.1).
    FUZZ_CHECK(!(rcpt.notify & smtp::notify_never) || rcpt.notify == smtp::notify_never);
    FUZZ_CHECK(rcpt.orcpt.empty() || rcpt.orcpt.find(';') != std::string::npos);
  }

  std::string decoded;
  if (smtp::xtext_decode(line, decoded)) FUZZ_CHECK(decoded.size() <= line.size());
  return 0;
}
