#include "pickup/pickup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <future>
#include <stdexcept>
#include <thread>

#include "events/mail_events.hpp"
#include "events/outbox.hpp"
#include "metrics/petrel_metrics.hpp"
#include "queue/queue_manager.hpp"
#include "smtp/received_header.hpp"
#include "spool/spool.hpp"

namespace petrel::pickup {
namespace {

constexpr std::size_t kMaxPerScan = 1000;       // files taken per pass; the next pass takes the rest
constexpr std::size_t kEnvelopeAllowance = 64 * 1024;  // header lines beyond the recipients' own

struct Fd {
  int fd = -1;
  explicit Fd(int f = -1) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string login_of(uid_t uid) {
  passwd pw{};
  passwd* found = nullptr;
  char buf[4096];
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found) return found->pw_name;
  return "#" + std::to_string(uid);
}

// A directory with exactly this mode (and owner), created if missing; not a symlink.
void make_directory(const std::string& path, mode_t mode, const uid_t* owner, const gid_t* group) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw std::runtime_error(path + " is not a directory");
  }
  if (owner && ::lchown(path.c_str(), *owner, group ? *group : static_cast<gid_t>(-1)) != 0) {
    throw std::runtime_error("cannot chown " + path + ": " + std::strerror(errno));
  }
  if (::chmod(path.c_str(), mode) != 0) throw std::runtime_error("cannot chmod " + path + ": " + std::strerror(errno));
}

unsigned aside_counter() {
  static std::atomic<unsigned> counter{0};
  return ++counter;
}

bool has_8bit(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// "Received: by HOST (Petrel, from userid N)\r\n\tid QID; DATE\r\n", as
// Postfix's pickup writes it for local mail.
std::string local_received(std::string_view hostname, uid_t uid, std::string_view qid, std::time_t now) {
  return "Received: by " + std::string(hostname) + " (Petrel, from userid " + std::to_string(uid) + ")\r\n\tid " +
         std::string(qid) + "; " + smtp::rfc5322_date(now) + "\r\n";
}

}  // namespace

void prepare_maildrop(const PickupOptions& options, const uid_t* owner, const gid_t* group) {
  make_directory(options.maildrop, 01733, owner, group);
  make_directory(options.corrupt_dir, 0700, owner, group);
}

struct Pickup::Impl {
  Impl(PickupOptions o, spool::Spool& s, queue::QueueManager& q) : options(std::move(o)), spool(s), queue(q) {}

  void run();
  void scan();
  // One file; false when the spool cannot take it now (try again later).
  bool take(int dir, const std::string& name);
  bool store(std::shared_ptr<spool::SpooledMessage> message);
  void set_aside(int dir, const std::string& name, const std::string& why);
  void remove_if_stale(int dir, const std::string& name);

  PickupOptions options;
  spool::Spool& spool;
  queue::QueueManager& queue;
  std::thread thread;
  int wake[2] = {-1, -1};  // stop(): a byte on the pipe
  std::atomic<bool> stopping{false};
  bool told_short_of_space = false;
};

Pickup::Pickup(PickupOptions options, spool::Spool& spool, queue::QueueManager& queue)
    : impl_(std::make_unique<Impl>(std::move(options), spool, queue)) {}

Pickup::~Pickup() { stop(); }

void Pickup::start() {
  if (::pipe2(impl_->wake, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pickup: cannot make a pipe");
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
  spdlog::info("pickup: maildrop {}", impl_->options.maildrop);
}

void Pickup::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->stopping = true;
  const char byte = 0;
  [[maybe_unused]] const auto n = ::write(impl_->wake[1], &byte, 1);
  impl_->thread.join();
  ::close(impl_->wake[0]);
  ::close(impl_->wake[1]);
}

void Pickup::Impl::run() {
  // inotify wakes us when petrel-sendmail renames a file in; the periodic
  // scan is the fallback (a file system without inotify, a missed event).
  Fd notify(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (notify.fd < 0 || ::inotify_add_watch(notify.fd, options.maildrop.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
    spdlog::warn("pickup: no inotify on {} ({}): scanning every {} s", options.maildrop, std::strerror(errno),
                 options.scan_interval.count() / 1000);
  }
  const int timeout = static_cast<int>(std::max<std::int64_t>(options.scan_interval.count(), 100));
  while (!stopping) {
    scan();
    pollfd fds[2] = {{wake[0], POLLIN, 0}, {notify.fd, POLLIN, 0}};
    ::poll(fds, notify.fd >= 0 ? 2 : 1, timeout);
    char events[4096];
    while (notify.fd >= 0 && ::read(notify.fd, events, sizeof events) > 0) {
    }
  }
}

void Pickup::Impl::scan() {
  Fd dir(::open(options.maildrop.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (dir.fd < 0) {
    spdlog::error("pickup: cannot open the maildrop {}: {}", options.maildrop, std::strerror(errno));
    return;
  }
  for (bool more = true; more && !stopping;) {
    // Names first, then files: the directory is not read while it changes under us.
    std::vector<std::string> names;
    {
      DIR* d = ::fdopendir(::dup(dir.fd));
      if (!d) return;
      ::rewinddir(d);
      while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        names.push_back(name);
        if (names.size() == kMaxPerScan) break;
      }
      ::closedir(d);
    }
    more = names.size() == kMaxPerScan;
    std::sort(names.begin(), names.end());  // petrel-sendmail's names start with the time: oldest first
    for (const auto& name : names) {
      if (stopping) return;
      if (name[0] == '.') {
        remove_if_stale(dir.fd, name);
        continue;
      }
      if (!valid_maildrop_name(name)) {
        set_aside(dir.fd, name, "not a name petrel-sendmail gives");
        continue;
      }
      if (!take(dir.fd, name)) return;  // the spool cannot take mail now: the next scan tries again
    }
  }
}

void Pickup::Impl::remove_if_stale(int dir, const std::string& name) {
  struct stat st {};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return;
  if (std::time(nullptr) - st.st_mtime < options.stale_temporary.count()) return;  // being written, perhaps
  if (::unlinkat(dir, name.c_str(), 0) == 0) {
    spdlog::warn("pickup: removed {}/{}, a temporary file abandoned since {} (uid {})", options.maildrop, name,
                 smtp::rfc5322_date(st.st_mtime), st.st_uid);
  }
}

void Pickup::Impl::set_aside(int dir, const std::string& name, const std::string& why) {
  // A name of our own there: whatever this one is called, it cannot escape the directory.
  const std::string aside = std::to_string(std::time(nullptr)) + "-" + std::to_string(::getpid()) + "-" +
                            std::to_string(aside_counter()) + (valid_maildrop_name(name) ? "-" + name : "");
  Fd corrupt(::open(options.corrupt_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (corrupt.fd >= 0 && ::renameat(dir, name.c_str(), corrupt.fd, aside.c_str()) == 0) {
    spdlog::error("pickup: maildrop file {} set aside as {}/{}: {}", name, options.corrupt_dir, aside, why);
    return;
  }
  const int error = errno;
  ::unlinkat(dir, name.c_str(), 0);
  spdlog::error("pickup: maildrop file {} deleted (it could not be set aside in {}: {}): {}", name,
                options.corrupt_dir, std::strerror(error), why);
}

bool Pickup::Impl::store(std::shared_ptr<spool::SpooledMessage> message) {
  std::promise<std::error_code> stored;
  auto done = stored.get_future();
  std::vector<spool::Spool::Record> records;
  std::vector<events::Event> receptions;
  if (events::wanted()) {
    receptions.push_back(events::reception(*message, "local", ""));
    records = events::outbox_records(receptions);
  }
  spool.store_group({message}, std::move(records), [&stored](std::error_code ec) { stored.set_value(ec); });
  if (const std::error_code ec = done.get()) {
    spdlog::error("pickup: the spool could not store a message: {}; retrying later", ec.message());
    return false;
  }
  metrics::messages_received().with({"local"}).inc();
  for (const auto& e : receptions) events::emit(e);
  queue.submit(std::move(message));
  return true;
}

bool Pickup::Impl::take(int dir, const std::string& name) {
  if (spool.short_of_space()) {
    if (!told_short_of_space) spdlog::warn("pickup: the spool is short of disk space; the maildrop waits");
    told_short_of_space = true;
    return false;
  }
  told_short_of_space = false;
  Fd file(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (file.fd < 0) {
    if (errno == ENOENT) return true;  // gone meanwhile
    set_aside(dir, name, errno == ELOOP ? "a symbolic link" : std::string("cannot open: ") + std::strerror(errno));
    return true;
  }
  struct stat st {};
  const std::uint64_t max_file =
      options.limits.max_content + options.limits.max_recipients * 600 + kEnvelopeAllowance;
  if (::fstat(file.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    set_aside(dir, name, "not a regular file");
    return true;
  }
  // A second link would be a file of someone else's, linked in to be sent as theirs.
  if (st.st_nlink != 1) {
    set_aside(dir, name, "a file with more than one link");
    return true;
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_file) {
    set_aside(dir, name, "larger than the server's max message size");
    return true;
  }
  std::string text(static_cast<std::size_t>(st.st_size) + 1, '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(file.fd, text.data() + got, text.size() - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
  std::string error;
  auto decoded = decode_maildrop(text, options.limits, error);
  const uid_t uid = st.st_uid;
  const std::string login = login_of(uid);
  if (!decoded) {
    set_aside(dir, name, error + " (uid " + std::to_string(uid) + ")");
    return true;
  }
  const bool privileged = uid == 0 || uid == options.daemon_uid;
  if (!sender_allowed(options.senders, decoded->sender, login, privileged, options.sender_domains)) {
    set_aside(dir, name, "user " + login + " may not send as " + decoded->sender.str() + " ([spool] maildrop_senders)");
    return true;
  }
  auto m = std::make_shared<spool::SpooledMessage>();
  m->id = spool::make_queue_id();
  m->arrival_unix_seconds = std::time(nullptr);
  smtp::Envelope& e = m->envelope;
  e.reverse_path = decoded->sender;
  bool utf8 = !e.reverse_path.is_null() && has_8bit(e.reverse_path.mailbox->str());
  for (auto& r : decoded->recipients) {
    utf8 = utf8 || has_8bit(r.str());
    e.recipients.push_back({std::move(r), smtp::notify_unspecified, ""});
  }
  e.params.smtputf8 = utf8;
  if (has_8bit(decoded->content)) e.params.body = smtp::BodyType::eight_bit_mime;
  e.protocol = "local";
  e.auth_user = login;
  m->content = local_received(options.hostname, uid, m->id.value, m->arrival_unix_seconds) + decoded->content;
  const std::string qid = m->id.value;
  const std::size_t recipients = e.recipients.size();
  const std::size_t size = m->content.size();
  const std::string sender = e.reverse_path.str();
  if (!store(std::move(m))) return false;
  // Stored and queued: only now may the file go (a crash in between delivers twice, never never).
  ::unlinkat(dir, name.c_str(), 0);
  spdlog::info("message qid={} client=local uid={} user={} from={} recipients={} size={} maildrop={} result=queued", qid,
               uid, login, sender, recipients, size, name);
  return true;
}

}  // namespace petrel::pickup
