#include "cli/shell_editor.hpp"

#include <dirent.h>
#include <histedit.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <iostream>

#include "cli/terminal.hpp"

namespace petrel::cli::shell {
namespace {

constexpr int kHistorySize = 1000;

std::vector<std::string> list_directory(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.empty() ? "." : dir.c_str());
  if (d == nullptr) return out;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    bool is_dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN || e->d_type == DT_LNK) {
      DIR* probe = ::opendir((dir.empty() ? name : dir + name).c_str());
      is_dir = probe != nullptr;
      if (probe != nullptr) ::closedir(probe);
    }
    out.push_back(is_dir ? name + "/" : name);
  }
  ::closedir(d);
  return out;
}

// One byte from the terminal, retrying on EINTR (SIGWINCH); 0 at EOF.
int read_byte(unsigned char& byte) {
  for (;;) {
    const ssize_t n = ::read(STDIN_FILENO, &byte, 1);
    if (n >= 0) return static_cast<int>(n);
    if (errno != EINTR) return -1;
  }
}

// A UTF-8 sequence as one wide character, as libedit's own reader would.
// A malformed sequence comes through as its first byte.
int read_wide(wchar_t& out) {
  unsigned char lead = 0;
  const int n = read_byte(lead);
  if (n <= 0) return n;
  int more = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : lead >= 0xc0 ? 1 : 0;
  wchar_t value = more == 3 ? (lead & 0x07) : more == 2 ? (lead & 0x0f) : more == 1 ? (lead & 0x1f) : lead;
  for (; more > 0; --more) {
    unsigned char next = 0;
    if (read_byte(next) <= 0 || (next & 0xc0) != 0x80) {
      value = lead;
      break;
    }
    value = static_cast<wchar_t>((value << 6) | (next & 0x3f));
  }
  out = value;
  return 1;
}

}  // namespace

struct LineEditor::Impl {
  EditLine* el = nullptr;
  History* history = nullptr;
  HistEvent event{};
  std::string history_file;
  PromptFn prompt;
  std::string prompt_text;  // kept alive for libedit between calls
  bool reading = false;
  bool stop = false;  // on_ready said the session is over
  int watch_fd = -1;
  const ReadyFn* on_ready = nullptr;

  static Impl& of(EditLine* el) {
    void* data = nullptr;
    el_get(el, EL_CLIENTDATA, &data);
    return *static_cast<Impl*>(data);
  }

  static char* prompt_hook(EditLine* el) {
    Impl& self = of(el);
    self.prompt_text = self.prompt();
    return self.prompt_text.data();
  }

  // libedit's character source: the terminal, with the socket watched at
  // the same time so that replies show while a line is being edited.
  static int getc_hook(EditLine* el, wchar_t* out) {
    Impl& self = of(el);
    for (;;) {
      if (self.stop) return 0;
      pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {self.watch_fd, POLLIN, 0}};
      const int n = ::poll(fds, self.watch_fd >= 0 ? 2 : 1, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        return -1;
      }
      if (self.watch_fd >= 0 && fds[1].revents != 0 && !(*self.on_ready)()) {
        self.stop = true;
        return 0;
      }
      if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) return read_wide(*out);
    }
  }

  static unsigned char complete_hook(EditLine* el, int) {
    const LineInfo* line = el_line(el);
    const std::string_view before(line->buffer, static_cast<std::size_t>(line->cursor - line->buffer));
    const Completion c = complete(before, list_directory);
    if (!c.insert.empty()) el_insertstr(el, c.insert.c_str());
    if (c.candidates.empty()) return c.insert.empty() ? CC_REFRESH_BEEP : CC_REFRESH;
    std::string listing = "\n";
    for (const auto& candidate : c.candidates) listing += candidate + "  ";
    listing += "\n";
    std::fputs(listing.c_str(), stdout);
    std::fflush(stdout);
    return CC_REDISPLAY;
  }
};

LineEditor::LineEditor(std::string history_file, PromptFn prompt) : impl_(std::make_unique<Impl>()) {
  impl_->history_file = std::move(history_file);
  impl_->prompt = std::move(prompt);
  impl_->el = el_init("petrel", stdin, stdout, stderr);
  el_set(impl_->el, EL_CLIENTDATA, impl_.get());
  el_set(impl_->el, EL_EDITOR, "emacs");
  el_set(impl_->el, EL_SIGNAL, 1);  // the terminal is restored when a signal ends us
  el_set(impl_->el, EL_PROMPT, &Impl::prompt_hook);
  el_set(impl_->el, EL_GETCFN, &Impl::getc_hook);
  // el_wset: the narrow el_set copies the name and help into wide strings
  // that libedit never frees (LeakSanitizer finds them at every exit).
  el_wset(impl_->el, EL_ADDFN, L"petrel-complete", L"complete an SMTP or shell command", &Impl::complete_hook);
  el_set(impl_->el, EL_BIND, "^I", "petrel-complete", nullptr);
  impl_->history = history_init();
  history(impl_->history, &impl_->event, H_SETSIZE, kHistorySize);
  history(impl_->history, &impl_->event, H_SETUNIQUE, 1);
  if (!impl_->history_file.empty()) history(impl_->history, &impl_->event, H_LOAD, impl_->history_file.c_str());
  el_set(impl_->el, EL_HIST, history, impl_->history);
  el_source(impl_->el, nullptr);  // the user's ~/.editrc, as every libedit program reads it
}

LineEditor::~LineEditor() {
  if (!impl_->history_file.empty()) history(impl_->history, &impl_->event, H_SAVE, impl_->history_file.c_str());
  el_end(impl_->el);
  history_end(impl_->history);
}

std::optional<std::string> LineEditor::read_line(int watch_fd, const ReadyFn& on_ready) {
  impl_->watch_fd = watch_fd;
  impl_->on_ready = &on_ready;
  impl_->stop = false;
  impl_->reading = true;
  int count = 0;
  const char* line = el_gets(impl_->el, &count);
  impl_->reading = false;
  if (impl_->stop || line == nullptr || count <= 0) {
    // The session ended under the prompt: wipe it. Or end of input: move
    // off the line (and off the "^D" libedit shows).
    std::fputs(impl_->stop ? "\r\033[K" : "\n", stdout);
    return std::nullopt;
  }
  std::string out(line, static_cast<std::size_t>(count));
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

void LineEditor::remember(const std::string& line) {
  if (!line.empty()) history(impl_->history, &impl_->event, H_ENTER, line.c_str());
}

void LineEditor::print(std::string_view text) {
  if (!impl_->reading) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return;
  }
  // Wipe the line being edited, print, and let libedit draw it again below:
  // after "\r\033[J" and text ending in '\n' the cursor is at the start of
  // an empty line, which is where EL_REFRESH expects to begin.
  // A line longer than the terminal is wide wraps: go up to its first row.
  const LineInfo* line = el_line(impl_->el);
  const std::size_t before_cursor =
      display_width(impl_->prompt_text) +
      display_width(std::string_view(line->buffer, static_cast<std::size_t>(line->cursor - line->buffer)));
  winsize size{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0 && before_cursor >= size.ws_col) {
    std::fprintf(stdout, "\033[%zuA", before_cursor / size.ws_col);
  }
  std::fputs("\r\033[J", stdout);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  el_set(impl_->el, EL_REFRESH);
}

std::optional<std::string> read_secret(std::string_view prompt) {
  std::string out;
  if (::isatty(STDIN_FILENO) == 0) {
    if (!std::getline(std::cin, out)) return std::nullopt;
    if (!out.empty() && out.back() == '\r') out.pop_back();
    return out;
  }
  std::fwrite(prompt.data(), 1, prompt.size(), stdout);
  std::fflush(stdout);
  termios saved{};
  ::tcgetattr(STDIN_FILENO, &saved);
  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ICANON | ECHONL;
  ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  bool got_line = false;
  unsigned char byte = 0;
  while (read_byte(byte) == 1) {
    if (byte == '\n' || byte == '\r') {
      got_line = true;
      break;
    }
    out += static_cast<char>(byte);
  }
  ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  if (!got_line) std::fputs("\n", stdout);
  if (!got_line && out.empty()) return std::nullopt;
  return out;
}

}  // namespace petrel::cli::shell
