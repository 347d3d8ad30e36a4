#include "cli/shell_atrn.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <utility>

#include "cli/shell_reverse.hpp"
#include "cli/terminal.hpp"

namespace petrel::cli::shell {
namespace {

using Printer = std::function<void(std::string_view)>;


// The name in the greeting and the EHLO reply.
std::string local_hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

// "message 2: from <a@example> to <b@example>, <c@example> (1234 octets)"
std::string summary(std::size_t n, const ReceivedMessage& m) {
  std::string to;
  for (const auto& rcpt : m.forward_paths) to += (to.empty() ? "" : ", ") + rcpt;
  return "message " + std::to_string(n) + ": from " + m.reverse_path + " to " + to + " (" +
         std::to_string(m.content.size()) + " octets)";
}

// DIR/atrn-UNIXTIME-PID-N.eml, the content as received (CRLF line ends),
// created new (never over another file) and readable by the user only.
// The path written, or an error message.
std::pair<bool, std::string> save(const std::string& dir, std::size_t n, const ReceivedMessage& m) {
  const std::string path = dir + "/atrn-" + std::to_string(std::time(nullptr)) + "-" + std::to_string(::getpid()) +
                           "-" + std::to_string(n) + ".eml";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return {false, "cannot create " + path + ": " + std::strerror(errno)};
  std::string_view rest = m.content;
  while (!rest.empty()) {
    const ssize_t written = ::write(fd, rest.data(), rest.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      return {false, "cannot write " + path + ": " + why};
    }
    rest.remove_prefix(static_cast<std::size_t>(written));
  }
  if (::close(fd) != 0) return {false, "cannot write " + path + ": " + std::strerror(errno)};
  return {true, path};
}

class Reversed {
 public:
  Reversed(SmtpConnection& conn, const ShellOptions& options, const Printer& print)
      : conn_(conn), options_(options), print_(print), server_(local_hostname(), limits(options)) {}

  ReversedEnd run() {
    note("ATRN accepted: the roles reverse, and the shell is now the server (RFC 2645 §4.3).");
    std::string out;
    show(server_.greeting(), out);
    if (!conn_.write(out, options_.timeout)) return lost();
    while (!server_.closed()) {
      const auto bytes = conn_.read_bytes(options_.timeout);
      if (!bytes) return lost();
      out.clear();
      for (const auto& event : server_.feed(*bytes)) show(event, out);
      if (!out.empty() && !conn_.write(out, options_.timeout)) return lost();
    }
    note(std::to_string(received_) + (received_ == 1 ? " message" : " messages") + " received.", Colour::bold);
    return {false, "Connection closed."};
  }

 private:
  static ReverseLimits limits(const ShellOptions& options) {
    ReverseLimits l;
    l.max_message_size = options.max_message_size;
    return l;
  }

  void note(const std::string& text, Colour colour = Colour::dim) { print_(paint(text, colour) + "\n"); }

  // Prints the event; a reply's wire text is added to `out`, to go once
  // the bytes at hand are all answered (pipelined commands, RFC 2920).
  void show(const ReverseEvent& event, std::string& out) {
    using Kind = ReverseEvent::Kind;
    switch (event.kind) {
      case Kind::command: print_(event.text + "\n"); break;
      case Kind::content: note(event.text); break;
      case Kind::reply: {
        std::string text;
        std::size_t start = 0;
        while (start <= event.text.size()) {
          const auto end = std::min(event.text.find('\n', start), event.text.size());
          text += paint("> ", Colour::dim) + paint(event.text.substr(start, end - start), reply_colour(event.code)) + "\n";
          start = end + 1;
        }
        print_(text);
        out += event.wire;
        break;
      }
      case Kind::message: keep(*event.message); break;
      case Kind::closed: break;
    }
  }

  void keep(const ReceivedMessage& message) {
    ++received_;
    note(summary(received_, message), Colour::bold);
    if (options_.save_dir.empty()) return;
    const auto [ok, text] = save(options_.save_dir, received_, message);
    note(ok ? "  saved as " + text : "  " + text, ok ? Colour::dim : Colour::red);
  }

  ReversedEnd lost() {
    const auto& result = conn_.last_result();
    note(std::to_string(received_) + (received_ == 1 ? " message" : " messages") + " received before the end.");
    if (result.error == NetError::timeout) {
      const auto ms = options_.timeout.count();
      return {true, "Nothing from the server within " + std::to_string(ms / 1000) + "." +
                        std::to_string(ms % 1000 / 100) + " s: giving up."};
    }
    if (result.error == NetError::closed) return {true, "Connection closed by the server before QUIT."};
    return {true, "Connection lost: " + result.detail};
  }

  SmtpConnection& conn_;
  const ShellOptions& options_;
  const Printer& print_;
  ReverseServer server_;
  std::size_t received_ = 0;
};

}  // namespace

ReversedEnd serve_reversed(SmtpConnection& conn, const ShellOptions& options, const Printer& print) {
  return Reversed(conn, options, print).run();
}

}  // namespace petrel::cli::shell
