#include "delivery/alias_delivery.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

namespace petrel::delivery {
namespace {

using Clock = std::chrono::steady_clock;

AliasOutcome delivered(std::string what) { return {AliasOutcome::Kind::delivered, "2.0.0", "250 2.0.0 " + what}; }

AliasOutcome deferred(std::string why) { return {AliasOutcome::Kind::deferred, "4.3.0", "451 4.3.0 " + why}; }

AliasOutcome failed(const std::string& status, std::string why) {
  return {AliasOutcome::Kind::failed, status, "550 " + status + " " + why};
}

// Closes a descriptor once.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// The first line of what a command said, printable, for the reply.
std::string first_line(std::string_view output) {
  const auto start = output.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return "";
  output = output.substr(start);
  output = output.substr(0, std::min(output.find('\n'), std::size_t{300}));
  std::string out;
  for (char c : output) out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string with_output(std::string text, std::string_view output) {
  const std::string line = first_line(output);
  return line.empty() ? text : text + ": " + line;
}

// A child that is still there is killed with its process group.
int reap(pid_t pid, Clock::time_point deadline, bool& timed_out) {
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return status;
    if (done < 0 && errno != EINTR) return 0;
    if (Clock::now() >= deadline) {
      timed_out = true;
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Feeds stdin and reads stdout+stderr until the command closes its
// output or the time is up; keeps the first `limit` octets of it.
void exchange(int in, int out, std::string_view message, const CommandLimits& limits, Clock::time_point deadline,
              std::string& output, bool& timed_out) {
  const std::size_t limit = limits.output_limit;
  std::size_t written = 0;
  Fd input(in);
  bool writing = true;
  if (message.empty()) {
    input.reset();
    writing = false;
  }
  char buffer[4096];
  bool reading = true;
  while (writing || reading) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0 || (limits.cancel && limits.cancel->load())) {
      timed_out = true;
      return;
    }
    pollfd fds[2] = {{reading ? out : -1, POLLIN, 0}, {writing ? input.get() : -1, POLLOUT, 0}};
    const int n = ::poll(fds, 2, static_cast<int>(std::min<long long>(left, 1000)));
    if (n < 0 && errno != EINTR) return;
    if (n <= 0) continue;
    if (writing && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const ssize_t w = ::write(input.get(), message.data() + written, std::min<std::size_t>(message.size() - written, 65536));
      if (w > 0) written += static_cast<std::size_t>(w);
      // EPIPE: the command stopped reading; its exit status tells.
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == message.size()) {
        input.reset();
        writing = false;
      }
    }
    if (reading && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      const ssize_t r = ::read(out, buffer, sizeof buffer);
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) reading = false;  // output closed
      if (r > 0 && output.size() < limit) output.append(buffer, std::min(static_cast<std::size_t>(r), limit - output.size()));
    }
  }
}

std::vector<std::string> environment(const CommandEnvironment& env) {
  const auto at = env.recipient.rfind('@');
  return {"PATH=/usr/local/bin:/usr/bin:/bin",
          "SHELL=/bin/sh",
          "HOME=/",
          "LANG=C",
          "SENDER=" + env.sender,
          "RECIPIENT=" + env.recipient,
          "ORIGINAL_RECIPIENT=" + env.original_recipient,
          "LOCAL=" + env.recipient.substr(0, at),
          "DOMAIN=" + (at == std::string::npos ? std::string() : env.recipient.substr(at + 1))};
}

// posix_spawn's attributes: own process group, no signal blocked, the
// default action for the signals the server changes.
struct SpawnSetup {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  SpawnSetup(int stdin_fd, int stdout_fd) {
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int s : {SIGPIPE, SIGHUP, SIGINT, SIGTERM, SIGCHLD}) sigaddset(&defaults, s);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0);
    posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
    posix_spawn_file_actions_adddup2(&actions, stdout_fd, 2);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    posix_spawn_file_actions_addchdir_np(&actions, "/");
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

// Writing to a command that exited must be an EPIPE, not the end of the
// server: SIGPIPE is blocked on the thread that runs commands.
void block_sigpipe_here() {
  thread_local bool blocked = false;
  if (blocked) return;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  blocked = true;
}

AliasOutcome outcome_of(int status, bool timed_out, const std::string& output) {
  if (timed_out) return failed("5.3.0", with_output("command time limit exceeded ([local] command_timeout)", output));
  if (WIFSIGNALED(status)) {
    return failed("5.3.0", with_output("command killed by signal " + std::to_string(WTERMSIG(status)), output));
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  if (code == 0) return delivered("delivered to command");
  const auto [enhanced, name] = sysexit_status(code);
  std::string text = "command exited with status " + std::to_string(code) + (name.empty() ? "" : " (" + name + ")");
  if (enhanced[0] == '4') return {AliasOutcome::Kind::deferred, enhanced, "451 " + enhanced + " " + with_output(text, output)};
  return failed(enhanced, with_output(text, output));
}

}  // namespace

std::string unix_text(std::string_view crlf_message) {
  std::string out;
  out.reserve(crlf_message.size());
  for (std::size_t i = 0; i < crlf_message.size(); ++i) {
    if (crlf_message[i] == '\r' && i + 1 < crlf_message.size() && crlf_message[i + 1] == '\n') continue;
    out.push_back(crlf_message[i]);
  }
  return out;
}

std::pair<std::string, std::string> sysexit_status(int code) {
  // sysexits(3), with the statuses Postfix's sys_exits.c gives them.
  switch (code) {
    case 64: return {"5.3.0", "EX_USAGE"};
    case 65: return {"5.6.0", "EX_DATAERR"};
    case 66: return {"5.3.0", "EX_NOINPUT"};
    case 67: return {"5.1.1", "EX_NOUSER"};
    case 68: return {"5.1.2", "EX_NOHOST"};
    case 69: return {"5.3.0", "EX_UNAVAILABLE"};
    case 70: return {"5.3.0", "EX_SOFTWARE"};
    case 71: return {"5.3.0", "EX_OSERR"};
    case 72: return {"5.3.0", "EX_OSFILE"};
    case 73: return {"5.2.0", "EX_CANTCREAT"};
    case 74: return {"5.3.0", "EX_IOERR"};
    case 75: return {"4.3.0", "EX_TEMPFAIL"};  // the only one tried again
    case 76: return {"5.5.0", "EX_PROTOCOL"};
    case 77: return {"5.7.0", "EX_NOPERM"};
    case 78: return {"5.3.5", "EX_CONFIG"};
    default: return {"5.3.0", ""};
  }
}

AliasOutcome run_command(const std::string& command, std::string_view message, const CommandEnvironment& env,
                         const CommandLimits& limits) {
  block_sigpipe_here();
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return deferred(std::string("cannot make a pipe: ") + std::strerror(errno));
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return deferred(std::string("cannot make a pipe: ") + std::strerror(errno));
  }
  Fd child_in(in[0]), child_out(out[1]), output_fd(out[0]);
  const int to_child = in[1];
  ::fcntl(to_child, F_SETFL, O_NONBLOCK);
  ::fcntl(output_fd.get(), F_SETFL, O_NONBLOCK);

  std::vector<std::string> env_strings = environment(env);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string sh = "/bin/sh", dash_c = "-c", line = command;
  char* argv[] = {sh.data(), dash_c.data(), line.data(), nullptr};

  pid_t pid = 0;
  int spawn_error = 0;
  {
    SpawnSetup setup(child_in.get(), child_out.get());
    spawn_error = ::posix_spawn(&pid, "/bin/sh", &setup.actions, &setup.attr, argv, envp.data());
  }
  child_in.reset();
  child_out.reset();
  if (spawn_error != 0) {
    ::close(to_child);
    return deferred(std::string("cannot start /bin/sh: ") + std::strerror(spawn_error));
  }
  const auto deadline = Clock::now() + limits.timeout;
  std::string output;
  bool timed_out = false;
  exchange(to_child, output_fd.get(), message, limits, deadline, output, timed_out);
  const int status = reap(pid, timed_out ? Clock::now() : deadline, timed_out);
  if (limits.cancel && limits.cancel->load()) return deferred("the server stopped while the command ran");
  return outcome_of(status, timed_out, output);
}

std::string mbox_from_line(std::string_view sender, std::time_t now) {
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char date[64];
  std::strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm);
  return "From " + (sender.empty() ? std::string("MAILER-DAEMON") : std::string(sender)) + "  " + date + "\n";
}

std::string mbox_quoted(std::string_view message) {
  std::string out;
  out.reserve(message.size() + 64);
  std::size_t pos = 0;
  while (pos < message.size()) {
    const auto end = message.find('\n', pos);
    const std::string_view line = message.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    const auto first = line.find_first_not_of('>');
    if (first != std::string_view::npos && line.substr(first, 5) == "From ") out.push_back('>');
    out.append(line);
    out.push_back('\n');
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  out.push_back('\n');  // the empty line before the next "From "
  return out;
}

AliasOutcome append_to_mbox(const std::string& path, std::string_view sender, std::string_view message,
                            std::time_t now) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    const int e = errno;
    const std::string why = "cannot open " + path + ": " + std::strerror(e);
    // A directory or a symbolic link stays one: no retry helps.
    if (e == EISDIR || e == ELOOP) return failed("5.2.0", why);
    return deferred(why);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return failed("5.2.0", path + " is not a regular file");
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  // Others (a mail reader) hold it briefly; wait up to 10 seconds.
  bool locked = false;
  for (int i = 0; i < 100 && !locked; ++i) {
    locked = ::fcntl(fd.get(), F_SETLK, &lock) == 0;
    if (!locked) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!locked) return deferred(path + " is locked");
  const off_t before = ::lseek(fd.get(), 0, SEEK_END);
  const std::string text = mbox_from_line(sender, now) + mbox_quoted(message);
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t w = ::write(fd.get(), text.data() + written, text.size() - written);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    written += static_cast<std::size_t>(w);
  }
  if (written != text.size() || ::fsync(fd.get()) != 0) {
    const std::string why = "cannot write " + path + ": " + std::strerror(errno);
    if (before >= 0 && ::ftruncate(fd.get(), before) != 0) {
      // Nothing more to do: the next delivery starts with its own From_ line.
    }
    return deferred(why);
  }
  return delivered("delivered to file");
}

}  // namespace petrel::delivery
