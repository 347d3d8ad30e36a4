// The grader of petrel catch: watches one SMTP session from the server's
// side and says how the client behaved. No sockets, clocks or disk: the
// caller feeds it the client's octets in order, as the server session took
// them (a command line, an AUTH response, message content), and the
// replies the server gave to each, and marks where each read from the
// socket began. Findings come out with stable ids (findings.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "catch/content_scan.hpp"
#include "catch/findings.hpp"

namespace petrel::catcher {

struct GraderOptions {
  bool esmtp = true;           // the server answers EHLO (false: --offer none)
  std::size_t max_line = 1000;  // RFC 5321 §4.5.3.1.6, line ending included
};

// How the server session took a run of client octets.
enum class ClientPart {
  command,  // (part of) a command line, or of a line answering a 334 in AUTH
  data,     // DATA content, dot-stuffed, up to and including the final "."
  bdat,     // octets of a BDAT chunk
};

// One DKIM-Signature's result, as the I/O layer found it when it looked
// the signer's key up (RFC 8601 result names: pass, fail, permerror, ...).
struct DkimCheck {
  std::string domain;  // d=
  std::string selector;  // s=
  std::string result;
  std::string reason;
};

// One message the client sent, as the grader saw it.
struct GradedMessage {
  std::string reverse_path;  // as in MAIL FROM:<...>
  std::vector<std::string> forward_paths;
  std::optional<std::uint64_t> declared_size;  // SIZE=
  std::string body;                            // BODY= value, upper case; "" if none
  bool smtputf8 = false;
  bool chunked = false;  // BDAT
  std::uint64_t size = 0;
  int reply_code = 0;    // to the end of data (or the last chunk); 0 if none yet
  std::vector<DkimCheck> dkim;  // one per DKIM-Signature, when they were checked
};

class Grader {
 public:
  explicit Grader(GraderOptions options = {});

  // A new read from the client's socket: every reply so far was sent
  // before these octets were read.
  void read_started();
  void client(ClientPart part, std::string_view raw);
  // The server took the content (DATA, or the current BDAT chunk) as complete.
  void content_ended();
  // The reply octets the server produced for what was just fed.
  void server_replied(std::string_view raw);
  void tls_started(std::string_view protocol);  // "TLSv1.3"
  // The DKIM signatures of messages()[message] were checked (after the
  // session: the key lookups need the DNS). A signature that fails or
  // cannot be verified (permerror) is dkim-invalid; temperror is not
  // held against the client.
  void dkim_checked(std::size_t message, std::vector<DkimCheck> checks);
  // The connection is over; the findings are final.
  void closed();

  const std::vector<Finding>& findings() const { return findings_; }
  // EHLO keywords as offered ("SIZE", "AUTH"): the last EHLO reply's.
  const std::vector<std::string>& offered() const { return offered_; }
  // Extensions the client used, in the order first used.
  const std::vector<std::string>& used() const { return used_; }
  const std::vector<GradedMessage>& messages() const { return messages_; }
  const std::string& greeting_verb() const { return greeting_verb_; }  // "EHLO", "HELO" or ""
  const std::string& helo_name() const { return helo_name_; }
  const std::string& tls_protocol() const { return tls_protocol_; }
  const std::string& auth_mechanism() const { return auth_mechanism_; }  // the one that succeeded

 private:
  void command_octets(std::string_view raw);
  void command(std::string_view line);
  void mail(std::string_view argument);
  void rcpt(std::string_view argument);
  void auth(std::string_view argument);
  void before_mail_or_auth(std::string_view verb);
  void reply(int code, const std::vector<std::string>& lines);
  void ehlo_reply(int code, const std::vector<std::string>& lines);
  void finish_message();
  void transient(int code);
  void retried(std::string_view verb, const std::string& path);
  void use(std::string_view extension);
  // The client used what `keyword` in the EHLO reply announces (`what`:
  // "SIZE=", "BDAT"): a fault when it was not offered.
  void require_offer(std::string_view keyword, std::string_view what);
  void add(std::string_view id, std::string text) { add_finding(findings_, id, std::move(text)); }
  bool is_offered(std::string_view keyword) const;

  GraderOptions options_;
  std::vector<Finding> findings_;
  std::vector<std::string> offered_;
  std::vector<std::string> used_;
  std::vector<GradedMessage> messages_;

  // The command line being assembled (bounded) and whether it began after
  // another command or message ended in the same read: pipelined.
  std::string line_;
  bool line_pipelined_ = false;
  bool pipelining_known_ = false;  // PIPELINING was in an EHLO reply sent before this read
  std::size_t ended_in_read_ = 0;  // commands and messages ended in this read

  std::string last_verb_;  // the command the next reply answers
  std::string pending_auth_;
  std::string greeting_verb_;
  std::string helo_name_;
  bool ehlo_refused_ = false;
  bool quit_ = false;
  bool tls_ = false;
  std::string tls_protocol_;
  std::string auth_mechanism_;
  bool starttls_offered_ = false;
  bool starttls_lapse_ = false;  // starttls-not-taken was found
  bool closed_ = false;
  bool auth_continues_ = false;  // the last reply was 334: the next line answers it

  std::optional<GradedMessage> pending_mail_;  // MAIL sent, not yet answered
  std::optional<GradedMessage> transaction_;   // MAIL accepted
  std::optional<std::string> pending_rcpt_;
  std::unique_ptr<ContentScanner> content_;
  bool bdat_last_ = false;
  std::string reply_buffer_;

  // 4xx replies not yet tried again in this session (retry-ignored):
  // "RCPT" with the recipient, or "MAIL" with the sender for a refused
  // MAIL, DATA or message. A later RCPT to the same recipient, or MAIL
  // from the same sender, is the retry.
  struct Deferral {
    std::string verb;
    std::string path;
    std::string said;  // for the finding's text: "RCPT TO:<b@x> got 451"
  };
  std::vector<Deferral> deferrals_;
};

}  // namespace petrel::catcher
