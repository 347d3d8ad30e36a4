// One mail transaction of ClientSession: MAIL, RCPT, DATA or BDAT, and the
// outcome for each recipient (RFC 5321 §3.3, RFC 2920, RFC 3030, RFC 2033).
#include <algorithm>
#include <stdexcept>

#include "smtp/client_commands.hpp"
#include "smtp/client_session.hpp"
#include "smtp/client_transaction.hpp"
#include "smtp/eight_bit_downgrade.hpp"
#include "smtp/reply_codes.hpp"

namespace petrel::smtp {
namespace {

DeliveryOutcome outcome_of(const ServerReply& r) {
  if (r.positive()) return DeliveryOutcome::delivered;
  return r.transient() ? DeliveryOutcome::deferred : DeliveryOutcome::failed;
}

bool has_line_break(std::string_view command) {
  return command.find_first_of(std::string_view("\r\n\0", 3)) != command.size() - 2;
}

bool non_ascii_addresses(const OutgoingMessage& m) {
  if (m.reverse_path.mailbox && has_eight_bit(m.reverse_path.mailbox->str())) return true;
  return std::any_of(m.recipients.begin(), m.recipients.end(),
                     [](const Recipient& r) { return has_eight_bit(r.forward_path.str()); });
}

bool text_body(const OutgoingMessage& m) { return m.params.body != BodyType::binary_mime; }

}  // namespace

void ClientSession::Transaction::settle(std::size_t index, const ServerReply& reply) {
  result.recipients[index] = {outcome_of(reply), reply};
  settled[index] = true;
}

// What this client refuses to send to this server, decided before a
// command goes out.
std::optional<ServerReply> ClientSession::refusal(const OutgoingMessage& m) const {
  // RFC 1870 §6.1: do not send what the server has said it will not take.
  if (caps_.size && *caps_.size > 0 && m.content.size() > *caps_.size) {
    return ServerReply::made_here(codes::k552MessageTooBig, "Message size " + std::to_string(m.content.size()) +
                                                                " exceeds the server's limit of " +
                                                                std::to_string(*caps_.size));
  }
  // RFC 3030 §3: BINARYMIME only over BDAT.
  if (m.params.body == BodyType::binary_mime &&
      !(caps_.binary_mime && caps_.chunking && options_.protocol == ClientProtocol::smtp)) {
    return ServerReply::made_here(codes::k554ConversionNeeded, "The server does not accept binary content (BINARYMIME)");
  }
  // What send_message() could not convert to 7 bits (RFC 6152 §3).
  if (m.params.body == BodyType::eight_bit_mime && !caps_.eight_bit_mime && has_eight_bit(m.content)) {
    return ServerReply::made_here(codes::k554ConversionNeeded,
                                  "The server does not accept 8-bit content (8BITMIME), and it cannot be converted");
  }
  // RFC 8689 §4.2.1: never to a next hop without REQUIRETLS, nor in the clear.
  if (m.params.requiretls && !(encrypted_ && caps_.requiretls)) {
    return ServerReply::made_here(codes::k550RequireTlsNotOffered, "REQUIRETLS support required, but the server does not offer it");
  }
  // RFC 6531 §3.2: no downgrade; the message needs a server with SMTPUTF8.
  if ((m.params.smtputf8 || non_ascii_addresses(m)) && !caps_.smtputf8) {
    return ServerReply::made_here(codes::k553Utf8NotOffered, "The server does not offer SMTPUTF8");
  }
  return std::nullopt;
}

// RFC 6152 §3: 8-bit content for a server without 8BITMIME is converted
// to 7 bits where MIME allows (as Postfix does), and then goes without
// BODY=; content declared 8BITMIME that is in fact ASCII just drops it.
void ClientSession::downgrade_if_needed(OutgoingMessage& m) const {
  if (m.params.body != BodyType::eight_bit_mime || caps_.eight_bit_mime) return;
  if (!has_eight_bit(m.content)) {
    m.params.body = BodyType::unspecified;
    return;
  }
  if (auto seven = downgrade_to_seven_bit(m.content)) {
    m.content = std::move(*seven);
    m.params.body = BodyType::unspecified;
  }
}

void ClientSession::send_message(OutgoingMessage message) {
  if (need_ != Need::next_message) throw std::logic_error("ClientSession::send_message: not ready for a message");
  auto tx = std::make_unique<Transaction>();
  tx->message = std::move(message);
  const OutgoingMessage& m = tx->message;
  tx->result.recipients.resize(m.recipients.size());
  tx->settled.resize(m.recipients.size());
  downgrade_if_needed(tx->message);
  std::optional<ServerReply> refused = refusal(m);

  MailParams params = m.params;
  if (non_ascii_addresses(m)) params.smtputf8 = true;
  std::string mail = mail_command(m.reverse_path, params, m.content.size(), caps_);
  std::vector<std::string> rcpts;
  for (const auto& r : m.recipients) rcpts.push_back(rcpt_command(r, caps_));
  // A CR or LF in an address would let it add commands of its own.
  if (!refused && has_line_break(mail)) {
    refused = ServerReply::made_here(codes::k501BadSenderSyntax, "Bad sender address syntax");
  }
  if (!refused && std::any_of(rcpts.begin(), rcpts.end(), has_line_break)) {
    refused = ServerReply::made_here(codes::k501BadRecipientSyntax, "Bad recipient address syntax");
  }
  if (m.recipients.empty() || refused) {
    for (std::size_t i = 0; i < m.recipients.size(); ++i) tx->settle(i, *refused);
    result_ = std::move(tx->result);
    return;
  }

  // RFC 2033 §4.3 says nothing of BDAT, so LMTP keeps to DATA.
  tx->use_bdat = caps_.chunking && options_.protocol == ClientProtocol::smtp;
  tx->data_pipelined = caps_.pipelining && !tx->use_bdat;
  transaction_ = std::move(tx);
  if (rset_needed_) send("RSET\r\n", Expect::rset);
  send(std::move(mail), Expect::mail);
  for (std::size_t i = 0; i < rcpts.size(); ++i) send(std::move(rcpts[i]), Expect::rcpt, i);
  if (transaction_->data_pipelined) send("DATA\r\n", Expect::data);
  send_queued();
  update_need();
}

void ClientSession::on_rset(const ServerReply& r) {
  if (!r.positive()) return fail(r, true);
  rset_needed_ = false;
}

// A refused MAIL answers for every recipient; with PIPELINING the RCPT and
// DATA replies still come (503 or 554) and are read and ignored.
void ClientSession::on_mail(const ServerReply& r) {
  Transaction& tx = *transaction_;
  tx.result.attempted = true;
  if (r.positive()) {
    rset_needed_ = true;
    return;
  }
  if (r.intermediate()) return protocol_error("MAIL answered " + r.str());
  for (std::size_t i = 0; i < tx.settled.size(); ++i) tx.settle(i, r);
  queued_.clear();  // without PIPELINING the RCPTs were not sent yet
  finish_transaction();
}

void ClientSession::on_rcpt(const ServerReply& r, std::size_t index) {
  Transaction& tx = *transaction_;
  if (tx.finished) return;
  if (r.intermediate()) return protocol_error("RCPT answered " + r.str());
  if (r.positive()) {
    tx.accepted.push_back(index);
  } else {
    tx.settle(index, r);
  }
  if (++tx.rcpt_replies == tx.message.recipients.size()) after_recipients();
}

// After the last RCPT reply: the content goes to the accepted recipients,
// if any; otherwise the transaction is over, and RSET is sent before the
// next one (the server still holds the MAIL).
void ClientSession::after_recipients() {
  Transaction& tx = *transaction_;
  if (tx.accepted.empty()) return finish_transaction();
  if (tx.data_pipelined) return;  // DATA is on its way already
  if (!tx.use_bdat) return send("DATA\r\n", Expect::data);
  // RFC 3030 §2: one chunk, the last. Text content ends with CRLF, as DATA's does.
  std::string_view content = tx.message.content;
  const bool add_crlf = text_body(tx.message) && !content.empty() && !content.ends_with("\r\n");
  const std::size_t size = content.size() + (add_crlf ? 2 : 0);
  send("BDAT " + std::to_string(size) + " LAST\r\n", Expect::bdat);
  send_queued();
  output_ += content;
  if (add_crlf) output_ += "\r\n";
  log('>', "[" + std::to_string(size) + " octets of content]");
}

// RFC 5321 §4.1.1.4: content only after 354. A pipelined DATA may get one
// even though no recipient was accepted (RFC 2920 §3.1 says it should
// not): an empty message ends it, and its reply is ignored.
void ClientSession::on_data(const ServerReply& r) {
  Transaction& tx = *transaction_;
  const bool go_ahead = r.code == codes::k354StartMail.code;
  if (tx.finished) {
    if (go_ahead) {
      output_ += ".\r\n";
      log('>', ".");
      pending_.push_back({Expect::data_end});
    }
    return;
  }
  if (go_ahead) return send_content();
  if (r.positive() || r.intermediate()) return protocol_error("DATA answered " + r.str());
  settle_accepted(r);
  finish_transaction();
}

void ClientSession::send_content() {
  Transaction& tx = *transaction_;
  const std::size_t before = output_.size();
  append_dot_stuffed(tx.message.content, output_);
  log('>', "[" + std::to_string(output_.size() - before) + " octets of content]");
  // RFC 2033 §4.2: in LMTP one reply per accepted recipient, in RCPT order.
  const std::size_t replies = options_.protocol == ClientProtocol::lmtp ? tx.accepted.size() : 1;
  for (std::size_t k = 0; k < replies; ++k) pending_.push_back({Expect::data_end, k});
}

void ClientSession::on_data_end(const ServerReply& r, std::size_t index) {
  Transaction& tx = *transaction_;
  if (r.intermediate()) return protocol_error("end of data answered " + r.str());
  rset_needed_ = false;  // RFC 5321 §4.1.1.4: the transaction ends either way
  if (tx.finished) return;
  if (options_.protocol == ClientProtocol::lmtp) {
    tx.settle(tx.accepted[index], r);
    if (index + 1 == tx.accepted.size()) finish_transaction();
    return;
  }
  settle_accepted(r);
  finish_transaction();
}

// RFC 3030 §2: after a failed BDAT the transaction is not reset by itself.
void ClientSession::on_bdat(const ServerReply& r) {
  if (r.intermediate()) return protocol_error("BDAT answered " + r.str());
  if (r.positive()) rset_needed_ = false;
  settle_accepted(r);
  finish_transaction();
}

void ClientSession::settle_accepted(const ServerReply& r) {
  Transaction& tx = *transaction_;
  for (std::size_t i : tx.accepted) tx.settle(i, r);
}

void ClientSession::finish_transaction() { transaction_->finished = true; }

}  // namespace petrel::smtp
