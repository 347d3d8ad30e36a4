#include "events/event_log.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "metrics/petrel_metrics.hpp"

namespace petrel::events {
namespace fs = std::filesystem;
namespace {

constexpr auto kGather = std::chrono::milliseconds(5);
constexpr std::size_t kGatherLines = 1000;

}  // namespace

std::uint64_t cut_torn_tail(const std::string& file) {
  const int fd = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return 0;
  struct stat st {};
  std::uint64_t cut = 0;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    // Back from the end to the last newline, a block at a time.
    off_t end = st.st_size;
    off_t keep = -1;
    char block[4096];
    while (end > 0 && keep < 0) {
      const off_t start = end > static_cast<off_t>(sizeof block) ? end - static_cast<off_t>(sizeof block) : 0;
      const ssize_t n = ::pread(fd, block, static_cast<std::size_t>(end - start), start);
      if (n <= 0) break;
      for (ssize_t i = n - 1; i >= 0; --i) {
        if (block[i] == '\n') {
          keep = start + i + 1;
          break;
        }
      }
      end = start;
    }
    if (keep < 0) keep = 0;
    if (keep < st.st_size && ::ftruncate(fd, keep) == 0) cut = static_cast<std::uint64_t>(st.st_size - keep);
  }
  ::close(fd);
  return cut;
}

struct EventLog::Impl {
  EventLogOptions options;
  int fd = -1;
  std::uint64_t size = 0;
  std::mutex mutex;
  std::condition_variable wake;
  std::condition_variable written;
  std::deque<std::string> pending;  // guarded by mutex
  std::uint64_t queued_total = 0;   // guarded by mutex
  std::uint64_t written_total = 0;  // guarded by mutex
  bool stopping = false;            // guarded by mutex
  std::atomic<std::uint64_t> dropped{0};
  std::thread thread;

  void open() {
    if (const auto cut = cut_torn_tail(options.file)) {
      spdlog::warn("events: cut a torn last line ({} octets) off {}", cut, options.file);
    }
    fd = ::open(options.file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) throw std::runtime_error("events: cannot open " + options.file + ": " + std::strerror(errno));
    struct stat st {};
    size = ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  }

  void rotate() {
    ::close(fd);
    std::error_code ec;
    if (options.keep == 0) {
      fs::remove(options.file, ec);
    } else {
      fs::remove(options.file + "." + std::to_string(options.keep), ec);
      for (unsigned n = options.keep; n > 1; --n) {
        fs::rename(options.file + "." + std::to_string(n - 1), options.file + "." + std::to_string(n), ec);
      }
      fs::rename(options.file, options.file + ".1", ec);
    }
    open();
  }

  void write_all(const std::string& text) {
    if (size > 0 && size + text.size() > options.max_size) rotate();
    std::size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        spdlog::error("events: write to {} failed: {}", options.file, std::strerror(errno));
        return;
      }
      done += static_cast<std::size_t>(n);
    }
    size += text.size();
  }

  void run() {
    std::unique_lock lock(mutex);
    for (;;) {
      wake.wait(lock, [this] { return stopping || !pending.empty(); });
      if (pending.empty() && stopping) return;
      // A moment for more lines to come, so a busy server writes (and
      // wakes this thread) a few hundred times a second, not per event.
      wake.wait_for(lock, kGather, [this] { return stopping || pending.size() >= kGatherLines; });
      std::string batch;
      std::size_t lines = 0;
      // Up to 1 MiB at a time, whole lines only.
      while (!pending.empty() && batch.size() < (1u << 20)) {
        batch += pending.front();
        pending.pop_front();
        ++lines;
      }
      lock.unlock();
      write_all(batch);
      lock.lock();
      written_total += lines;
      written.notify_all();
    }
  }
};

EventLog::EventLog(EventLogOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  if (impl_->options.max_pending == 0) impl_->options.max_pending = 1;
  const fs::path dir = fs::path(impl_->options.file).parent_path();
  std::error_code ec;
  if (!dir.empty()) fs::create_directories(dir, ec);
  impl_->open();
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

EventLog::~EventLog() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_one();
  if (impl_->thread.joinable()) impl_->thread.join();
  if (impl_->fd >= 0) ::close(impl_->fd);
}

void EventLog::record(const Event& event) {
  std::string line = to_json_line(event);
  bool wake = false;
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->pending.size() >= impl_->options.max_pending) {
      if (impl_->dropped.fetch_add(1) % 10000 == 0) {
        spdlog::warn("events: the log {} is behind by {} lines: events dropped from it", impl_->options.file,
                     impl_->pending.size());
      }
      return;
    }
    wake = impl_->pending.empty();  // else the writer is awake, or will look before it sleeps
    impl_->pending.push_back(std::move(line));
    ++impl_->queued_total;
  }
  if (wake) impl_->wake.notify_one();
}

void EventLog::flush() {
  std::unique_lock lock(impl_->mutex);
  const auto target = impl_->queued_total;
  impl_->written.wait(lock, [&] { return impl_->written_total >= target; });
}

std::uint64_t EventLog::dropped() const { return impl_->dropped.load(); }

}  // namespace petrel::events
