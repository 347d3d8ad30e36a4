// One session of petrel catch without I/O: the server session of petreld
// (smtp::ServerSession) does the protocol, the grader watches. The caller
// owns the socket, TLS and the Maildir: it passes each read in with
// feed(), and does what need() asks, as with ServerSession itself.
//
// feed() hands the server session one unit at a time (a command line, a
// line of DATA, a BDAT chunk), so that the grader learns how the server
// took each octet and which reply answered it.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "catch/grader.hpp"
#include "catch/script_hook.hpp"
#include "smtp/server_session.hpp"

namespace petrel::catcher {

struct TranscriptLine {
  char direction;    // '>' client, '<' server, '*' a note
  std::string text;  // without the line ending; client text made printable
  int code = 0;      // of a server line
};

class CaughtSession {
 public:
  using Need = smtp::ServerSession::Need;

  // `script` may be null (no --script); it outlives the session.
  CaughtSession(const smtp::SessionOptions& options, smtp::EnvelopePolicy& policy, std::string client_address,
                smtp::Authenticator* authenticator, GraderOptions grader_options, ScriptHook* script = nullptr);

  void greet();
  // A new read from the socket: call before feed() with its octets.
  void read_started() { grader_.read_started(); }
  // Takes octets until all are taken or need() is no longer input; returns
  // how many. After STARTTLS the rest of the read is taken and dropped
  // (it came in the clear: CVE-2011-0411).
  std::size_t feed(std::string_view bytes);
  Need need() const { return session_.need(); }

  // Need::store_message.
  smtp::ReceivedMessage take_message() { return session_.take_message(); }
  void message_stored(std::string_view id);
  void message_failed(const smtp::Reply& reply);
  // Need::start_tls, after the handshake.
  void tls_started(smtp::TlsFacts facts);
  void timed_out();
  void connection_lost(std::string_view reason);
  // The connection is over (however it ended): the grader's findings are final.
  void finish() { grader_.closed(); }
  // The DKIM signatures of the grader's messages()[message], once checked.
  void dkim_checked(std::size_t message, std::vector<DkimCheck> checks) {
    grader_.dkim_checked(message, std::move(checks));
  }

  // The replies to send now; reading them clears them.
  std::string take_output();
  std::vector<TranscriptLine> take_transcript() { return std::exchange(transcript_, {}); }
  std::chrono::milliseconds take_reply_delay() { return session_.take_reply_delay(); }
  std::chrono::milliseconds read_timeout() const { return session_.read_timeout(); }

  const Grader& grader() const { return grader_; }
  const smtp::ServerSession& session() const { return session_; }

 private:
  std::size_t feed_unit(std::string_view bytes);
  void run_needs();
  void sync_replies();
  void note_client(std::string_view raw);
  void note_script();

  smtp::ServerSession session_;
  Grader grader_;
  ScriptHook* script_;
  std::size_t replied_ = 0;  // octets of session_.output() the grader has seen
  std::string client_line_;  // a command line being assembled, for the transcript
  std::uint64_t content_octets_ = 0;
  bool auth_response_next_ = false;
  std::vector<TranscriptLine> transcript_;
};

}  // namespace petrel::catcher
