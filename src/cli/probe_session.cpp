#include "cli/probe_session.hpp"

#include <unistd.h>

#include <array>
#include <memory>
#include <random>

namespace petrel::cli {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string random_local_part() {
  std::random_device device;
  std::mt19937_64 rng(device());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string name = "petrel-probe-";
  for (int i = 0; i < 10; ++i) name += kHex[rng() % 16];
  return name;
}

// One connection's dialogue, writing the transcript as it goes. Once the
// connection is lost every further exchange is skipped.
class Dialogue {
 public:
  Dialogue(HostObservation& host, const ProbeOptions& options, bool dane = false)
      : h_(host), o_(options), dane_(dane) {}

  bool connect() {
    ConnectOptions c;
    c.timeout = o_.timeout;
    c.implicit_tls = h_.implicit_tls;
    c.tls_name = h_.host;
    c.ca_file = o_.ca_file;
    if (dane_) c.tlsa = h_.dane.usable;
    note("connecting to " + h_.address + " port " + std::to_string(h_.port) + (h_.implicit_tls ? " (implicit TLS)" : ""));
    SmtpConnection::Result result;
    conn_ = SmtpConnection::open(h_.address, h_.port, c, result);
    h_.connect = StepResult{true, result.error, result.detail, result.elapsed.count() / 1000.0};
    if (!conn_) {
      note("connect failed: " + result.detail);
      return false;
    }
    if (conn_->tls()) {
      h_.implicit_tls_details = conn_->tls();
      note("TLS: " + conn_->tls()->describe());
    }
    return true;
  }

  // The greeting, timed; false unless it is a 220.
  bool greeting() {
    const auto start = Clock::now();
    auto reply = conn_->read_reply(o_.timeout);
    h_.greeting = StepResult{true, conn_->last_result().error, conn_->last_result().detail, ms_since(start)};
    if (!reply) {
      note("no greeting: " + conn_->last_result().detail);
      alive_ = false;
      return false;
    }
    server_lines();
    h_.greeting_reply = std::move(reply);
    return h_.greeting_reply->code == 220;
  }

  Exchange exchange(const std::string& command) {
    Exchange e{command, std::nullopt};
    if (!alive_) return e;
    h_.transcript.push_back({TranscriptLine::Kind::client, command});
    if (!conn_->write(command + "\r\n", o_.timeout)) {
      lost(command);
      return e;
    }
    e.reply = read();
    if (!e.reply) lost(command);
    return e;
  }

  // EHLO, and HELO when EHLO is refused (RFC 5321 §3.2).
  void hello(Exchange& ehlo, smtp::Capabilities& capabilities) {
    const auto start = Clock::now();
    ehlo = exchange("EHLO " + helo_name());
    if (&ehlo == &h_.ehlo) h_.ehlo_ms = ms_since(start);
    if (ehlo.reply && ehlo.reply->positive()) {
      capabilities = smtp::parse_capabilities(*ehlo.reply);
      return;
    }
    if (!ehlo.reply || &ehlo != &h_.ehlo) return;
    note("EHLO refused: falling back to HELO");
    h_.helo = exchange("HELO " + helo_name());
    if (h_.helo.reply && h_.helo.reply->positive()) capabilities.server_name = first_word_of(*h_.helo.reply);
  }

  void pipelining() {
    if (!alive_ || !h_.capabilities.pipelining) return;
    h_.pipelining.tested = true;
    // RFC 2920 §3.1: RSET may go anywhere in a group, NOOP ends it.
    h_.transcript.push_back({TranscriptLine::Kind::client, "RSET"});
    h_.transcript.push_back({TranscriptLine::Kind::client, "NOOP   (both in one write)"});
    if (!conn_->write("RSET\r\nNOOP\r\n", o_.timeout)) {
      lost("RSET+NOOP");
      return;
    }
    for (int i = 0; i < 2; ++i) {
      auto reply = read();
      if (!reply) {
        note("pipelined reply " + std::to_string(i + 1) + " missing: " + conn_->last_result().detail);
        // A missing reply is the finding; the connection may still be usable.
        if (conn_->last_result().error != NetError::timeout) lost("RSET+NOOP");
        return;
      }
      h_.pipelining.replies.push_back(std::move(*reply));
    }
  }

  void size_and_relay() {
    if (h_.capabilities.size && *h_.capabilities.size > 0 && alive_) {
      h_.size_tried = *h_.capabilities.size + 1;
      h_.size_mail = exchange("MAIL FROM:<" + o_.relay_from + "> SIZE=" + std::to_string(h_.size_tried));
      // RSET after a refusal too: Postfix keeps the refused SIZE= for the
      // next MAIL of the session and would refuse the relay check's MAIL.
      if (h_.size_mail.reply) exchange("RSET");
    }
    // Never DATA: nothing is sent even if the server would relay.
    h_.relay_mail = exchange("MAIL FROM:<" + o_.relay_from + ">");
    if (h_.relay_mail.reply && h_.relay_mail.reply->positive()) {
      h_.relay_rcpt = exchange("RCPT TO:<" + o_.relay_to + ">");
      exchange("RSET");
    }
  }

  void start_tls() {
    StartTlsObservation s;
    s.command = exchange("STARTTLS");
    if (s.command.reply && s.command.reply->code == 220) {
      auto tls = conn_->start_tls(o_.timeout);
      if (tls) {
        if (tls->dane_checked) {
          note("TLS: " + tls->describe() + (tls->dane_matched ? ", DANE: certificate matches " + tls->dane_match
                                                              : ", DANE: no TLSA record matches the certificate"));
        } else {
          note("TLS: " + tls->describe() +
               (tls->chain_verified ? ", chain verified" : ", chain NOT verified: " + tls->verify_error));
        }
        s.tls = std::move(tls);
        hello(s.ehlo, s.capabilities);
      } else {
        s.error = conn_->last_result().detail;
        note("TLS handshake failed: " + s.error);
        alive_ = false;
      }
    }
    h_.starttls = std::move(s);
  }

  void quit() {
    if (!alive_) return;
    h_.transcript.push_back({TranscriptLine::Kind::client, "QUIT"});
    if (conn_->write("QUIT\r\n", o_.timeout) && read()) return;
  }

  bool alive() const { return alive_; }
  void note(std::string text) { h_.transcript.push_back({TranscriptLine::Kind::note, std::move(text)}); }

 private:
  std::optional<smtp::ServerReply> read() {
    auto reply = conn_->read_reply(o_.timeout);
    if (reply) server_lines();
    return reply;
  }

  void server_lines() {
    for (const auto& line : conn_->last_raw_lines()) h_.transcript.push_back({TranscriptLine::Kind::server, line});
  }

  void lost(const std::string& command) {
    if (!alive_) return;
    alive_ = false;
    const std::string verb = command.substr(0, command.find(' '));
    h_.lost_error = conn_->last_result().error;
    h_.lost = "after " + verb + ": " + std::string(to_string(conn_->last_result().error)) + " (" +
              conn_->last_result().detail + ")";
    note("connection lost " + h_.lost);
  }

  std::string helo_name() const { return o_.helo.empty() ? default_helo_name() : o_.helo; }

  static std::string first_word_of(const smtp::ServerReply& r) {
    return r.lines.empty() ? std::string() : r.lines.front().substr(0, r.lines.front().find(' '));
  }

  HostObservation& h_;
  const ProbeOptions& o_;
  bool dane_ = false;  // the handshake checks h_.dane.usable (DANE) instead of the CAs
  std::unique_ptr<SmtpConnection> conn_;
  bool alive_ = true;
};

void user_checks(Dialogue& d, HostObservation& h) {
  h.help = d.exchange("HELP");
  h.random_name = random_local_part();
  h.vrfy_postmaster = d.exchange("VRFY postmaster");
  h.vrfy_random = d.exchange("VRFY " + h.random_name);
  h.expn_postmaster = d.exchange("EXPN postmaster");
  h.expn_random = d.exchange("EXPN " + h.random_name);
}

// After a TURN that was accepted the roles are swapped (RFC 821 §3.8):
// that connection is no use any more, so STARTTLS gets a new one.
void starttls_on_new_connection(HostObservation& h, const ProbeOptions& options) {
  HostObservation again = h;  // a scratch copy: only STARTTLS is kept
  again.transcript.clear();
  Dialogue second(again, options);
  second.note("TURN was accepted: a new connection for STARTTLS");
  if (!second.connect() || !second.greeting()) return;
  Exchange ehlo;
  smtp::Capabilities caps;
  second.hello(ehlo, caps);
  second.start_tls();
  second.quit();
  h.starttls = std::move(again.starttls);
  h.transcript.insert(h.transcript.end(), again.transcript.begin(), again.transcript.end());
}

// DANE (RFC 7672 §3): one more connection whose STARTTLS handshake checks
// the certificate against the host's TLSA records; the first connection's
// check against the CAs is kept apart.
void dane_check(HostObservation& h, const ProbeOptions& options) {
  HostObservation again = h;
  again.transcript.clear();
  again.starttls.reset();
  Dialogue d(again, options, /*dane=*/true);
  d.note("a new connection to check the certificate against the TLSA records (DANE)");
  if (!d.connect() || !d.greeting()) {
    h.dane.error = "the second connection failed";
  } else {
    Exchange ehlo;
    smtp::Capabilities caps;
    d.hello(ehlo, caps);
    if (d.alive() && caps.starttls) d.start_tls();
    d.quit();
    if (again.starttls && again.starttls->tls && again.starttls->tls->dane_checked) {
      h.dane.checked = true;
      h.dane.matched = again.starttls->tls->dane_matched;
      h.dane.match = again.starttls->tls->dane_match;
    } else {
      h.dane.error = again.starttls && !again.starttls->error.empty() ? "TLS handshake failed: " + again.starttls->error
                                                                      : "STARTTLS did not work";
    }
  }
  h.transcript.insert(h.transcript.end(), again.transcript.begin(), again.transcript.end());
}

// ODMR (RFC 2645): a connection to port 366 of the same address, to see
// whether it offers ATRN and which AUTH in the clear. Never authenticates.
void odmr_check(HostObservation& h, const ProbeOptions& options) {
  HostObservation again = h;
  again.transcript.clear();
  again.port = options.odmr_port;
  again.implicit_tls = false;
  h.odmr.tried = true;
  Dialogue d(again, options);
  d.note("a new connection to port " + std::to_string(options.odmr_port) + " for ODMR (RFC 2645)");
  if (!d.connect()) {
    h.odmr.error = again.connect.detail;
  } else if (!d.greeting()) {
    h.odmr.error = "no 220 greeting";
    d.quit();
  } else {
    h.odmr.greeted = true;
    Exchange ehlo;
    smtp::Capabilities caps;
    d.hello(ehlo, caps);
    h.odmr.atrn = caps.atrn;
    h.odmr.auth = caps.auth;
    h.odmr.starttls = caps.starttls;
    d.quit();
  }
  h.transcript.insert(h.transcript.end(), again.transcript.begin(), again.transcript.end());
}

void probe_smtp(HostObservation& h, const ProbeOptions& options);

}  // namespace

std::string default_helo_name() {
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) != 0 || name[0] == '\0') return "petrel-probe.invalid";
  return name.data();
}

void probe_host(HostObservation& h, const ProbeOptions& options) {
  probe_smtp(h, options);
  if (options.odmr) odmr_check(h, options);
}

namespace {

void probe_smtp(HostObservation& h, const ProbeOptions& options) {
  Dialogue d(h, options);
  if (!d.connect()) return;
  if (!d.greeting()) {
    d.quit();
    return;
  }
  d.hello(h.ehlo, h.capabilities);
  const bool greeted_back = (h.ehlo.reply && h.ehlo.reply->positive()) || (h.helo.reply && h.helo.reply->positive());
  if (!d.alive() || !greeted_back) {
    d.quit();
    return;
  }
  user_checks(d, h);
  d.pipelining();
  d.size_and_relay();
  h.turn = d.exchange("TURN");
  const bool turned = h.turn.reply && h.turn.reply->positive();
  if (turned) {
    if (h.capabilities.starttls && !h.implicit_tls) starttls_on_new_connection(h, options);
    return;
  }
  if (h.capabilities.starttls && !h.implicit_tls && d.alive()) d.start_tls();
  d.quit();
  if (!h.dane.usable.empty() && h.capabilities.starttls && !h.implicit_tls) dane_check(h, options);
}

}  // namespace

}  // namespace petrel::cli
