// One handler per SMTP verb (RFC 5321 §4.1.1 and the extensions).
#include <algorithm>
#include <charconv>

#include "smtp/command.hpp"
#include "smtp/mail_params.hpp"
#include "smtp/reply_codes.hpp"
#include "smtp/server_session.hpp"

namespace petrel::smtp {
namespace {

bool has_non_ascii(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// Echoing client text back must not let it shape our reply.
std::string printable(std::string_view s, std::size_t max = 40) {
  std::string out;
  for (char c : s.substr(0, max)) {
    auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  return out;
}

std::vector<std::string> help_text(Verb topic) {
  switch (topic) {
    case Verb::helo: return {"HELO <hostname>: identify yourself (plain SMTP)"};
    case Verb::ehlo: return {"EHLO <hostname>: identify yourself and list the extensions (ESMTP)"};
    case Verb::mail:
      return {"MAIL FROM:<sender> [SIZE=n] [BODY=7BIT|8BITMIME|BINARYMIME] [SMTPUTF8]",
              "  [RET=FULL|HDRS] [ENVID=id]: start a message; <> is the null sender"};
    case Verb::rcpt:
      return {"RCPT TO:<recipient> [NOTIFY=NEVER|SUCCESS,FAILURE,DELAY] [ORCPT=rfc822;addr]:",
              "  add a recipient; repeat for each recipient"};
    case Verb::data: return {"DATA: send the message; end it with a line holding only \".\""};
    case Verb::bdat: return {"BDAT <octets> [LAST]: send the next chunk of the message (CHUNKING)"};
    case Verb::rset: return {"RSET: abandon the current message"};
    case Verb::noop: return {"NOOP: do nothing, answer 250"};
    case Verb::quit: return {"QUIT: end the session"};
    case Verb::vrfy: return {"VRFY <user>: answered 252: users are not disclosed"};
    case Verb::expn: return {"EXPN <list>: mailing lists are not disclosed"};
    case Verb::help: return {"HELP [command]: this help"};
    case Verb::turn: return {"TURN: not supported, it is unsafe (RFC 2645)"};
    case Verb::etrn: return {"ETRN <domain>: deliver what waits for domain now (RFC 1985; trusted clients)"};
    case Verb::atrn: return {"ATRN [domain,...]: after AUTH, take the mail waiting for your domains (RFC 2645; ODMR port)"};
    case Verb::starttls: return {"STARTTLS: switch to TLS (RFC 3207), then EHLO again"};
    case Verb::auth: return {"AUTH <mechanism> [initial-response]: authenticate (RFC 4954), over TLS"};
    default: return {};
  }
}

}  // namespace

void ServerSession::on_command(std::string_view line) {
  const CommandLine cmd = split_command(line);
  const bool long_allowed = cmd.verb == Verb::mail || cmd.verb == Verb::rcpt;
  if (!long_allowed && line.size() + 2 > options_.limits.max_command_line) {
    error_reply(codes::k500LineTooLong, "Line too long");
    return;
  }
  if (options_.odmr && odmr_refuses(cmd)) return;
  // BDAT asks the hook itself, once it knows how long the chunk is.
  std::optional<HookPoint> point;
  switch (cmd.verb) {
    case Verb::helo:
    case Verb::ehlo: point = HookPoint::ehlo; break;
    case Verb::mail: point = HookPoint::mail; break;
    case Verb::rcpt: point = HookPoint::rcpt; break;
    case Verb::data: point = HookPoint::data; break;
    default: break;
  }
  if (point && overridden(*point, cmd.argument)) return;
  dispatch(cmd);
}

void ServerSession::dispatch(const CommandLine& cmd) {
  switch (cmd.verb) {
    case Verb::helo: return helo(cmd, false);
    case Verb::ehlo: return helo(cmd, true);
    case Verb::mail: return mail(cmd);
    case Verb::rcpt: return rcpt(cmd);
    case Verb::data: return data(cmd);
    case Verb::bdat: return bdat(cmd);
    case Verb::rset: return rset(cmd);
    case Verb::noop: return reply(codes::k250Ok, "Ok");
    case Verb::quit: return quit(cmd);
    case Verb::vrfy: return vrfy(cmd);
    case Verb::expn: return expn(cmd);
    case Verb::help: return help(cmd);
    case Verb::turn:
      return error_reply(codes::k502NotImplemented, "TURN is not supported: it is unsafe (RFC 2645)");
    case Verb::etrn: return etrn(cmd);
    case Verb::atrn: return atrn(cmd);
    case Verb::starttls: return starttls(cmd);
    case Verb::auth: return auth(cmd);
    case Verb::unknown:
      if (cmd.verb_text.empty()) return error_reply(codes::k500Unrecognized, "Empty command");
      return error_reply(codes::k500Unrecognized, "Command unrecognized: " + printable(cmd.verb_text));
  }
}

void ServerSession::helo(const CommandLine& cmd, bool extended) {
  if (cmd.argument.empty() || has_control(cmd.argument)) {
    return error_reply(codes::k501Syntax, extended ? "Syntax: EHLO hostname" : "Syntax: HELO hostname");
  }
  if (extended && !options_.esmtp) return error_reply(codes::k502NotImplemented, "EHLO not implemented; use HELO");
  // RFC 5321 §4.1.4: EHLO/HELO resets any transaction in progress.
  reset_transaction();
  phase_ = Phase::ready;
  esmtp_ = extended;
  helo_name_ = std::string(cmd.argument.substr(0, 255));
  if (!extended) {
    return reply(codes::k250Helo, options_.hostname);
  }
  std::vector<std::string> lines = ehlo_keywords();
  lines.insert(lines.begin(), options_.hostname + " Hello " + printable(helo_name_, 64) + " [" + client_address_ + "]");
  reply(Reply(codes::k250Helo, std::move(lines)));
}

std::vector<std::string> ServerSession::ehlo_keywords() const {
  // STARTTLS and AUTH early, where Postfix has them: some clients only look
  // for "250-STARTTLS", never for it on the last line.
  std::vector<std::string> keywords{
      "PIPELINING",                                                // RFC 2920
      "SIZE " + std::to_string(options_.limits.max_message_size),  // RFC 1870
      "ETRN",                                                      // RFC 1985
  };
  if (options_.starttls && !tls_) keywords.emplace_back("STARTTLS");  // RFC 3207
  if (auth_offered() && auth_user_.empty()) {                        // RFC 4954
    std::string line = "AUTH";
    for (const auto& m : offered_mechanisms()) line += ' ' + m;
    if (line.size() > 4) keywords.push_back(std::move(line));
  }
  if (options_.odmr) return odmr_keywords(std::move(keywords));
  for (const char* keyword : {
           "8BITMIME",             // RFC 6152
           "ENHANCEDSTATUSCODES",  // RFC 2034
           "SMTPUTF8",             // RFC 6531
           "CHUNKING",             // RFC 3030
           "BINARYMIME",           // RFC 3030
           "DSN",                  // RFC 3461
       }) {
    keywords.emplace_back(keyword);
  }
  if (tls_) keywords.emplace_back("REQUIRETLS");  // RFC 8689 §3: only over TLS
  if (options_.ehlo_offer) {
    std::erase_if(keywords, [&](const std::string& line) {
      const std::string keyword = line.substr(0, line.find(' '));
      return std::find(options_.ehlo_offer->begin(), options_.ehlo_offer->end(), keyword) == options_.ehlo_offer->end();
    });
  }
  return keywords;
}

void ServerSession::mail(const CommandLine& cmd) {
  if (phase_ == Phase::greeting) return error_reply(codes::k503BadSequence, "Send HELO or EHLO first");
  if (has_transaction()) return error_reply(codes::k503BadSequence, "Nested MAIL command");
  if (options_.submission && auth_user_.empty() && !trusted_network_) {
    return error_reply(codes::k530AuthRequired, "Authentication required");  // RFC 6409 §4.3
  }
  std::string_view arg = cmd.argument;
  if (!consume_prefix_icase(arg, "FROM:")) return error_reply(codes::k501Syntax, "Syntax: MAIL FROM:<address>");
  while (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);

  const PathParse parsed = parse_path(arg, /*allow_null=*/true, /*utf8_allowed=*/true);
  if (parsed.error != AddressError::none) {
    return error_reply(codes::k501BadSenderSyntax, "Bad sender address: " + std::string(describe(parsed.error)));
  }
  if (is_bare_postmaster(parsed.path)) {
    return error_reply(codes::k501BadSenderSyntax, "Bad sender address: " + std::string(describe(AddressError::bad_domain)));
  }
  MailParams params;
  const ParamContext ctx{esmtp_, options_.limits.max_message_size, auth_offered(), tls_.has_value()};
  if (auto refusal = parse_mail_params(arg.substr(parsed.consumed), ctx, params)) {
    if (refusal->status.code == 552) return reply(*refusal);
    return error_reply(refusal->status, refusal->lines.front());
  }
  if (!params.smtputf8 && parsed.path.mailbox && has_non_ascii(parsed.path.str())) {
    return reply(codes::k553NonAsciiAddress, "Non-ASCII sender address needs the SMTPUTF8 parameter (RFC 6531)");
  }
  // RFC 4954 §5: an AUTH= from a client we have not authenticated is not
  // believed.
  if (!params.auth.empty() && !identity().may_relay()) params.auth = "<>";
  if (auto refusal = policy_.check_sender(parsed.path, identity())) {
    return error_reply(refusal->status, refusal->lines.front());
  }
  envelope_ = Envelope{};
  envelope_.reverse_path = parsed.path;
  envelope_.params = std::move(params);
  envelope_.client_address = client_address_;
  envelope_.helo_name = helo_name_;
  phase_ = Phase::mail;
  reply(codes::k250SenderOk, "Ok");
}

void ServerSession::rcpt(const CommandLine& cmd) {
  if (phase_ != Phase::mail) return error_reply(codes::k503BadSequence, "Need MAIL before RCPT");
  if (bdat_in_progress_) return error_reply(codes::k503BadSequence, "RCPT cannot follow BDAT");
  std::string_view arg = cmd.argument;
  if (!consume_prefix_icase(arg, "TO:")) return error_reply(codes::k501Syntax, "Syntax: RCPT TO:<address>");
  while (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);

  const PathParse parsed = parse_path(arg, /*allow_null=*/false, envelope_.params.smtputf8);
  if (parsed.error == AddressError::non_ascii) {
    return reply(codes::k553NonAsciiAddress, "Non-ASCII recipient address needs SMTPUTF8 in MAIL FROM (RFC 6531)");
  }
  if (parsed.error != AddressError::none) {
    return error_reply(codes::k501BadRecipientSyntax,
                       "Bad recipient address: " + std::string(describe(parsed.error)));
  }
  Recipient recipient;
  recipient.forward_path = *parsed.path.mailbox;
  const ParamContext ctx{esmtp_, options_.limits.max_message_size, false, tls_.has_value()};
  if (auto refusal = parse_rcpt_params(arg.substr(parsed.consumed), ctx, recipient)) {
    return error_reply(refusal->status, refusal->lines.front());
  }
  if (envelope_.recipients.size() >= options_.limits.max_recipients) {
    return reply(codes::k452TooManyRecipients, "Too many recipients");
  }
  RecipientExpansion expansion = policy_.expand_recipient(recipient, identity(), envelope_.recipients.size());
  if (expansion.refusal) {
    ++recipients_refused_;
    return error_reply(expansion.refusal->status, expansion.refusal->lines.front());
  }
  // The local part is case-sensitive (RFC 5321 §2.4), the domain is not;
  // an alias's command or file is its own recipient.
  for (Recipient& r : expansion.recipients) {
    const auto same_recipient = [&](const Recipient& o) {
      return o.forward_path.local_part == r.forward_path.local_part && o.alias_target == r.alias_target &&
             normalize_domain(o.forward_path.domain) == normalize_domain(r.forward_path.domain);
    };
    if (std::any_of(envelope_.recipients.begin(), envelope_.recipients.end(), same_recipient)) continue;
    envelope_.recipients.push_back(std::move(r));
    ++stats_.recipients_accepted;
  }
  reply(codes::k250RecipientOk, "Ok");
}

void ServerSession::data(const CommandLine& cmd) {
  if (phase_ == Phase::greeting) return error_reply(codes::k503BadSequence, "Send HELO or EHLO first");
  if (phase_ != Phase::mail) return error_reply(codes::k503BadSequence, "Need MAIL command");
  if (bdat_in_progress_) return error_reply(codes::k503BadSequence, "DATA cannot follow BDAT");
  if (!cmd.argument.empty()) return error_reply(codes::k501Syntax, "Syntax: DATA");
  if (envelope_.params.body == BodyType::binary_mime) {
    // RFC 3030 §3: BINARYMIME content can only be sent with BDAT.
    return error_reply(codes::k503BadSequence, "BODY=BINARYMIME requires BDAT");
  }
  if (envelope_.recipients.empty()) return reply(codes::k554NoValidRecipients, "No valid recipients");
  DotReader::Limits limits;
  limits.max_size = options_.limits.max_message_size;
  limits.max_line = options_.limits.max_text_line;
  limits.bare_line_endings = options_.bare_line_endings;
  dot_reader_ = std::make_unique<DotReader>(limits);
  content_.clear();
  phase_ = Phase::data;
  reply(codes::k354StartMail, "End data with <CR><LF>.<CR><LF>");
}

void ServerSession::bdat(const CommandLine& cmd) {
  // "BDAT <size> [LAST]" (RFC 3030 §2). Once the size is known the chunk is
  // read even when the command fails, or its octets would be taken as commands.
  std::string_view arg = cmd.argument;
  const auto space = arg.find(' ');
  const std::string_view size_text = arg.substr(0, space);
  std::string_view rest = space == std::string_view::npos ? std::string_view{} : arg.substr(space + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  std::uint64_t size = 0;
  auto [end, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size);
  bool last = false;
  if (!rest.empty()) {
    std::string_view word = rest;
    last = consume_prefix_icase(word, "LAST") && word.empty();
  }
  if (size_text.empty() || ec != std::errc() || end != size_text.data() + size_text.size() ||
      (!rest.empty() && !last)) {
    return error_reply(codes::k501Syntax, "Syntax: BDAT <octets> [LAST]");
  }
  bdat_return_phase_ = phase_;
  bdat_remaining_ = size;
  bdat_last_ = last;
  bdat_failure_.reset();
  if (bdat_overridden(cmd.argument)) return;
  start_chunk(size);
  phase_ = Phase::bdat;
  if (size == 0) finish_bdat_chunk();
}

// Whether this chunk may go into the transaction: a failure (sent after
// the chunk) or room made for it.
void ServerSession::start_chunk(std::uint64_t size) {
  // A 503 is counted as an error when it is sent, after the chunk.
  if (bdat_failure_) return;  // the hook refused it
  if (phase_ == Phase::greeting) {
    bdat_failure_ = Reply(codes::k503BadSequence, "Send HELO or EHLO first");
  } else if (phase_ != Phase::mail) {
    bdat_failure_ = Reply(codes::k503BadSequence, "Need MAIL command");
  } else if (envelope_.recipients.empty()) {
    bdat_failure_ = Reply(codes::k554NoValidRecipients, "No valid recipients");
  } else {
    if (!bdat_in_progress_) {
      content_.clear();
      if (envelope_.params.body != BodyType::binary_mime) {
        line_checker_ = std::make_unique<TextLineChecker>(options_.limits.max_text_line, options_.bare_line_endings);
      }
    }
    bdat_in_progress_ = true;
    if (size > options_.limits.max_message_size - std::min<std::uint64_t>(content_size(), options_.limits.max_message_size)) {
      bdat_failure_ = Reply(codes::k552MessageTooBig, "Message size exceeds fixed maximum message size");
      content_.clear();
      content_.shrink_to_fit();
      spilled_ = 0;
    } else if (size > 0) {
      const std::uint64_t room = options_.limits.body_in_memory + (64 << 10);
      content_.reserve(content_.size() + static_cast<std::size_t>(std::min<std::uint64_t>(size, room)));
    }
  }
}

void ServerSession::rset(const CommandLine& cmd) {
  if (!cmd.argument.empty()) return error_reply(codes::k501Syntax, "Syntax: RSET");
  reset_transaction();
  reply(codes::k250Ok, "Ok");
}

void ServerSession::vrfy(const CommandLine& cmd) {
  if (cmd.argument.empty()) return error_reply(codes::k501Syntax, "Syntax: VRFY <address>");
  // RFC 5321 §3.5.3: 252 neither confirms nor denies, so users cannot be enumerated.
  reply(codes::k252CannotVrfy, "Cannot VRFY user, but will accept message and attempt delivery");
}

void ServerSession::expn(const CommandLine& cmd) {
  if (cmd.argument.empty()) return error_reply(codes::k501Syntax, "Syntax: EXPN <list>");
  if (options_.expn == ExpnPolicy::answer_252) {
    return reply(codes::k252CannotVrfy, "Cannot EXPN list, but will accept message and attempt delivery");
  }
  error_reply(codes::k502NotImplemented, "EXPN is disabled");
}

void ServerSession::help(const CommandLine& cmd) {
  if (cmd.argument.empty()) {
    return reply(Reply(codes::k214Help,
                       std::vector<std::string>{
                           "Petrel ESMTP server. Commands:",
                           "  HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH ETRN",
                           "Extensions: PIPELINING SIZE 8BITMIME ENHANCEDSTATUSCODES SMTPUTF8",
                           "  CHUNKING BINARYMIME DSN",
                           "\"HELP <command>\" gives details; see RFC 5321.",
                       }));
  }
  const CommandLine topic = split_command(cmd.argument);
  auto text = help_text(topic.verb);
  if (text.empty()) return reply(codes::k504ParamNotImplemented, "No help for " + printable(cmd.argument));
  reply(Reply(codes::k214Help, std::move(text)));
}

// RFC 1985: "ETRN domain" or "ETRN @domain" (that domain and its
// subdomains); "#queue" names are not supported.
void ServerSession::etrn(const CommandLine& cmd) {
  if (phase_ == Phase::greeting) return error_reply(codes::k503BadSequence, "Send HELO or EHLO first");
  if (has_transaction()) return error_reply(codes::k503BadSequence, "ETRN not permitted during a mail transaction");
  std::string_view node = cmd.argument;
  if (!node.empty() && node.front() == '@') node.remove_prefix(1);
  const bool plausible = !node.empty() && node.find_first_of(" #<>\"@") == std::string_view::npos && !has_control(node);
  if (!plausible) return error_reply(codes::k501Syntax, "Syntax: ETRN domain");
  // The policy sees "@domain" as given: the domain and its subdomains.
  reply(policy_.start_queue_run(cmd.argument, identity()));
}

void ServerSession::quit(const CommandLine&) {
  close_with(codes::k221Closing, options_.hostname + " Bye", "QUIT");
}

}  // namespace petrel::smtp
