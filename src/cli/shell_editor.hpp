// The line editor of `petrel shell` on a terminal: libedit (BSD editline)
// with history, Emacs keys and Tab completion, and one more thing a plain
// readline() cannot do: while the user edits a line, the server's replies
// are printed above it as they arrive.
//
// How: libedit reads every character through a function we give it
// (EL_GETCFN). Ours poll()s the terminal and the connection's socket
// together; when the socket is readable it calls back into the session,
// which prints the replies through print(): the edited line is wiped,
// the text printed, and libedit redraws prompt and line (EL_REFRESH).
// libedit's readline-compatible callback interface (rl_callback_read_char)
// was tried first: in libedit 3.1 (20221030) it leaves the previous line in
// its buffer after the line handler runs and does not redraw the prompt, so
// the el_* interface it is built on is used directly.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cli/shell_commands.hpp"

namespace petrel::cli::shell {

class LineEditor {
 public:
  using PromptFn = std::function<std::string()>;
  // Called when the watched descriptor is readable; false ends read_line().
  using ReadyFn = std::function<bool()>;

  // history_file: "" keeps no history on disk.
  LineEditor(std::string history_file, PromptFn prompt);
  ~LineEditor();  // saves the history
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  // One line without its newline; nullopt at end of input (Ctrl-D on an
  // empty line) or when on_ready returned false. Meanwhile on_ready runs
  // whenever watch_fd is readable.
  std::optional<std::string> read_line(int watch_fd, const ReadyFn& on_ready);
  void remember(const std::string& line);  // into the history

  // Text ending in '\n': above the line being edited while read_line()
  // runs, plainly otherwise.
  void print(std::string_view text);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A password from the terminal without echo (or the next line of a non-tty
// stdin, for scripts). nullopt at end of input.
std::optional<std::string> read_secret(std::string_view prompt);

}  // namespace petrel::cli::shell
