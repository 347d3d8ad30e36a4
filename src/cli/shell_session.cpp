#include "cli/shell_session.hpp"

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <memory>

#include "cli/shell_atrn.hpp"
#include "cli/shell_commands.hpp"
#include "cli/shell_editor.hpp"
#include "cli/smtp_connection.hpp"
#include "cli/terminal.hpp"
#include "smtp/client_commands.hpp"

namespace petrel::cli::shell {
namespace {

using Millis = std::chrono::milliseconds;
using Printer = std::function<void(std::string_view)>;


std::string seconds(Millis duration) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", static_cast<double>(duration.count()) / 1000.0);
  return buf;
}

std::string date_of(std::int64_t unix_time) { return utc_time(unix_time, "%Y-%m-%d %H:%M UTC"); }

std::string tls_report(const TlsDetails& tls) {
  std::string names;
  for (const auto& n : tls.names) names += (names.empty() ? "" : ", ") + n;
  std::string out = "TLS: " + tls.describe() + "\n";
  out += "  certificate: " + tls.subject + "\n  issuer:      " + tls.issuer + "\n";
  if (!names.empty()) out += "  names:       " + names + "\n";
  out += "  valid:       " + date_of(tls.not_before) + " to " + date_of(tls.not_after) + "\n";
  out += "  chain:       " +
         (tls.chain_verified ? paint("verified", Colour::green) : paint("NOT verified: " + tls.verify_error, Colour::red)) +
         "\n";
  out += "  host name:   " + (tls.name_matches ? paint("matches", Colour::green) : paint("does NOT match", Colour::red)) +
         "\n";
  return out;
}

// The dialogue: what was sent, which replies are still owed and what they
// mean (354 opens DATA mode, 220 to STARTTLS starts the handshake), and the
// shell's dot-commands. The same for a terminal and for a script.
class Session {
 public:
  Session(SmtpConnection& connection, const ShellOptions& options, bool echo_typed)
      : conn_(connection), options_(options), echo_typed_(echo_typed) {
    awaiting_.push_back("greeting");
  }

  void set_printer(Printer print) { print_ = std::move(print); }
  bool over() const { return over_; }
  int exit_status() const { return exit_status_; }
  bool in_data() const { return data_mode_; }
  // The line typed now would carry credentials: not for the history.
  bool secret(const std::string& line) const { return hide_credentials(line, last_code_ == 334).has_value(); }
  std::string prompt() const {
    if (data_mode_) return "data> ";
    return conn_.tls() ? "smtp+tls> " : "smtp> ";
  }

  void handle_line(const std::string& line);
  bool on_readable();
  void drain();
  // Waits for every reply still owed; false on a timeout or when the
  // connection ended. `fatal_timeout`: a script stops, a person may wait on.
  bool await_replies(bool fatal_timeout);
  void quit();

 private:
  void print(std::string_view text) { print_(text); }
  void note(const std::string& text, Colour colour = Colour::dim) { print(paint(text, colour) + "\n"); }
  bool send(const std::string& wire, std::string_view shown, bool typed);
  void command(const std::string& line, std::string_view shown, bool typed);
  void on_reply(const smtp::ServerReply& reply);
  void handshake();
  void reverse();
  void end(bool failed, const std::string& why);
  void run_local(const LocalCommand& local);
  void auth(const std::string& mechanism, const std::string& user);
  void auth_cram_md5(const std::string& user, const std::string& password);
  void data_file(const std::string& path);

  SmtpConnection& conn_;
  const ShellOptions& options_;
  bool echo_typed_;  // a script's lines are not on screen: echo them
  Printer print_ = [](std::string_view t) {
    std::fwrite(t.data(), 1, t.size(), stdout);
    std::fflush(stdout);  // a script's reader (tee, a test) sees each reply as it comes
  };
  std::deque<std::string> awaiting_;  // verbs whose reply has not come yet
  int last_code_ = 0;
  std::string last_challenge_;  // the base64 of the last 334
  bool data_mode_ = false;
  bool quit_acknowledged_ = false;
  bool over_ = false;
  int exit_status_ = kExitOk;
};

bool Session::send(const std::string& wire, std::string_view shown, bool typed) {
  if (!typed || echo_typed_) print(paint("> ", Colour::dim) + std::string(shown) + "\n");
  if (conn_.write(wire, options_.timeout)) return true;
  end(true, "Connection lost: " + conn_.last_result().detail);
  return false;
}

void Session::command(const std::string& line, std::string_view shown, bool typed) {
  if (send(line + "\r\n", shown, typed)) awaiting_.push_back(verb_of(line));
}

void Session::handle_line(const std::string& line) {
  if (data_mode_) {
    if (line == ".") {
      data_mode_ = false;
      if (send(".\r\n", ".", true)) awaiting_.push_back(".");
    } else {
      send(stuff_data_line(line), line, true);
    }
    return;
  }
  if (auto local = parse_local(line)) {
    run_local(*local);
    return;
  }
  // An empty line is a typing slip, except as the answer to a 334 challenge.
  if (line.empty() && last_code_ != 334) return;
  const auto hidden = hide_credentials(line, last_code_ == 334);
  command(line, hidden ? *hidden : line, true);
}

void Session::on_reply(const smtp::ServerReply& reply) {
  std::string text;
  for (const auto& raw : conn_.last_raw_lines()) text += paint(raw, reply_colour(reply.code)) + "\n";
  print(text);
  last_code_ = reply.code;
  last_challenge_ = reply.code == 334 && !reply.lines.empty() ? reply.lines.front() : std::string();
  if (reply.code == 334 && !reply.lines.empty()) {
    if (auto decoded = decode_challenge(reply.lines.front())) note("    (base64 for \"" + *decoded + "\")");
  }
  const std::string verb = awaiting_.empty() ? std::string() : awaiting_.front();
  if (!awaiting_.empty()) awaiting_.pop_front();
  if (verb == "DATA" && reply.code == 354) {
    data_mode_ = true;
    note("Type the message: headers, an empty line, the body; a line with only '.' ends it.");
  } else if (verb == "STARTTLS" && reply.code == 220) {
    handshake();
  } else if (verb == "ATRN" && reply.code == 250) {
    reverse();
  } else if (verb == "QUIT" && reply.code == 221) {
    quit_acknowledged_ = true;
    end(false, "Connection closed.");
  }
}

void Session::handshake() {
  const auto tls = conn_.start_tls(options_.timeout);
  if (!tls) {
    end(true, "TLS handshake failed: " + conn_.last_result().detail);
    return;
  }
  print(tls_report(*tls));
  // RFC 3207 §4.2: the server forgets what it knew before TLS.
  note("Now say EHLO again: the server has forgotten the earlier one (RFC 3207 §4.2).");
}

// RFC 2645 §4.3: after the 250 to ATRN the shell is the server on this
// connection until the provider's QUIT, which ends the connection too. On
// any other reply (453 no mail, 450 refused) the shell stays the client.
void Session::reverse() {
  awaiting_.clear();
  const ReversedEnd result = serve_reversed(conn_, options_, print_);
  quit_acknowledged_ = !result.failed;
  end(result.failed, result.why);
}

void Session::end(bool failed, const std::string& why) {
  if (over_) return;
  over_ = true;
  exit_status_ = failed ? kExitConnectionLost : kExitOk;
  note(why, failed ? Colour::red : Colour::dim);
}

bool Session::on_readable() {
  const bool alive = conn_.read_available();
  drain();
  if (!alive && !over_) {
    end(!quit_acknowledged_, quit_acknowledged_ ? "Connection closed." : "Connection closed by the server.");
  }
  return !over_;
}

void Session::drain() {
  while (!over_ && conn_.reply_ready()) {
    const auto reply = conn_.read_reply(Millis(0));
    if (!reply) break;
    on_reply(*reply);
  }
  if (!over_ && conn_.last_result().error == NetError::protocol) {
    end(true, "Not an SMTP reply (" + conn_.last_result().detail + "): closing.");
  }
}

bool Session::await_replies(bool fatal_timeout) {
  while (!over_ && !awaiting_.empty()) {
    const auto reply = conn_.read_reply(options_.timeout);
    if (reply) {
      on_reply(*reply);
      continue;
    }
    const auto& result = conn_.last_result();
    if (result.error == NetError::timeout && !fatal_timeout) {
      note("No reply within " + seconds(options_.timeout) + " s; it will show when it comes.",
           Colour::yellow);
      return false;
    }
    if (result.error == NetError::timeout) {
      end(true, "No reply within " + seconds(options_.timeout) + " s: giving up.");
    } else if (result.error == NetError::closed && quit_acknowledged_) {
      end(false, "Connection closed.");
    } else if (result.error == NetError::closed) {
      end(true, "Connection closed by the server.");
    } else {
      end(true, "Connection lost: " + result.detail);
    }
  }
  return !over_;
}

void Session::quit() {
  if (over_) return;
  command("QUIT", "QUIT", false);
  await_replies(true);
  if (!over_) end(false, "Connection closed.");
}

void Session::run_local(const LocalCommand& local) {
  using Kind = LocalCommand::Kind;
  if (!local.error.empty()) {
    note(local.error, Colour::red);
    return;
  }
  switch (local.kind) {
    case Kind::starttls:
      command("STARTTLS", "STARTTLS", false);
      await_replies(false);
      break;
    case Kind::auth: auth(local.args[0], local.args[1]); break;
    case Kind::data: data_file(local.args[0]); break;
    case Kind::quit: quit(); break;
    case Kind::help:
      if (local.args.empty()) {
        print(help_text());
      } else if (auto text = help_text(local.args[0])) {
        print(*text);
      } else {
        note("no command " + local.args[0] + " (.help lists them)", Colour::red);
      }
      break;
    case Kind::unknown: break;
  }
}

// RFC 4616 (PLAIN: authzid NUL authcid NUL password in one go), the
// LOGIN mechanism (user and password each after a 334) and CRAM-MD5 (RFC
// 2195: the HMAC of the challenge, the password never sent). The password
// is asked first, so the server does not wait on the typing.
void Session::auth(const std::string& mechanism, const std::string& user) {
  if (!conn_.tls()) note("(the connection is not encrypted: most servers refuse AUTH before .starttls)");
  const auto password = read_secret("Password for " + user + ": ");
  if (!password) {
    note("No password: AUTH not sent.", Colour::yellow);
    return;
  }
  if (mechanism == "plain") {
    std::string credentials = std::string(1, '\0') + user + '\0' + *password;
    command("AUTH PLAIN " + smtp::base64_encode(credentials), "AUTH PLAIN <credentials hidden>", false);
    await_replies(false);
    return;
  }
  if (mechanism == "cram-md5") {
    auth_cram_md5(user, *password);
    return;
  }
  command("AUTH LOGIN", "AUTH LOGIN", false);
  if (!await_replies(false) || last_code_ != 334) return;
  const std::string user64 = smtp::base64_encode(user);
  command(user64, user64, false);
  if (!await_replies(false) || last_code_ != 334) return;
  command(smtp::base64_encode(*password), "<password hidden>", false);
  await_replies(false);
}

void Session::auth_cram_md5(const std::string& user, const std::string& password) {
  command("AUTH CRAM-MD5", "AUTH CRAM-MD5", false);
  if (!await_replies(false) || last_code_ != 334) return;
  const auto answer = cram_md5_response(user, password, last_challenge_);
  if (!answer) {
    note("The challenge is not base64: cancelling the AUTH.", Colour::yellow);
    command("*", "*", false);  // RFC 4954 §4: the client cancels
  } else {
    command(*answer, user + " <digest>", false);
  }
  await_replies(false);
}

void Session::data_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    note("cannot read " + path, Colour::red);
    return;
  }
  const std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  command("DATA", "DATA", false);
  if (!await_replies(false) || !data_mode_) return;
  std::string wire;
  smtp::append_dot_stuffed(content, wire);  // CRLF line ends, doubled dots, then ".\r\n"
  const std::size_t lines = static_cast<std::size_t>(std::count(wire.begin(), wire.end(), '\n')) - 1;
  data_mode_ = false;
  const std::string shown = "(" + path + ": " + std::to_string(lines) + " lines, " +
                            std::to_string(wire.size() - 3) + " octets on the wire)\n" + paint("> ", Colour::dim) + ".";
  if (!send(wire, shown, false)) return;
  awaiting_.push_back(".");
  await_replies(false);
}

std::string history_path(const ShellOptions& options) {
  const char* home = std::getenv("HOME");
  if (!options.history || home == nullptr || *home == '\0') return {};
  return std::string(home) + "/.petrel_history";
}

int run_interactive(SmtpConnection& conn, Session& session, const ShellOptions& options) {
  LineEditor editor(history_path(options), [&session] { return session.prompt(); });
  session.set_printer([&editor](std::string_view text) { editor.print(text); });
  std::fputs(paint("Type .help for help; Tab completes; .quit or Ctrl-D ends the session.\n", Colour::dim).c_str(),
             stdout);
  session.await_replies(false);  // the greeting
  const LineEditor::ReadyFn on_ready = [&session] { return session.on_readable(); };
  while (!session.over()) {
    session.drain();  // replies read along with an earlier one
    if (session.over()) break;
    const bool data_line = session.in_data();
    const auto line = editor.read_line(conn.native_handle(), on_ready);
    if (session.over()) break;
    if (!line) {
      session.quit();
      break;
    }
    if (!data_line && !session.secret(*line)) editor.remember(*line);
    session.handle_line(*line);
  }
  return session.exit_status();
}

int run_script(Session& session) {
  if (!session.await_replies(true)) return session.exit_status();
  std::string line;
  while (!session.over() && std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    session.handle_line(line);
    session.await_replies(true);
  }
  session.quit();
  return session.exit_status();
}

}  // namespace

int run_shell(const ShellOptions& options) {
  std::signal(SIGPIPE, SIG_IGN);  // a closed connection is reported, not fatal
  ConnectOptions connect;
  connect.timeout = options.timeout;
  connect.implicit_tls = options.implicit_tls;
  connect.ca_file = options.ca_file;
  connect.tls_name = options.tls_name;
  SmtpConnection::Result result;
  const auto conn = SmtpConnection::open(options.host, options.port, connect, result);
  const std::string where = options.host + " port " + std::to_string(options.port);
  if (!conn) {
    std::fprintf(stderr, "petrel shell: cannot connect to %s: %s (%s)\n", where.c_str(),
                 std::string(to_string(result.error)).c_str(), result.detail.c_str());
    return kExitCannotConnect;
  }
  std::printf("%s\n", paint("Connected to " + where + " (" + conn->peer_address() + ")", Colour::bold).c_str());
  if (conn->tls()) std::fputs(tls_report(*conn->tls()).c_str(), stdout);
  const bool terminal = ::isatty(STDIN_FILENO) != 0;
  Session session(*conn, options, !terminal);
  if (!terminal) return run_script(session);
  return run_interactive(*conn, session, options);
}

}  // namespace petrel::cli::shell
