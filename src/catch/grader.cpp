// The grader's view of the dialogue: command lines, replies, the
// extensions offered and used. The message content is graded in
// grader_message.cpp.
#include "catch/grader.hpp"
#include "util/ascii.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace petrel::catcher {
namespace {

constexpr std::size_t kMaxLineKept = 4096;  // a command line's octets kept; the rest are counted only

using util::ascii_upper;

bool consume_icase(std::string_view& s, std::string_view prefix) {
  if (s.size() < prefix.size() || ascii_upper(s.substr(0, prefix.size())) != prefix) return false;
  s.remove_prefix(prefix.size());
  return true;
}

bool has_non_ascii(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

std::string_view first_word(std::string_view s) { return s.substr(0, s.find(' ')); }

// "FROM:<a@b> SIZE=1 BODY=8BITMIME": the path between < and >, and the
// parameters after it.
struct PathAndParams {
  std::string path;
  std::vector<std::pair<std::string, std::string>> params;  // upper-case keyword, value as sent
};

PathAndParams split_path(std::string_view arg) {
  PathAndParams out;
  while (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);
  std::size_t end = arg.find(' ');
  if (!arg.empty() && arg.front() == '<') {
    const auto close = arg.find('>');
    end = close == std::string_view::npos ? arg.size() : close + 1;
  }
  if (end == std::string_view::npos) end = arg.size();
  out.path = std::string(arg.substr(0, end));
  arg.remove_prefix(end);
  while (!arg.empty()) {
    while (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);
    const std::string_view word = first_word(arg);
    arg.remove_prefix(word.size());
    if (word.empty()) continue;
    const auto eq = word.find('=');
    out.params.emplace_back(ascii_upper(word.substr(0, eq)), eq == std::string_view::npos ? "" : std::string(word.substr(eq + 1)));
  }
  return out;
}

// The EHLO keyword that announces a MAIL or RCPT parameter (RFC 1870,
// 6152, 3030, 6531, 3461, 8689, 4954 §5).
std::string offering_extension(const std::string& key, const std::string& value) {
  if (key == "BODY") return ascii_upper(value) == "BINARYMIME" ? "BINARYMIME" : "8BITMIME";
  if (key == "RET" || key == "ENVID" || key == "NOTIFY" || key == "ORCPT") return "DSN";
  if (key == "MT-PRIORITY") return "MT-PRIORITY";
  return key;  // SIZE, SMTPUTF8, REQUIRETLS, AUTH, and any other under its own name
}

// Mechanisms that put the password itself on the wire (base64 is no cover).
bool sends_password(std::string_view mechanism) {
  return mechanism == "PLAIN" || mechanism == "LOGIN" || mechanism == "XOAUTH2" || mechanism == "OAUTHBEARER";
}

}  // namespace

Grader::Grader(GraderOptions options) : options_(options) {}

bool Grader::is_offered(std::string_view keyword) const {
  return std::find(offered_.begin(), offered_.end(), keyword) != offered_.end();
}

void Grader::use(std::string_view extension) {
  if (std::find(used_.begin(), used_.end(), extension) == used_.end()) used_.emplace_back(extension);
}

void Grader::require_offer(std::string_view keyword, std::string_view what) {
  if (is_offered(keyword)) return;
  add("extension-without-offer", std::string(what) + " was sent, but the EHLO reply did not offer " +
                                     std::string(keyword));
}

void Grader::read_started() {
  ended_in_read_ = 0;
  pipelining_known_ = is_offered("PIPELINING");
}

void Grader::client(ClientPart part, std::string_view raw) {
  switch (part) {
    case ClientPart::command: return command_octets(raw);
    case ClientPart::data:
    case ClientPart::bdat:
      if (content_) content_->feed(raw);
      return;
  }
}

void Grader::command_octets(std::string_view raw) {
  while (!raw.empty()) {
    const auto newline = raw.find('\n');
    const std::string_view piece = raw.substr(0, newline == std::string_view::npos ? raw.size() : newline + 1);
    raw.remove_prefix(piece.size());
    if (line_.empty()) line_pipelined_ = ended_in_read_ > 0;
    line_.append(piece.substr(0, kMaxLineKept > line_.size() ? kMaxLineKept - line_.size() : 0));
    if (newline == std::string_view::npos) return;
    std::string_view line = line_;
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (auth_continues_) {
      // A SASL response (RFC 4954 §4), graded with the AUTH it answers.
      auth_continues_ = false;
      last_verb_ = "AUTH";
      line_.clear();
      continue;
    }
    if (line_pipelined_) {
      // RFC 2920 §3.1: a client may send a command before the reply to the
      // last only when the server's EHLO reply offered PIPELINING.
      if (pipelining_known_) {
        use("PIPELINING");
        add("pipelining-used", "the client sent commands without waiting for each reply");
      } else {
        add("pipelining-without-offer", "\"" + std::string(line.substr(0, 60)) +
                                            "\" was sent before the reply to the command before it, and "
                                            "PIPELINING was not offered");
      }
    }
    command(line);
    line_.clear();
    ++ended_in_read_;
  }
}

void Grader::command(std::string_view line) {
  const std::string verb = ascii_upper(first_word(line));
  std::string_view argument = line.substr(std::min(line.size(), verb.size()));
  while (!argument.empty() && argument.front() == ' ') argument.remove_prefix(1);
  last_verb_ = verb;
  if (verb == "EHLO" || verb == "HELO") {
    if (verb == "HELO" && options_.esmtp && !ehlo_refused_) {
      add("helo-not-ehlo", "the client greeted with HELO; the server speaks ESMTP and would have answered EHLO");
    }
    greeting_verb_ = verb;
    helo_name_ = std::string(argument.substr(0, 255));
    transaction_.reset();
    content_.reset();
  } else if (verb == "MAIL") {
    mail(argument);
    if (pending_mail_) retried("MAIL", pending_mail_->reverse_path);
  } else if (verb == "RCPT") {
    rcpt(argument);
    if (pending_rcpt_) retried("RCPT", *pending_rcpt_);
  } else if (verb == "AUTH") {
    auth(argument);
  } else if (verb == "RSET") {
    transaction_.reset();
    content_.reset();
  } else if (verb == "QUIT") {
    quit_ = true;
  } else if (verb == "STARTTLS") {
    require_offer("STARTTLS", "STARTTLS");
  } else if (verb == "BDAT") {
    require_offer("CHUNKING", "BDAT");
    use("CHUNKING");
    add("chunking-used", "the client sent the message in BDAT chunks (RFC 3030)");
    std::string_view rest = argument.substr(std::min(argument.size(), first_word(argument).size()));
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    bdat_last_ = ascii_upper(rest) == "LAST";
    if (transaction_ && !content_) content_ = std::make_unique<ContentScanner>(false, options_.max_line);
    if (transaction_) transaction_->chunked = true;
  }
}

void Grader::before_mail_or_auth(std::string_view verb) {
  // Once a session: the lapse is not taking STARTTLS, not each command after.
  if (starttls_offered_ && !tls_ && !starttls_lapse_) {
    starttls_lapse_ = true;
    add("starttls-not-taken", std::string(verb) + " was sent in the clear although STARTTLS was offered");
  }
}

void Grader::mail(std::string_view argument) {
  before_mail_or_auth("MAIL");
  if (!consume_icase(argument, "FROM:")) return;
  const PathAndParams parsed = split_path(argument);
  GradedMessage m;
  m.reverse_path = parsed.path;
  for (const auto& [key, value] : parsed.params) {
    require_offer(offering_extension(key, value), key + "=" + value.substr(0, 20));
    if (key == "SIZE") {
      std::uint64_t size = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), size);
      if (ec == std::errc() && end == value.data() + value.size()) m.declared_size = size;
      use("SIZE");
    } else if (key == "BODY") {
      m.body = ascii_upper(value);
      if (m.body == "8BITMIME" || m.body == "BINARYMIME") use(m.body);
    } else if (key == "SMTPUTF8") {
      m.smtputf8 = true;
      use("SMTPUTF8");
    } else if (key == "RET" || key == "ENVID") {
      use("DSN");
    } else if (key == "REQUIRETLS") {
      use("REQUIRETLS");
    }
  }
  if (has_non_ascii(m.reverse_path) && !m.smtputf8) {
    add("utf8-without-smtputf8", "MAIL FROM:" + m.reverse_path + " is not ASCII, without the SMTPUTF8 parameter");
  }
  pending_mail_ = std::move(m);
}

void Grader::rcpt(std::string_view argument) {
  pending_rcpt_.reset();
  if (!consume_icase(argument, "TO:")) return;
  const PathAndParams parsed = split_path(argument);
  for (const auto& [key, value] : parsed.params) {
    require_offer(offering_extension(key, value), key + "=" + value.substr(0, 20));
    if (key == "NOTIFY" || key == "ORCPT") use("DSN");
  }
  const bool smtputf8 = transaction_ && transaction_->smtputf8;
  if (has_non_ascii(parsed.path) && !smtputf8) {
    add("utf8-without-smtputf8", "RCPT TO:" + parsed.path + " is not ASCII, without SMTPUTF8 on MAIL");
  }
  pending_rcpt_ = parsed.path;
}

void Grader::auth(std::string_view argument) {
  before_mail_or_auth("AUTH");
  require_offer("AUTH", "AUTH");
  use("AUTH");
  pending_auth_ = ascii_upper(first_word(argument));
  if (!tls_ && sends_password(pending_auth_)) {
    add("auth-in-clear", "AUTH " + pending_auth_ + " sent the password without TLS");
  }
}

void Grader::content_ended() {
  ++ended_in_read_;
  if (!content_) return;
  if (last_verb_ == "BDAT" && !bdat_last_) return;  // more chunks to come
  last_verb_ = "end-of-data";
  finish_message();
}

void Grader::tls_started(std::string_view protocol) {
  tls_ = true;
  tls_protocol_ = std::string(protocol);
  starttls_offered_ = false;
  offered_.clear();
  transaction_.reset();
  content_.reset();
  add("tls-version", "the client negotiated " + tls_protocol_);
}

void Grader::server_replied(std::string_view raw) {
  // "250-first\r\n250 last\r\n": only the first complete reply answers the
  // client; one after it (421 closing) is the server's own.
  reply_buffer_.append(raw);
  std::vector<std::string> lines;
  std::size_t pos = 0;
  bool answered = false;
  while (true) {
    const auto eol = reply_buffer_.find("\r\n", pos);
    if (eol == std::string::npos) break;
    const std::string_view line = std::string_view(reply_buffer_).substr(pos, eol - pos);
    pos = eol + 2;
    lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view{});
    if (line.size() < 4 || line[3] != '-') {
      int code = 0;
      std::from_chars(line.data(), line.data() + std::min<std::size_t>(3, line.size()), code);
      if (!answered) reply(code, lines);
      answered = true;
      lines.clear();
    }
  }
  reply_buffer_.erase(0, pos);
}

void Grader::reply(int code, const std::vector<std::string>& lines) {
  const bool positive = code >= 200 && code < 400;
  auth_continues_ = last_verb_ == "AUTH" && code == 334;
  if (code >= 400 && code < 500) transient(code);
  if (last_verb_ == "EHLO") return ehlo_reply(code, lines);
  if (last_verb_ == "MAIL") {
    if (positive && pending_mail_) {
      if (is_offered("SIZE") && !pending_mail_->declared_size) {
        add("no-size-declared", "MAIL FROM:" + pending_mail_->reverse_path + " without SIZE=, which was offered");
      }
      transaction_ = std::move(pending_mail_);
    }
    pending_mail_.reset();
  } else if (last_verb_ == "RCPT") {
    if (positive && transaction_ && pending_rcpt_) transaction_->forward_paths.push_back(*pending_rcpt_);
    pending_rcpt_.reset();
  } else if (last_verb_ == "DATA") {
    if (code == 354 && transaction_) content_ = std::make_unique<ContentScanner>(true, options_.max_line);
  } else if (last_verb_ == "STARTTLS") {
    if (code == 220) use("STARTTLS");
  } else if (last_verb_ == "AUTH") {
    if (code == 235) {
      auth_mechanism_ = pending_auth_;
      add("auth-mechanism", "the client authenticated with " + pending_auth_);
    }
  } else if (last_verb_ == "end-of-data") {
    if (!messages_.empty() && messages_.back().reply_code == 0) messages_.back().reply_code = code;
  }
}

void Grader::ehlo_reply(int code, const std::vector<std::string>& lines) {
  if (code != 250) {
    if (code >= 500) ehlo_refused_ = true;
    return;
  }
  offered_.clear();
  for (std::size_t i = 1; i < lines.size(); ++i) offered_.push_back(ascii_upper(first_word(lines[i])));
  starttls_offered_ = !tls_ && is_offered("STARTTLS");
}

// A 4xx to a command that carries mail: the client should try again (RFC
// 5321 §4.2.5). A 421 closed the connection, so only a later connection
// can; it is not counted here.
void Grader::transient(int code) {
  if (code == 421) return;
  const std::string said = " got " + std::to_string(code);
  if (last_verb_ == "RCPT" && pending_rcpt_) {
    deferrals_.push_back({"RCPT", *pending_rcpt_, "RCPT TO:" + *pending_rcpt_ + said});
  } else if (last_verb_ == "MAIL" && pending_mail_) {
    deferrals_.push_back({"MAIL", pending_mail_->reverse_path, "MAIL FROM:" + pending_mail_->reverse_path + said});
  } else if ((last_verb_ == "DATA" || last_verb_ == "BDAT") && transaction_) {
    const std::string& from = transaction_->reverse_path;
    deferrals_.push_back({"MAIL", from, last_verb_ + " for the message from " + from + said});
  } else if (last_verb_ == "end-of-data" && !messages_.empty()) {
    const std::string& from = messages_.back().reverse_path;
    deferrals_.push_back({"MAIL", from, "the message from " + from + said});
  }
}

void Grader::retried(std::string_view verb, const std::string& path) {
  std::erase_if(deferrals_, [&](const Deferral& d) { return d.verb == verb && ascii_upper(d.path) == ascii_upper(path); });
}

void Grader::closed() {
  if (closed_) return;
  closed_ = true;
  if (!quit_) add("no-quit", "the client closed the connection without QUIT");
  for (const auto& d : deferrals_) {
    add("retry-ignored", d.said + " and was not tried again in this session");
  }
}

}  // namespace petrel::catcher
