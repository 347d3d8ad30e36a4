// On-Demand Mail Relay (RFC 2645): on the ODMR port a client authenticates
// and says ATRN; the server then turns round on the same connection and
// delivers, as an SMTP client, the mail waiting for the client's domains.
// Unlike TURN (RFC 821), which trusted the client's word for its domain,
// ATRN comes after AUTH and only for domains the login may fetch. The
// reversed session itself is the caller's (src/server/).
#include <algorithm>

#include "smtp/command.hpp"
#include "smtp/reply_codes.hpp"
#include "smtp/server_session.hpp"

namespace petrel::smtp {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool plausible_domain(std::string_view d) {
  if (d.empty() || d.size() > 255) return false;
  return std::all_of(d.begin(), d.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != ',' && c != '<' && c != '>' && c != '"' && c != '@' && c != '#';
  });
}

// "dom1.example,dom2.example" (RFC 2645 §4.3: commas, no spaces; spaces
// around them are tolerated). nullopt when one of them is not a domain.
std::optional<std::vector<std::string>> split_domains(std::string_view arg) {
  std::vector<std::string> out;
  while (!arg.empty()) {
    const auto comma = arg.find(',');
    std::string_view item = arg.substr(0, comma);
    arg = comma == std::string_view::npos ? std::string_view{} : arg.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty() && item.back() == '.') item.remove_suffix(1);  // a root dot
    if (!plausible_domain(item)) return std::nullopt;
    std::string domain = lower(item);
    if (std::find(out.begin(), out.end(), domain) == out.end()) out.push_back(std::move(domain));
  }
  return out;
}

}  // namespace

// RFC 2645 §4.1: the ODMR server requires AUTH before anything else, and
// it is not a mail server: MAIL and what goes with it are refused.
bool ServerSession::odmr_refuses(const CommandLine& cmd) {
  switch (cmd.verb) {
    case Verb::mail:
    case Verb::rcpt:
    case Verb::data:
    case Verb::vrfy:
    case Verb::expn:
    case Verb::etrn:
      if (auth_user_.empty()) {
        error_reply(codes::k530AuthRequired, "Authentication required");
      } else {
        error_reply(codes::k502NotImplemented, "This port relays mail on demand only: ATRN (RFC 2645)");
      }
      return true;
    default:
      return false;  // BDAT reads its chunk and finds no transaction: 503
  }
}

std::vector<std::string> ServerSession::odmr_keywords(std::vector<std::string> keywords) const {
  std::erase_if(keywords, [](const std::string& k) { return !k.starts_with("AUTH") && k != "STARTTLS"; });
  keywords.emplace_back("ATRN");                 // RFC 2645 §4.2
  keywords.emplace_back("ENHANCEDSTATUSCODES");  // RFC 2034
  return keywords;
}

void ServerSession::atrn(const CommandLine& cmd) {
  if (!options_.odmr) {
    return error_reply(codes::k502NotImplemented, "ATRN is offered on the ODMR port only (RFC 2645)");
  }
  if (phase_ == Phase::greeting) return error_reply(codes::k503BadSequence, "Send EHLO first");
  if (auth_user_.empty()) return error_reply(codes::k530AuthRequired, "Authentication required");  // RFC 2645 §4.3
  const auto requested = split_domains(cmd.argument);
  if (!requested) return error_reply(codes::k501Syntax, "Syntax: ATRN [domain[,domain]...]");
  const auto mine = options_.odmr_domains.find(auth_user_);
  if (mine == options_.odmr_domains.end() || mine->second.empty()) {
    return error_reply(codes::k450AtrnRefused, "ATRN request refused");
  }
  for (const auto& d : *requested) {
    if (std::find(mine->second.begin(), mine->second.end(), d) == mine->second.end()) {
      return error_reply(codes::k450AtrnRefused, "ATRN request refused");
    }
  }
  // No argument: every domain of this login (RFC 2645 §4.3).
  atrn_domains_ = requested->empty() ? mine->second : *requested;
  need_ = Need::atrn;
}

void ServerSession::atrn_accepted() {
  if (need_ != Need::atrn) return;
  reply(codes::k250AtrnReversing, "OK now reversing the connection");
  phase_ = Phase::closed;
  need_ = Need::reversed;
  stats_.close_reason = "ATRN";
}

void ServerSession::atrn_no_mail() {
  if (need_ != Need::atrn) return;
  need_ = Need::input;
  reply(codes::k453NoMail, "You have no mail");
}

void ServerSession::atrn_unavailable() {
  if (need_ != Need::atrn) return;
  need_ = Need::input;
  reply(codes::k451AtrnUnavailable, "Unable to process ATRN request now");
}

}  // namespace petrel::smtp
