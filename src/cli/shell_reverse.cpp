#include "cli/shell_reverse.hpp"

#include <algorithm>

#include "cli/terminal.hpp"
#include "smtp/address.hpp"
#include "smtp/command.hpp"
#include "smtp/reply_codes.hpp"

namespace petrel::cli::shell {
namespace {

namespace codes = smtp::codes;

ReverseEvent reply_event(const smtp::Reply& reply) {
  ReverseEvent e;
  e.kind = ReverseEvent::Kind::reply;
  e.code = reply.code();
  // No ENHANCEDSTATUSCODES in the EHLO reply, so none on the replies.
  e.wire = reply.wire(/*enhanced=*/false);
  e.text = e.wire;
  e.text.erase(std::remove(e.text.begin(), e.text.end(), '\r'), e.text.end());
  if (!e.text.empty() && e.text.back() == '\n') e.text.pop_back();
  return e;
}

ReverseEvent event(ReverseEvent::Kind kind, std::string text = {}) {
  ReverseEvent e;
  e.kind = kind;
  e.text = std::move(text);
  return e;
}

void reply(std::vector<ReverseEvent>& out, smtp::Status status, std::string text) {
  out.push_back(reply_event(smtp::Reply(status, std::move(text))));
}

// The path after "FROM:" or "TO:", parameters after it ignored: the
// provider sends only those the EHLO reply offered (BODY=, SIZE=).
std::optional<std::string> path_of(std::string_view argument, std::string_view prefix, bool allow_null) {
  if (!smtp::consume_prefix_icase(argument, prefix)) return std::nullopt;
  while (argument.starts_with(' ')) argument.remove_prefix(1);  // "FROM: <a>" is seen in the wild
  const auto parsed = smtp::parse_path(argument, allow_null, /*utf8_allowed=*/true);
  if (parsed.error != smtp::AddressError::none) return std::nullopt;
  return parsed.path.str();
}

}  // namespace

ReverseServer::ReverseServer(std::string hostname, ReverseLimits limits)
    : hostname_(std::move(hostname)), limits_(limits) {}

ReverseEvent ReverseServer::greeting() const {
  return reply_event(smtp::Reply(codes::k220Greeting, hostname_ + " ESMTP petrel shell (ODMR, RFC 2645)"));
}

std::vector<ReverseEvent> ReverseServer::feed(std::string_view bytes) {
  std::vector<ReverseEvent> out;
  while (!bytes.empty() && !closed_) {
    if (dot_) {
      bytes.remove_prefix(feed_data(bytes, out));
      continue;
    }
    const auto lf = bytes.find('\n');
    const std::string_view piece = bytes.substr(0, lf == std::string_view::npos ? bytes.size() : lf);
    bytes.remove_prefix(lf == std::string_view::npos ? bytes.size() : lf + 1);
    // Bounded: an overlong line is dropped as it comes, and answered at its end.
    if (!line_too_long_ && line_.size() + piece.size() + 2 > limits_.max_command_line) {
      line_too_long_ = true;
      line_.clear();
    }
    if (!line_too_long_) line_.append(piece);
    if (lf == std::string_view::npos) break;
    if (line_too_long_) {
      line_too_long_ = false;
      out.push_back(event(ReverseEvent::Kind::command,
                          "(a command line over " + std::to_string(limits_.max_command_line) + " octets)"));
      reply(out, codes::k500LineTooLong, "Line too long");
      continue;
    }
    std::string line = std::move(line_);
    line_.clear();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    on_line(line, out);
  }
  return out;
}

void ReverseServer::on_line(std::string_view line, std::vector<ReverseEvent>& out) {
  out.push_back(event(ReverseEvent::Kind::command, printable(std::string(line))));
  on_command(line, out);
}

void ReverseServer::on_command(std::string_view line, std::vector<ReverseEvent>& out) {
  using smtp::Verb;
  const smtp::CommandLine command = smtp::split_command(line);
  switch (command.verb) {
    case Verb::ehlo:
      reset();
      greeted_ = true;
      out.push_back(reply_event(smtp::Reply(
          codes::k250Helo, std::vector<std::string>{hostname_, "8BITMIME", "PIPELINING",
                                                    "SIZE " + std::to_string(limits_.max_message_size)})));
      return;
    case Verb::helo:
      reset();
      greeted_ = true;
      reply(out, codes::k250Helo, hostname_);
      return;
    case Verb::mail: on_mail(command.argument, out); return;
    case Verb::rcpt: on_rcpt(command.argument, out); return;
    case Verb::data: on_data(out); return;
    case Verb::rset:
      reset();
      reply(out, codes::k250Ok, "OK");
      return;
    case Verb::noop: reply(out, codes::k250Ok, "OK"); return;
    case Verb::quit:
      reply(out, codes::k221Closing, hostname_ + " closing connection");
      out.push_back(event(ReverseEvent::Kind::closed));
      closed_ = true;
      return;
    case Verb::unknown: reply(out, codes::k500Unrecognized, "Command unrecognized"); return;
    default: reply(out, codes::k502NotImplemented, "Command not implemented"); return;
  }
}

void ReverseServer::on_mail(std::string_view argument, std::vector<ReverseEvent>& out) {
  if (!greeted_ || transaction_) {
    reply(out, codes::k503BadSequence, transaction_ ? "Nested MAIL command" : "Say EHLO first");
    return;
  }
  auto path = path_of(argument, "FROM:", /*allow_null=*/true);
  if (!path) {
    reply(out, codes::k501BadSenderSyntax, "Syntax: MAIL FROM:<address>");
    return;
  }
  transaction_.emplace();
  transaction_->reverse_path = std::move(*path);
  reply(out, codes::k250SenderOk, "OK");
}

void ReverseServer::on_rcpt(std::string_view argument, std::vector<ReverseEvent>& out) {
  if (!transaction_) {
    reply(out, codes::k503BadSequence, "MAIL first");
    return;
  }
  auto path = path_of(argument, "TO:", /*allow_null=*/false);
  if (!path) {
    reply(out, codes::k501BadRecipientSyntax, "Syntax: RCPT TO:<address>");
    return;
  }
  if (transaction_->forward_paths.size() >= limits_.max_recipients) {
    reply(out, codes::k452TooManyRecipients, "Too many recipients");
    return;
  }
  transaction_->forward_paths.push_back(std::move(*path));
  reply(out, codes::k250RecipientOk, "OK");
}

void ReverseServer::on_data(std::vector<ReverseEvent>& out) {
  if (!transaction_ || transaction_->forward_paths.empty()) {
    reply(out, codes::k503BadSequence, transaction_ ? "RCPT first" : "MAIL first");
    return;
  }
  smtp::DotReader::Limits limits;
  limits.max_size = limits_.max_message_size;
  limits.max_line = 0;  // the provider's mail as it is: no line limit of ours
  limits.bare_line_endings = smtp::BareLineEndingPolicy::normalize;
  dot_.emplace(limits);
  reply(out, codes::k354StartMail, "End data with <CR><LF>.<CR><LF>");
}

std::size_t ReverseServer::feed_data(std::string_view bytes, std::vector<ReverseEvent>& out) {
  const std::size_t used = dot_->feed(bytes, transaction_->content);
  if (dot_->done()) end_of_data(out);
  return used;
}

void ReverseServer::end_of_data(std::vector<ReverseEvent>& out) {
  const smtp::DotReader reader = *dot_;
  dot_.reset();
  ReceivedMessage message = std::move(*transaction_);
  transaction_.reset();
  message.lines = static_cast<std::size_t>(std::count(message.content.begin(), message.content.end(), '\n'));
  out.push_back(event(ReverseEvent::Kind::content, "(" + std::to_string(message.lines) + " lines, " +
                                                        std::to_string(reader.size()) + " octets of message content)"));
  // The dot reader read to the end whatever the size (chasquid's lesson):
  // only now may a refusal be sent.
  if (reader.verdict() == smtp::DotReader::Verdict::too_big) {
    reply(out, codes::k552MessageTooBig,
          "Message over " + std::to_string(limits_.max_message_size) + " octets (SIZE)");
    return;
  }
  reply(out, codes::k250Queued, "OK: received");
  ReverseEvent accepted = event(ReverseEvent::Kind::message);
  accepted.message = std::move(message);
  out.push_back(std::move(accepted));
}

void ReverseServer::reset() {
  transaction_.reset();
  dot_.reset();
}

}  // namespace petrel::cli::shell
