// Fuzzes the SMTP client session (src/smtp/client_session.cpp,
// client_transaction.cpp, reply_reader.cpp) with whole server byte
// streams, the way src/delivery/smtp_deliverer.cpp drives it.
//
// Input: three settings octets, then what the server sends.
//   0: bits 0-1 TLS policy (none, may, encrypt, verify), bit 2 credentials,
//      bit 3 AUTH in the clear, bit 4 LMTP, bit 5 implicit TLS,
//      bit 6 the TLS handshake fails
//   1: bits 0-1 messages - 1, bits 2-3 recipients - 1, bit 4 8BITMIME,
//      bit 5 SMTPUTF8, bit 6 DSN parameters, bit 7 a big message
//   2: how the stream is split into reads (see Splitter)
//
// Checked: the client writes only commands it may write at that point,
// message content only after a 354 (or as a BDAT chunk), nothing after
// QUIT or once done; every recipient of every message gets an outcome;
// and one read or many give the same bytes and the same results.
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "smtp/client_session.hpp"

using namespace petrel;
using Need = smtp::ClientSession::Need;

namespace {

constexpr std::string_view kMarker = "X-Fuzz-Content";

struct Transcript {
  std::string sent;
  std::vector<std::string> results;
  std::string failure;
  Need end = Need::input;
};

std::vector<smtp::OutgoingMessage> make_messages(std::uint8_t s) {
  std::vector<smtp::OutgoingMessage> out;
  const int messages = 1 + (s & 3);
  const int recipients = 1 + ((s >> 2) & 3);
  for (int m = 0; m < messages; ++m) {
    smtp::OutgoingMessage msg;
    msg.reverse_path.mailbox = smtp::Address{"sender" + std::to_string(m), "example.org"};
    for (int r = 0; r < recipients; ++r) {
      smtp::Recipient rcpt;
      rcpt.forward_path = smtp::Address{"r" + std::to_string(r), "example.net"};
      if (s & 64) {
        rcpt.notify = smtp::notify_failure;
        rcpt.orcpt = "rfc822;r@example.net";
      }
      msg.recipients.push_back(rcpt);
    }
    msg.content = std::string(kMarker) + ": " + std::to_string(m) + "\r\n\r\n.line\r\n";
    if (s & 16) {
      msg.params.body = smtp::BodyType::eight_bit_mime;
      msg.content += "caf\xc3\xa9\r\n";
    }
    if (s & 32) msg.params.smtputf8 = true;
    if (s & 64) {
      msg.params.ret = smtp::DsnRet::headers;
      msg.params.envid = "env id";
    }
    if (s & 128) msg.content += std::string(3000, 'x') + "\r\n";
    out.push_back(std::move(msg));
  }
  return out;
}

bool is_base64_line(std::string_view line) {
  return !line.empty() && line.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") ==
                              std::string_view::npos;
}

// 354 replies among the server bytes the session has consumed.
std::size_t go_aheads(std::string_view seen) {
  std::size_t n = seen.starts_with("354") ? 1 : 0;
  for (auto pos = seen.find("\n354"); pos != std::string_view::npos; pos = seen.find("\n354", pos + 1)) ++n;
  return n;
}

// Reads what the client writes as a server would: command lines; after a
// 354, content up to "."; after "BDAT n", n octets.
class WireChecker {
 public:
  explicit WireChecker(bool auth) : auth_(auth) {}

  void check(std::string_view chunk, std::size_t go_aheads_seen) {
    buffer_ += chunk;
    std::string_view rest = buffer_;
    for (;;) {
      if (bdat_left_ > 0) {
        const std::size_t n = std::min<std::size_t>(bdat_left_, rest.size());
        rest.remove_prefix(n);
        bdat_left_ -= n;
        if (bdat_left_ > 0) break;
        continue;
      }
      const auto eol = rest.find("\r\n");
      if (eol == std::string_view::npos) break;
      line(rest.substr(0, eol), go_aheads_seen);
      rest.remove_prefix(eol + 2);
    }
    // A write holds whole lines, except within a BDAT chunk.
    FUZZ_CHECK(rest.empty() || bdat_left_ == 0);
    FUZZ_CHECK(rest.empty());
    buffer_.clear();
  }

 private:
  void line(std::string_view l, std::size_t go_aheads_seen) {
    if (in_data_) {
      in_data_ = l != ".";
      return;
    }
    FUZZ_CHECK(l.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos);
    if (l == "." || l.starts_with(kMarker)) {
      // Content, or the empty message that ends an unwanted DATA: only
      // after a 354 the server sent for it (RFC 5321 §4.1.1.4).
      FUZZ_CHECK(go_aheads_seen > contents_);
      ++contents_;
      in_data_ = l != ".";
      return;
    }
    if (l.starts_with("BDAT ")) {
      unsigned long n = 0;
      FUZZ_CHECK(std::sscanf(std::string(l).c_str(), "BDAT %lu LAST", &n) == 1);
      bdat_left_ = n;
      return;
    }
    static constexpr std::string_view kVerbs[] = {"EHLO ", "HELO ", "LHLO ", "STARTTLS", "AUTH ",
                                                  "MAIL FROM:<", "RCPT TO:<", "DATA", "RSET", "QUIT"};
    bool known = false;
    for (auto verb : kVerbs) known = known || l.starts_with(verb);
    known = known || (auth_ && is_base64_line(l));
    FUZZ_CHECK(known);
  }

  bool auth_;
  std::string buffer_;
  bool in_data_ = false;
  std::size_t contents_ = 0;
  std::uint64_t bdat_left_ = 0;
};

class Driver {
 public:
  Driver(const smtp::ClientOptions& options, std::vector<smtp::OutgoingMessage> messages, std::string_view stream,
         bool implicit_tls, bool tls_fails)
      : session_(options), wire_(options.credentials.has_value()), messages_(std::move(messages)), stream_(stream), tls_fails_(tls_fails) {
    if (implicit_tls) session_.tls_started();
  }

  // One read from the socket.
  void receive(std::string_view bytes) {
    pending_.append(bytes);
    serve();
    while (!pending_.empty() && session_.need() == Need::input) {
      const std::size_t given = pending_.size();
      const std::size_t used = session_.feed(pending_);
      FUZZ_CHECK(used <= given);
      FUZZ_CHECK(used == given || session_.need() != Need::input);
      consumed_ += used;
      pending_.erase(0, used);
      take_output();
      serve();
    }
  }

  Transcript finish() {
    if (session_.need() == Need::input) {
      session_.connection_lost("server closed");
      take_output();
    }
    serve();
    take_results();
    take_output();
    FUZZ_CHECK(session_.need() == Need::done);
    // Every message given got its result.
    FUZZ_CHECK(transcript_.results.size() == given_);
    if (session_.failure()) transcript_.failure = session_.failure()->str();
    transcript_.end = session_.need();
    return std::move(transcript_);
  }

 private:
  void serve() {
    for (;;) {
      take_output();
      if (session_.need() == Need::next_message) {
        take_results();
        if (given_ < messages_.size()) {
          session_.send_message(messages_[given_++]);
        } else {
          session_.quit();
        }
        continue;
      }
      if (session_.need() == Need::start_tls) {
        // A real caller drops what is left of the read; here the rest of
        // the stream is what arrives after the handshake, so the split
        // does not change it.
        if (tls_fails_) {
          session_.tls_failed("fuzz");
        } else {
          session_.tls_started();
        }
        continue;
      }
      return;
    }
  }

  void take_results() {
    auto r = session_.take_results();
    if (!r) return;
    const auto& m = messages_[transcript_.results.size()];
    FUZZ_CHECK(r->recipients.size() == m.recipients.size());
    std::string line = r->attempted ? "attempted:" : "not attempted:";
    for (const auto& rr : r->recipients) {
      FUZZ_CHECK(rr.reply.code >= 200 && rr.reply.code <= 599);
      FUZZ_CHECK((rr.outcome == smtp::DeliveryOutcome::delivered) == rr.reply.positive());
      line += " " + rr.reply.str();
    }
    transcript_.results.push_back(std::move(line));
  }

  void take_output() {
    std::string& out = session_.output();
    if (out.empty()) return;
    FUZZ_CHECK(!quit_sent_);  // nothing after QUIT
    FUZZ_CHECK(!done_seen_);
    wire_.check(out, go_aheads(stream_.substr(0, consumed_)));
    quit_sent_ = out.ends_with("QUIT\r\n") && (out.size() == 6 || out[out.size() - 7] == '\n');
    transcript_.sent += out;
    out.clear();
    done_seen_ = session_.need() == Need::done;
  }

  smtp::ClientSession session_;
  WireChecker wire_;
  std::vector<smtp::OutgoingMessage> messages_;
  std::string_view stream_;
  bool tls_fails_;
  std::size_t given_ = 0;
  std::size_t consumed_ = 0;
  std::string pending_;
  bool quit_sent_ = false;
  bool done_seen_ = false;
  Transcript transcript_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input input(data, size);
  const std::uint8_t s0 = input.setting(), s1 = input.setting(), s2 = input.setting();

  smtp::ClientOptions options;
  options.helo_name = "client.example.org";
  static constexpr smtp::TlsPolicy kPolicies[] = {smtp::TlsPolicy::none, smtp::TlsPolicy::may,
                                                  smtp::TlsPolicy::encrypt, smtp::TlsPolicy::verify};
  options.tls = kPolicies[s0 & 3];
  if (s0 & 4) options.credentials = smtp::Credentials{"user", "pass"};
  options.auth_in_clear = (s0 & 8) != 0;
  options.protocol = (s0 & 16) ? smtp::ClientProtocol::lmtp : smtp::ClientProtocol::smtp;
  const bool implicit_tls = (s0 & 32) != 0;
  const bool tls_fails = (s0 & 64) != 0;
  const auto messages = make_messages(s1);
  const std::string_view stream = input.rest();

  Driver whole(options, messages, stream, implicit_tls, tls_fails);
  whole.receive(stream);
  const Transcript a = whole.finish();

  Driver pieces(options, messages, stream, implicit_tls, tls_fails);
  fuzz::Splitter split(s2);
  for (std::size_t pos = 0; pos < stream.size();) {
    const std::size_t n = std::min(split.next(), stream.size() - pos);
    pieces.receive(stream.substr(pos, n));
    pos += n;
  }
  const Transcript b = pieces.finish();

  if (a.sent != b.sent) std::fprintf(stderr, "in one read:\n%s\nin pieces:\n%s\n", a.sent.c_str(), b.sent.c_str());
  FUZZ_CHECK(a.sent == b.sent);
  FUZZ_CHECK(a.results == b.results);
  FUZZ_CHECK(a.failure == b.failure);
  FUZZ_CHECK(a.end == b.end);
  return 0;
}
