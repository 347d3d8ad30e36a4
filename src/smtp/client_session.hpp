// The client side of one SMTP (RFC 5321) or LMTP (RFC 2033) connection as a
// state machine without I/O: server bytes go in, command bytes and requests
// to the caller come out. The caller (src/delivery/smtp_deliverer.cpp) owns
// the socket, TLS and the clock.
//
// One connection: greeting, EHLO (HELO when EHLO gets a 5xx; LHLO for
// LMTP), STARTTLS by policy, AUTH when credentials are given, then one
// transaction per send_message(), then QUIT.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/capabilities.hpp"
#include "smtp/envelope.hpp"
#include "smtp/reply_reader.hpp"

namespace petrel::smtp {

enum class ClientProtocol { smtp, lmtp };

// STARTTLS (RFC 3207): none: never; may: when offered, else in the clear;
// encrypt: when offered, else the connection fails; verify: as encrypt, and
// the caller's handshake also checks the certificate's chain and name.
enum class TlsPolicy { none, may, encrypt, verify };

// TLS is required: the connection fails without it.
constexpr bool tls_required(TlsPolicy policy) { return policy == TlsPolicy::encrypt || policy == TlsPolicy::verify; }

struct Credentials {
  std::string user;
  std::string password;
};

// Sees each transcript line as it is logged: direction '>' (client) or '<'
// (server, with the whole reply), for a live view of the dialogue (petrel
// send). The same lines, without content or credentials, as transcript().
using TranscriptWatch = std::function<void(char direction, std::string_view line, const ServerReply* reply)>;

struct ClientOptions {
  std::string helo_name = "localhost";
  ClientProtocol protocol = ClientProtocol::smtp;
  TlsPolicy tls = TlsPolicy::may;
  // With credentials, AUTH PLAIN or LOGIN (RFC 4954) is required: when it
  // cannot be done or fails, the connection fails (and mail is deferred).
  std::optional<Credentials> credentials;
  bool auth_in_clear = false;  // allow AUTH without TLS (a smarthost on a trusted network)
  // RFC 8689 §4.2.1: the connection carries REQUIRETLS messages. No TLS,
  // a failed handshake (the caller's checks included) or a server without
  // REQUIRETLS after STARTTLS fails it with a permanent reply made here
  // (5.7.10, 5.7.30), so that the next MX is tried and then the message
  // is returned, never sent in the clear.
  bool requiretls = false;
  TranscriptWatch watch;       // optional
};

// One message for this connection: the recipients routed here.
struct OutgoingMessage {
  Path reverse_path;
  MailParams params;                  // BODY, SMTPUTF8, RET, ENVID; SIZE= is the content's size
  std::vector<Recipient> recipients;  // forward path, NOTIFY, ORCPT
  std::string content;                // headers and body, CRLF lines, not dot-stuffed
};

enum class DeliveryOutcome { delivered, deferred, failed };

struct RecipientResult {
  DeliveryOutcome outcome = DeliveryOutcome::deferred;
  ServerReply reply;  // what the outcome rests on: the server's reply, or one made here
};

struct MessageResult {
  std::vector<RecipientResult> recipients;  // in the order of OutgoingMessage::recipients
  // The server answered a command of this transaction. When false, nothing
  // of it can have been delivered, so the caller may try the next host
  // (RFC 5321 §5); when true, unknown outcomes are deferred, not retried
  // elsewhere now (RFC 5321 §4.1.1.4: a lost final reply may mean delivered).
  bool attempted = false;
};

class ClientSession {
 public:
  enum class Need {
    input,         // write output(), then read and feed() server bytes
    start_tls,     // write output(), drop unconsumed bytes, handshake, then tls_started() or tls_failed()
    next_message,  // write output(), then send_message() or quit()
    done,          // write output(), then close the connection
  };
  // The reply being waited for, for RFC 5321 §4.5.3.2 timeouts.
  enum class Awaiting { nothing, greeting, mail, rcpt, data_init, data_end, other };

  explicit ClientSession(ClientOptions options);
  ~ClientSession();
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  // Consumes server bytes until all are taken or need() is no longer
  // input; returns how many. The caller keeps the rest for later, except
  // after start_tls, when it must drop them (they came in the clear).
  std::size_t feed(std::string_view bytes);

  Need need() const { return need_; }
  // Bytes to write. Pipelined commands (RFC 2920) come as one group.
  std::string& output() { return output_; }

  // An implicit-TLS connection calls tls_started() before the first feed().
  void tls_started();
  void tls_failed(std::string_view reason);
  // The connection broke, closed or timed out.
  void connection_lost(std::string_view reason);

  // At Need::next_message. Refusals decided here (too big for the server's
  // SIZE, 8-bit or SMTPUTF8 to a server without it) send nothing and leave
  // need() at next_message with the result ready.
  void send_message(OutgoingMessage message);
  // At Need::next_message: QUIT, then done after its reply.
  void quit();
  // The result of the last message, once it is finished (need() is
  // next_message or done); nullopt when there is none or it was taken.
  std::optional<MessageResult> take_results();

  // Why the connection failed (refused greeting, EHLO and HELO refused,
  // protocol error, TLS or AUTH impossible, connection lost, 421); nullopt
  // while it has not, and after an orderly QUIT.
  const std::optional<ServerReply>& failure() const { return failure_; }
  const std::optional<ServerReply>& greeting() const { return greeting_; }
  const Capabilities& capabilities() const { return caps_; }
  bool encrypted() const { return encrypted_; }
  bool authenticated() const { return authenticated_; }
  Awaiting awaiting() const;
  // "> MAIL FROM:<a@b>" / "< 250 2.1.0 Ok" lines (no message content, no
  // credentials), the last kTranscriptLines of them, for logs and probe.
  const std::deque<std::string>& transcript() const { return transcript_; }
  static constexpr std::size_t kTranscriptLines = 64;

 private:
  enum class Expect : std::uint8_t {
    greeting, hello, helo, starttls, auth, mail, rcpt, data, data_end, bdat, rset, quit,
  };
  struct Pending {
    Expect expect;
    std::size_t index = 0;  // rcpt: recipient; data_end in LMTP: accepted recipient
  };
  struct Transaction;

  void on_reply(const ServerReply& reply);
  // Connection phases (client_session.cpp).
  void on_greeting(const ServerReply& r);
  void on_hello(const ServerReply& r);
  void on_helo(const ServerReply& r);
  void on_starttls(const ServerReply& r);
  void on_auth(const ServerReply& r);
  void after_hello();
  void start_auth();
  // The transaction (client_transaction.cpp).
  std::optional<ServerReply> refusal(const OutgoingMessage& m) const;
  void downgrade_if_needed(OutgoingMessage& m) const;
  void on_mail(const ServerReply& r);
  void on_rcpt(const ServerReply& r, std::size_t index);
  void after_recipients();
  void on_data(const ServerReply& r);
  void on_data_end(const ServerReply& r, std::size_t index);
  void on_bdat(const ServerReply& r);
  void on_rset(const ServerReply& r);
  void send_content();
  void settle_accepted(const ServerReply& r);
  void finish_transaction();

  void send(std::string line, Expect expect, std::size_t index = 0, std::string_view logged = {});
  void send_queued();
  void fail(ServerReply reason, bool send_quit);
  void protocol_error(std::string text);
  void log(char direction, std::string line, const ServerReply* reply = nullptr);
  void update_need();

  ClientOptions options_;
  ReplyReader reader_;
  Capabilities caps_;
  std::optional<ServerReply> greeting_;
  std::optional<ServerReply> failure_;
  bool encrypted_ = false;
  bool authenticated_ = false;
  bool starttls_refused_ = false;  // under `may`: go on in the clear
  bool auth_login_ = false;  // AUTH LOGIN rather than PLAIN
  int auth_step_ = 0;         // LOGIN challenges answered
  bool quitting_ = false;
  bool done_ = false;
  bool tls_pending_ = false;
  bool rset_needed_ = false;  // a MAIL was accepted and its transaction not ended
  Need need_ = Need::input;

  std::string output_;
  std::deque<Pending> pending_;  // replies expected, in order
  struct Command {
    std::string line;
    Pending pending;
    std::string logged;
  };
  std::deque<Command> queued_;  // commands not yet written (lock-step)
  std::unique_ptr<Transaction> transaction_;
  std::optional<MessageResult> result_;
  std::deque<std::string> transcript_;
};

}  // namespace petrel::smtp
