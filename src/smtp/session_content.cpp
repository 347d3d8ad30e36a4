// The session's message content: DATA and BDAT octets in, the checks at the
// end, and spilling. A session keeps at most the first body_in_memory
// octets of a message (its head, which holds the header section) plus one
// spill chunk in memory; the rest goes to the caller (Need::spill), which
// writes it to a file as it arrives. So a slow client with a big message
// holds a few hundred KiB, not the message.
#include "smtp/header_field.hpp"
#include "smtp/reply_codes.hpp"
#include "smtp/server_session.hpp"
#include "smtp/text_lines.hpp"

namespace petrel::smtp {
namespace {

// Octets gathered past the head before they are handed over: writes of a
// useful size, and little memory.
constexpr std::size_t kSpillChunk = 64 * 1024;
// A header section longer than this many heads is cut where the head ends
// (its later fields are not seen by the checks that read headers).
constexpr std::size_t kMaxHeadFactor = 4;

// RFC 5321 §6.3: a message that has passed through too many hops is in a
// loop. Counting stops once past the limit.
bool too_many_hops(std::string_view content, std::size_t max_hops) {
  if (max_hops == 0) return false;
  std::size_t hops = 0;
  for_each_field(content, [&hops, max_hops](std::string_view field) {
    if (is_field(field, "Received")) ++hops;
    return hops <= max_hops;
  });
  return hops > max_hops;
}

// Where the header section ends (after its empty line), or npos.
std::size_t header_end(std::string_view content) {
  if (content.starts_with("\r\n")) return 2;
  const std::size_t blank = content.find("\r\n\r\n");
  return blank == std::string_view::npos ? blank : blank + 4;
}

}  // namespace

// The head is the first body_in_memory octets, stretched to the end of the
// header section when that is further (up to kMaxHeadFactor heads), so that
// every check and change of header fields sees the whole section. 0: the
// head cannot be settled yet (the header section goes on).
std::size_t ServerSession::settle_head() {
  if (head_size_ > 0) return head_size_;
  const std::size_t base = options_.limits.body_in_memory;
  const std::size_t end = header_end(content_);
  if (end != std::string_view::npos) {
    head_size_ = std::max(base, end);
  } else if (content_.size() >= base * kMaxHeadFactor) {
    head_size_ = base * kMaxHeadFactor;
  }
  return head_size_;
}

void ServerSession::maybe_spill() {
  if (need_ != Need::input || options_.limits.body_in_memory == 0) return;
  if (content_.size() < options_.limits.body_in_memory + kSpillChunk) return;
  const std::size_t head = settle_head();
  if (head > 0 && content_.size() >= head + kSpillChunk) need_ = Need::spill;
}

std::string_view ServerSession::spill_bytes() const {
  return std::string_view(content_).substr(std::min(head_size_, content_.size()));
}

void ServerSession::spilled() {
  if (need_ != Need::spill) return;
  spilled_ += content_.size() - head_size_;
  content_.resize(head_size_);
  need_ = complete_after_spill_ ? Need::store_message : Need::input;
  complete_after_spill_ = false;
}

void ServerSession::discard_message(const Reply& failure) {
  if (phase_ == Phase::bdat) {
    if (!bdat_failure_) bdat_failure_ = failure;
  } else if (phase_ == Phase::data) {
    if (!content_failure_) content_failure_ = failure;
  } else if (need_ == Need::spill || need_ == Need::store_message) {
    // The message is complete: refuse it now.
    complete_after_spill_ = false;
    return message_failed(failure);
  } else {
    return;  // no message is being received
  }
  content_.clear();
  content_.shrink_to_fit();
  spilled_ = 0;
  if (need_ == Need::spill) need_ = Need::input;
}

std::size_t ServerSession::feed_data(std::string_view bytes) {
  std::size_t used = 0;
  if (content_failure_) {
    std::string dropped;  // read to the final dot, keep nothing
    used = dot_reader_->feed(bytes, dropped);
  } else {
    used = dot_reader_->feed(bytes, content_);
  }
  if (dot_reader_->done()) {
    finish_data();
  } else {
    maybe_spill();
  }
  return used;
}

void ServerSession::finish_data() {
  const DotReader::Verdict verdict = dot_reader_->verdict();
  dot_reader_.reset();
  phase_ = Phase::mail;
  if (verdict != DotReader::Verdict::ok) return refuse_content(verdict);
  if (content_failure_) {
    const Reply failure = *content_failure_;
    ++stats_.messages_rejected;
    reset_transaction();
    return reply(failure);
  }
  message_complete();
}

void ServerSession::refuse_content(DotReader::Verdict verdict) {
  switch (verdict) {
    case DotReader::Verdict::ok:
      return;
    case DotReader::Verdict::too_big:
      reply(codes::k552MessageTooBig, "Message size exceeds fixed maximum message size");
      break;
    case DotReader::Verdict::bare_line_ending:
      reply(codes::k550BareLineEnding,
            "Message refused: bare CR or LF in DATA; lines must end with CRLF (RFC 5321 section 2.3.8)");
      break;
    case DotReader::Verdict::line_too_long:
      reply(codes::k554LineTooLong,
            "Message refused: a line is longer than " + std::to_string(options_.limits.max_text_line) +
                " octets (RFC 5321 section 4.5.3.1.6)");
      break;
  }
  ++stats_.messages_rejected;
  reset_transaction();
}

void ServerSession::bdat_too_big() {
  bdat_failure_ = Reply(codes::k552MessageTooBig, "Message size exceeds fixed maximum message size");
  content_.clear();
  content_.shrink_to_fit();
  spilled_ = 0;
}

std::size_t ServerSession::feed_bdat(std::string_view bytes) {
  const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(bdat_remaining_, bytes.size()));
  if (!bdat_failure_) {
    if (content_size() + take > options_.limits.max_message_size) {
      bdat_too_big();
    } else if (line_checker_) {
      line_checker_->feed(bytes.substr(0, take), content_);
      // Normalizing bare line endings lengthens the content: it must still fit.
      if (content_size() > options_.limits.max_message_size) bdat_too_big();
    } else {
      content_.append(bytes.substr(0, take));
    }
  }
  bdat_remaining_ -= take;
  if (bdat_remaining_ == 0) {
    finish_bdat_chunk();
  } else if (!bdat_failure_) {
    maybe_spill();
  }
  return take;
}

void ServerSession::finish_bdat_chunk() {
  phase_ = bdat_return_phase_;
  if (bdat_failure_) {
    // RFC 3030 §2: after a failed chunk the client sends no more; the
    // transaction is over.
    Reply failure = *bdat_failure_;
    bdat_failure_.reset();
    // An out-of-sequence BDAT is an error like any other: it spends the
    // error budget and may end the session.
    if (failure.code() == codes::k503BadSequence.code) {
      error_reply(failure.status, failure.lines.front());
    } else {
      reply(failure);
    }
    if (phase_ == Phase::mail) {
      ++stats_.messages_rejected;
      reset_transaction();
    }
    return;
  }
  if (bdat_last_) {
    if (line_checker_) {
      const auto verdict = line_checker_->finish(content_);
      if (verdict != DotReader::Verdict::ok) return refuse_content(verdict);
      if (content_size() > options_.limits.max_message_size) return refuse_content(DotReader::Verdict::too_big);
    }
    message_complete();
    return;
  }
  reply(codes::k250ChunkOk, "Ok: " + std::to_string(content_size()) + " octets received");
  maybe_spill();
}

void ServerSession::message_complete() {
  if (too_many_hops(content_, options_.limits.max_hops)) {
    reply(codes::k554TooManyHops, "Message refused: more than " + std::to_string(options_.limits.max_hops) +
                                      " Received: fields, a mail loop (RFC 5321 section 6.3)");
    ++stats_.messages_rejected;
    reset_transaction();
    return;
  }
  if (overridden(HookPoint::end_of_data, "")) {
    ++stats_.messages_rejected;
    reset_transaction();
    return;
  }
  // What is past the head of a spilled message is spilled too before it is stored.
  if (spilled_ > 0 && content_.size() > head_size_) {
    need_ = Need::spill;
    complete_after_spill_ = true;
    return;
  }
  need_ = Need::store_message;
}

ReceivedMessage ServerSession::take_message() {
  ReceivedMessage m;
  envelope_.protocol = protocol_name();
  envelope_.auth_user = auth_user_;
  envelope_.tls = tls_ ? tls_->describe() : std::string();
  envelope_.tls_required_no = tls_required_no(content_);
  m.envelope = std::move(envelope_);
  m.content = std::move(content_);
  m.spilled_size = spilled_;
  return m;
}

}  // namespace petrel::smtp
