#include "smtp/mail_params.hpp"

#include <cctype>
#include <charconv>

#include "smtp/command.hpp"
#include "smtp/reply_codes.hpp"

namespace petrel::smtp {
namespace {

constexpr std::size_t kMaxEnvid = 100;   // RFC 3461 §4.4
constexpr std::size_t kMaxOrcpt = 500;   // RFC 3461 §4.2

struct Param {
  std::string_view keyword;
  std::string_view value;
  bool has_value = false;
};

// Calls visit(param) for each space-separated keyword[=value]; stops at the
// first reply visit returns.
template <typename Visit>
std::optional<Reply> for_each_param(std::string_view text, Visit visit) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
    if (pos >= text.size()) break;
    std::size_t end = pos;
    while (end < text.size() && text[end] != ' ' && text[end] != '\t') ++end;
    std::string_view item = text.substr(pos, end - pos);
    Param p;
    if (auto eq = item.find('='); eq != std::string_view::npos) {
      p.keyword = item.substr(0, eq);
      p.value = item.substr(eq + 1);
      p.has_value = true;
    } else {
      p.keyword = item;
    }
    if (auto reply = visit(p)) return reply;
    pos = end;
  }
  return std::nullopt;
}

bool keyword_is(const Param& p, std::string_view upper) {
  std::string_view k = p.keyword;
  return consume_prefix_icase(k, upper) && k.empty();
}

bool value_is(const Param& p, std::string_view upper) {
  std::string_view v = p.value;
  return consume_prefix_icase(v, upper) && v.empty();
}

// The keyword as echoed in a reply: a bare CR or other control octet from
// the client must not reach the reply, where it could forge a reply line.
std::string echoed(const Param& p) {
  std::string out;
  for (char c : p.keyword.substr(0, 40)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  return out;
}

Reply bad_value(const Param& p) {
  return Reply(codes::k501Syntax, "Bad value for the " + echoed(p) + " parameter");
}

Reply duplicate(const Param& p) {
  return Reply(codes::k501Syntax, "The " + echoed(p) + " parameter is given twice");
}

Reply unsupported(const Param& p) {
  return Reply(codes::k555ParamNotRecognized, "Unsupported parameter " + echoed(p));
}

std::optional<Reply> parse_size(const Param& p, const ParamContext& ctx, MailParams& out) {
  if (out.declared_size) return duplicate(p);
  std::uint64_t size = 0;
  auto [end, ec] = std::from_chars(p.value.data(), p.value.data() + p.value.size(), size);
  if (p.value.empty() || ec != std::errc() || end != p.value.data() + p.value.size()) {
    // A number too large to represent is certainly over the limit.
    if (ec == std::errc::result_out_of_range) {
      return Reply(codes::k552MessageTooBig, "Message size exceeds fixed maximum message size");
    }
    return bad_value(p);
  }
  if (ctx.max_message_size && size > ctx.max_message_size) {
    return Reply(codes::k552MessageTooBig, "Message size exceeds fixed maximum message size");
  }
  out.declared_size = size;
  return std::nullopt;
}

std::optional<Reply> parse_body(const Param& p, MailParams& out) {
  if (out.body != BodyType::unspecified) return duplicate(p);
  if (value_is(p, "7BIT")) out.body = BodyType::seven_bit;
  else if (value_is(p, "8BITMIME")) out.body = BodyType::eight_bit_mime;
  else if (value_is(p, "BINARYMIME")) out.body = BodyType::binary_mime;
  else return bad_value(p);
  return std::nullopt;
}

std::optional<Reply> parse_notify(const Param& p, Recipient& out) {
  if (out.notify != notify_unspecified) return duplicate(p);
  std::string_view rest = p.value;
  std::uint8_t notify = 0;
  // Every comma-separated item must be a keyword, so "SUCCESS," is refused.
  for (;;) {
    auto comma = rest.find(',');
    Param item{p.keyword, rest.substr(0, comma), true};
    if (value_is(item, "NEVER")) notify |= notify_never;
    else if (value_is(item, "SUCCESS")) notify |= notify_success;
    else if (value_is(item, "FAILURE")) notify |= notify_failure;
    else if (value_is(item, "DELAY")) notify |= notify_delay;
    else return bad_value(p);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  // RFC 3461 §4.1: NEVER stands alone.
  if ((notify & notify_never) && notify != notify_never) return bad_value(p);
  out.notify = notify;
  return std::nullopt;
}

std::optional<Reply> parse_orcpt(const Param& p, Recipient& out) {
  if (!out.orcpt.empty()) return duplicate(p);
  auto semi = p.value.find(';');
  if (semi == 0 || semi == std::string_view::npos || p.value.size() > kMaxOrcpt) return bad_value(p);
  std::string decoded;
  if (!xtext_decode(p.value.substr(semi + 1), decoded) || decoded.empty()) return bad_value(p);
  out.orcpt = std::string(p.value.substr(0, semi)) + ";" + decoded;
  return std::nullopt;
}

}  // namespace

bool xtext_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    auto c = static_cast<unsigned char>(in[i]);
    if (c == '+') {
      if (i + 2 >= in.size()) return false;  // needs two hex digits
      unsigned value = 0;
      auto [end, ec] = std::from_chars(in.data() + i + 1, in.data() + i + 3, value, 16);
      if (ec != std::errc() || end != in.data() + i + 3) return false;
      out.push_back(static_cast<char>(value));
      i += 2;
    } else if (c >= 33 && c <= 126 && c != '=') {
      out.push_back(static_cast<char>(c));
    } else {
      return false;
    }
  }
  return true;
}

std::optional<Reply> parse_mail_params(std::string_view text, const ParamContext& ctx, MailParams& out) {
  return for_each_param(text, [&](const Param& p) -> std::optional<Reply> {
    if (!ctx.esmtp) return unsupported(p);  // RFC 5321 §4.1.1.11: parameters need EHLO
    if (keyword_is(p, "SIZE")) return parse_size(p, ctx, out);
    if (keyword_is(p, "BODY")) return parse_body(p, out);
    if (keyword_is(p, "SMTPUTF8")) {
      if (p.has_value) return bad_value(p);
      out.smtputf8 = true;
      return std::nullopt;
    }
    if (keyword_is(p, "RET")) {
      if (out.ret != DsnRet::unspecified) return duplicate(p);
      if (value_is(p, "FULL")) out.ret = DsnRet::full;
      else if (value_is(p, "HDRS")) out.ret = DsnRet::headers;
      else return bad_value(p);
      return std::nullopt;
    }
    if (keyword_is(p, "ENVID")) {
      if (!out.envid.empty()) return duplicate(p);
      if (p.value.size() > kMaxEnvid || !xtext_decode(p.value, out.envid) || out.envid.empty()) return bad_value(p);
      return std::nullopt;
    }
    if (keyword_is(p, "REQUIRETLS")) {
      if (p.has_value) return bad_value(p);
      // RFC 8689 §4: offered only after STARTTLS; X.7.10 encryption needed.
      if (!ctx.tls) return Reply(codes::k530RequireTlsInClear, "REQUIRETLS needs a TLS session: STARTTLS first");
      out.requiretls = true;
      return std::nullopt;
    }
    if (keyword_is(p, "AUTH") && ctx.auth_offered) {
      if (!out.auth.empty()) return duplicate(p);
      if (!xtext_decode(p.value, out.auth) || out.auth.empty()) return bad_value(p);
      return std::nullopt;
    }
    return unsupported(p);
  });
}

std::optional<Reply> parse_rcpt_params(std::string_view text, const ParamContext& ctx, Recipient& out) {
  return for_each_param(text, [&](const Param& p) -> std::optional<Reply> {
    if (!ctx.esmtp) return unsupported(p);
    if (keyword_is(p, "NOTIFY")) return parse_notify(p, out);
    if (keyword_is(p, "ORCPT")) return parse_orcpt(p, out);
    return unsupported(p);
  });
}

}  // namespace petrel::smtp
