// The server side of one SMTP session as a state machine without I/O: bytes
// from the client go in, reply bytes and requests to the caller come out.
// The caller (src/server/) owns the socket, the clock and the spool.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "smtp/dot_reader.hpp"
#include "smtp/envelope.hpp"
#include "smtp/envelope_policy.hpp"
#include "smtp/reply.hpp"
#include "smtp/sasl.hpp"
#include "smtp/session_hook.hpp"
#include "smtp/session_options.hpp"
#include "smtp/text_lines.hpp"

namespace petrel::smtp {

struct CommandLine;

// A complete message, handed to the caller to store.
struct ReceivedMessage {
  Envelope envelope;
  std::string content;  // CRLF line endings, dot-unstuffed, without our Received:
  // Octets that follow `content`, which the caller was given through
  // Need::spill and keeps (a file); 0 when the whole message is in content.
  std::uint64_t spilled_size = 0;
};

// What the caller learnt from a finished TLS handshake.
struct TlsFacts {
  std::string protocol;  // "TLSv1.3"
  std::string cipher;    // "TLS_AES_256_GCM_SHA384"
  int bits = 0;
  // For the Received: header and the log (Postfix's form).
  std::string describe() const;
};

struct SessionStats {
  std::uint32_t messages_accepted = 0;
  std::uint32_t messages_rejected = 0;
  std::uint32_t recipients_accepted = 0;
  std::uint32_t errors = 0;
  std::string close_reason;  // "QUIT", "timeout", "too many errors", "client closed"...
};

class ServerSession {
 public:
  // What the session waits for from the caller.
  enum class Need {
    input,          // more bytes from the client
    store_message,  // take_message(), store it, then message_stored()/message_failed()
    close,          // send output() and close the connection
    start_tls,      // send output(), do the TLS handshake, then tls_started()
    authenticate,   // call authenticate(), which may take a while (password hashing)
    spill,          // append spill_bytes() to where the message goes on (a file), then spilled()
    atrn,           // ODMR: look for mail for atrn_domains(), then atrn_accepted(), atrn_no_mail() or atrn_unavailable()
    reversed,       // ODMR: send output(); the roles are reversed, the caller is now the SMTP client (RFC 2645 §4.3)
  };

  // `authenticator` may be null: no AUTH. The policy and authenticator
  // outlive the session.
  ServerSession(const SessionOptions& options, EnvelopePolicy& policy, std::string client_address,
                Authenticator* authenticator = nullptr);
  ~ServerSession();
  ServerSession(const ServerSession&) = delete;
  ServerSession& operator=(const ServerSession&) = delete;

  void greet();                 // queues the 220 greeting
  void refuse(const Reply& reply);     // queues reply (e.g. 421 too many connections) and closes
  // The client's address is in a trusted network (may relay). Before greet().
  void set_trusted_network(bool trusted) { trusted_network_ = trusted; }
  // Lets `hook` answer at the points it is asked (session_hook.hpp); it
  // outlives the session. Before greet(). None by default.
  void set_hook(SessionHook* hook) { hook_ = hook; }

  // Runs the pending SASL step (Need::authenticate). It checks a password,
  // which costs milliseconds of CPU by design, so the caller may run it on
  // another thread; nothing else may touch the session meanwhile.
  void authenticate();

  // The TLS handshake finished: after STARTTLS the session starts afresh and
  // waits for EHLO (RFC 3207 §4.2); on an implicit-TLS listener call it
  // before greet().
  void tls_started(TlsFacts facts);

  // Consumes client bytes until all are taken or need() is no longer input.
  // Returns how many bytes were consumed; the caller keeps the rest and feeds
  // them again after satisfying need().
  std::size_t feed(std::string_view bytes);

  Need need() const { return need_; }

  // Replies to send. RFC 2920: the caller sends them when it has fed all the
  // bytes it has, before waiting for more, so pipelined replies go out in one write.
  std::string& output() { return output_; }

  // ATRN (RFC 2645): the domains asked for (or all the login may fetch),
  // checked against the configuration, lower case.
  const std::vector<std::string>& atrn_domains() const { return atrn_domains_; }
  void atrn_accepted();     // 250: Need::reversed; bytes not consumed belong to the reversed session
  void atrn_no_mail();      // 453 You have no mail
  void atrn_unavailable();  // 451: the queue could not be read

  ReceivedMessage take_message();

  // The message being received has grown past limits.body_in_memory: its
  // octets after the head (spill_bytes()) are the caller's to keep; after
  // spilled() the session forgets them. A message starts spilling afresh
  // (spilled_size() is 0) after the last one ended, however it ended.
  std::string_view spill_bytes() const;
  void spilled();
  std::uint64_t spilled_size() const { return spilled_; }
  // The message being received (or complete and not yet stored) is dropped:
  // memory budget exceeded, spill file unwritable. It is still read to its
  // end (its octets must not be taken as commands), then refused with
  // `failure`.
  void discard_message(const Reply& failure);
  // Octets of message content held in memory, for a global budget.
  std::size_t content_memory() const { return content_.capacity(); }
  void message_stored(std::string_view queue_id);
  void message_failed(const Reply& reply);

  // The client sent nothing for read_timeout(): 421 and close.
  void timed_out();
  // The client closed or the connection broke.
  void connection_lost(std::string_view reason);
  std::chrono::milliseconds read_timeout() const;
  // How long to hold back the replies in output() (after a failed AUTH:
  // slows password guessing); reading it clears it.
  std::chrono::milliseconds take_reply_delay() { return std::exchange(reply_delay_, std::chrono::milliseconds(0)); }

  // In DATA or BDAT: the client is sending a message, not commands.
  bool receiving_message() const { return phase_ == Phase::data || phase_ == Phase::bdat; }
  // In BDAT: octets of the current chunk still to come, so a caller can
  // tell the chunk from the commands after it in the same read.
  std::uint64_t bdat_remaining() const { return phase_ == Phase::bdat ? bdat_remaining_ : 0; }
  // Part of a command line has arrived and the rest has not.
  bool receiving_command() const {
    return !receiving_message() && phase_ != Phase::closed && (!line_.empty() || discarding_line_);
  }

  const SessionStats& stats() const { return stats_; }
  const std::string& helo_name() const { return helo_name_; }
  const std::string& client_address() const { return client_address_; }
  const std::optional<TlsFacts>& tls() const { return tls_; }
  // The transaction's envelope so far (empty outside a transaction).
  const Envelope& envelope() const { return envelope_; }
  const std::string& auth_user() const { return auth_user_; }

 private:
  enum class Phase { greeting, ready, mail, data, bdat, auth, closed };

  // Command handlers, named after their verbs (session_commands.cpp).
  void on_command(std::string_view line);
  void dispatch(const CommandLine& cmd);
  // Asks the hook at `point` and does what it says; true when it answered
  // or closed, so that the session does nothing more.
  bool overridden(HookPoint point, std::string_view argument);
  bool bdat_overridden(std::string_view argument);  // the same for BDAT, whose chunk is still read
  void start_chunk(std::uint64_t size);
  void helo(const CommandLine& cmd, bool extended);
  void mail(const CommandLine& cmd);
  void rcpt(const CommandLine& cmd);
  void data(const CommandLine& cmd);
  void bdat(const CommandLine& cmd);
  void rset(const CommandLine& cmd);
  void vrfy(const CommandLine& cmd);
  void expn(const CommandLine& cmd);
  void help(const CommandLine& cmd);
  void quit(const CommandLine& cmd);
  void starttls(const CommandLine& cmd);
  void etrn(const CommandLine& cmd);
  void atrn(const CommandLine& cmd);
  bool odmr_refuses(const CommandLine& cmd);  // a command the ODMR port does not take (now)
  void auth(const CommandLine& cmd);
  void auth_response(std::string_view line);  // a line in the middle of an AUTH exchange
  void auth_step(std::optional<std::string_view> response);  // queues the step: Need::authenticate
  bool auth_offered() const;
  std::vector<std::string> offered_mechanisms() const;  // for EHLO, now (TLS or not)
  ClientIdentity identity() const { return {client_address_, trusted_network_, auth_user_}; }
  std::vector<std::string> ehlo_keywords() const;
  std::vector<std::string> odmr_keywords(std::vector<std::string> keywords) const;

  std::size_t feed_command_bytes(std::string_view bytes);
  std::size_t feed_data(std::string_view bytes);
  std::size_t feed_bdat(std::string_view bytes);
  void finish_data();
  void refuse_content(DotReader::Verdict verdict);  // 552/550/554 after the end of a message
  void finish_bdat_chunk();
  void message_complete();
  void maybe_spill();
  void bdat_too_big();  // 552 at the end of the chunk; the content is dropped
  std::size_t settle_head();
  std::uint64_t content_size() const { return spilled_ + content_.size(); }

  void reply(const Reply& r);
  bool enhanced_codes() const;
  void reply(Status s, std::string text);
  void error_reply(Status s, std::string text);  // counts towards max_errors
  void close_with(Status s, std::string text, std::string reason);
  void reset_transaction();
  bool has_transaction() const { return phase_ == Phase::mail; }
  std::string protocol_name() const;

  const SessionOptions& options_;
  EnvelopePolicy& policy_;
  std::string client_address_;
  Authenticator* authenticator_;
  SessionHook* hook_ = nullptr;
  std::optional<Reply> success_override_;  // the hook's 2xx: replaces the next reply if it is a 2xx
  bool trusted_network_ = false;
  std::optional<TlsFacts> tls_;
  std::string auth_user_;
  std::unique_ptr<SaslExchange> sasl_;  // during an AUTH exchange
  std::optional<std::string> sasl_response_;  // for the pending step; nullopt: no response yet
  std::chrono::milliseconds reply_delay_{0};
  std::vector<std::string> atrn_domains_;

  Phase phase_ = Phase::greeting;
  Need need_ = Need::input;
  bool esmtp_ = false;
  std::string helo_name_;
  std::string output_;

  // Command line being assembled, and whether we are skipping the rest of an
  // overlong one.
  std::string line_;
  bool discarding_line_ = false;
  std::uint64_t discarded_ = 0;  // octets of the overlong line skipped so far

  // The transaction.
  Envelope envelope_;
  std::size_t recipients_refused_ = 0;
  std::string content_;
  std::unique_ptr<DotReader> dot_reader_;
  std::unique_ptr<TextLineChecker> line_checker_;  // BDAT of a text body
  std::uint64_t spilled_ = 0;                       // octets handed over through Need::spill
  std::size_t head_size_ = 0;                       // octets kept in memory once spilling; 0: not yet
  bool complete_after_spill_ = false;               // the message ended; store it after the spill
  std::optional<Reply> content_failure_;            // DATA: refuse the message at its end
  // BDAT (RFC 3030): bytes of the current chunk still to read, whether it is
  // the last, and whether an earlier chunk already failed the transaction.
  std::uint64_t bdat_remaining_ = 0;
  bool bdat_last_ = false;
  bool bdat_in_progress_ = false;
  Phase bdat_return_phase_ = Phase::ready;
  std::optional<Reply> bdat_failure_;

  SessionStats stats_;
};

}  // namespace petrel::smtp
