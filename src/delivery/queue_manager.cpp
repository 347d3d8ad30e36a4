// One thread moves messages from the spool into Maildirs:
//   ready queue -> batch of up to max_batch messages -> deliver_batch ->
//   delivered: one spool.remove() for the batch;
//   not delivered: attempts+1, back in the retry queue after its interval.
#include "delivery/queue_manager.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "delivery/maildir.hpp"

namespace petrel::delivery {
namespace {

using Clock = std::chrono::steady_clock;

// A message in the queue, with what this process learnt about it.
struct Item {
  // The content may be left in the spool (content_in_memory false).
  std::shared_ptr<const spool::SpooledMessage> message;
  bool content_in_memory = false;
  std::uint32_t attempts = 0;
  std::vector<bool> delivered;  // per recipient, so a retry skips them
  bool warned_no_transport = false;
  // False only for a message accepted by this process and not yet tried:
  // no copy of it can be in a Maildir, so delivery skips looking for one.
  bool may_be_delivered = true;
};

// One recipient of one message in the batch being delivered.
struct Attempt {
  std::size_t item;       // index into the batch
  std::size_t recipient;  // index into the envelope's recipients
  std::string mailbox;    // empty: no transport
  std::size_t file = 0;   // index into the MaildirFiles
};

// Header values come from the envelope; a CR or LF there would start a
// header of the sender's choosing.
std::string header_safe(std::string text) {
  std::erase_if(text, [](char c) { return c == '\r' || c == '\n'; });
  return text;
}

std::string delivery_header(const smtp::Envelope& e, const smtp::Address& rcpt,
                            const LocalRouting& routing) {
  const std::string sender = e.reverse_path.is_null() ? "" : e.reverse_path.mailbox->str();
  // The bare Postmaster is delivered in the first local domain: say so.
  std::string recipient = rcpt.str();
  if (rcpt.domain.empty() && !routing.local_domains.empty()) {
    recipient += "@" + routing.local_domains.front();
  }
  return "Return-Path: <" + header_safe(sender) + ">\r\nDelivered-To: " + header_safe(recipient) +
         "\r\n";
}

std::string local_hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

}  // namespace

struct QueueManager::Impl {
  Impl(spool::Spool& s, QueueOptions o) : spool(s), options(std::move(o)) {
    if (options.hostname.empty()) options.hostname = local_hostname();
    if (options.retry_intervals.empty()) options.retry_intervals.push_back(std::chrono::minutes(5));
    if (options.max_batch == 0) options.max_batch = 1;
  }

  void enqueue(std::shared_ptr<const spool::SpooledMessage> message, bool fresh, bool with_content);
  bool load_contents(std::vector<Item>& batch);
  void release_content(Item& item);
  void run();
  std::vector<Item> next_batch(std::unique_lock<std::mutex>& lock);
  void deliver(std::vector<Item>& batch);
  void defer(Item item);

  spool::Spool& spool;
  QueueOptions options;

  mutable std::mutex mutex;
  std::condition_variable wake;
  std::deque<Item> ready;                       // guarded by mutex
  std::multimap<Clock::time_point, Item> later;  // guarded by mutex
  std::unordered_set<std::string> queued;       // queue IDs in either; guarded by mutex
  std::size_t content_bytes = 0;                // of items with content_in_memory; guarded by mutex
  bool stopping = false;                        // guarded by mutex
  std::thread thread;
};

// Only the envelope: what a message waits as when its content stays in the spool.
std::shared_ptr<const spool::SpooledMessage> envelope_only(const spool::SpooledMessage& m) {
  auto light = std::make_shared<spool::SpooledMessage>();
  light->id = m.id;
  light->envelope = m.envelope;
  light->arrival_unix_seconds = m.arrival_unix_seconds;
  light->attempts = m.attempts;
  return light;
}

void QueueManager::Impl::enqueue(std::shared_ptr<const spool::SpooledMessage> message, bool fresh,
                                 bool with_content) {
  bool wake_now = false;
  {
    std::lock_guard lock(mutex);
    // Recovery and a fresh submit may both see a message stored during start().
    if (!queued.insert(message->id.value).second) return;
    Item item;
    if (with_content && content_bytes + message->content.size() > options.max_content_in_memory) {
      message = envelope_only(*message);
      with_content = false;
    }
    item.content_in_memory = with_content;
    if (with_content) content_bytes += message->content.size();
    item.attempts = message->attempts;
    item.delivered.assign(message->envelope.recipients.size(), false);
    item.may_be_delivered = !fresh;
    item.message = std::move(message);
    ready.push_back(std::move(item));
    // The thread needs waking when work appears and when a batch is full;
    // in between it is either busy or waiting out the batch window.
    wake_now = ready.size() == 1 || ready.size() >= options.max_batch;
  }
  if (wake_now) wake.notify_one();
}

void QueueManager::Impl::run() {
  // Reception first: a message is safe once spooled, so under a burst the
  // CPU goes to the sessions (whose clients wait) and delivery catches up
  // in the gaps. Linux applies nice to the calling thread only.
  if (options.nice > 0) ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), options.nice);
  std::unique_lock lock(mutex);
  while (!stopping) {
    std::vector<Item> batch = next_batch(lock);
    if (batch.empty()) continue;  // woken to stop, or a retry came due
    lock.unlock();
    deliver(batch);
    lock.lock();
  }
}

// Waits until something is ready (or stop), then takes up to max_batch.
std::vector<Item> QueueManager::Impl::next_batch(std::unique_lock<std::mutex>& lock) {
  const auto now = Clock::now();
  while (!later.empty() && later.begin()->first <= now) {
    ready.push_back(std::move(later.begin()->second));
    later.erase(later.begin());
  }
  if (ready.empty()) {
    if (later.empty()) {
      wake.wait(lock);
    } else {
      wake.wait_until(lock, later.begin()->first);
    }
    return {};
  }
  if (ready.size() < options.max_batch && options.batch_window.count() > 0) {
    wake.wait_for(lock, options.batch_window, [this] { return stopping || ready.size() >= options.max_batch; });
    if (stopping) return {};
  }
  std::vector<Item> batch;
  while (!ready.empty() && batch.size() < options.max_batch) {
    batch.push_back(std::move(ready.front()));
    ready.pop_front();
  }
  return batch;
}

// Reads back the contents left in the spool. A message the spool no longer
// has was removed by someone else (an operator): it is dropped from the batch.
bool QueueManager::Impl::load_contents(std::vector<Item>& batch) {
  std::size_t loaded = 0;
  std::erase_if(batch, [&](Item& item) {
    if (item.content_in_memory) return false;
    auto content = spool.load_content(item.message->id);
    if (!content) {
      spdlog::warn("qid={} is no longer in the spool, not delivered", item.message->id.value);
      std::lock_guard lock(mutex);
      queued.erase(item.message->id.value);
      return true;
    }
    auto full = std::make_shared<spool::SpooledMessage>(*item.message);
    full->content = std::move(*content);
    loaded += full->content.size();
    item.message = std::move(full);
    item.content_in_memory = true;
    return false;
  });
  std::lock_guard lock(mutex);
  content_bytes += loaded;
  return !batch.empty();
}

void QueueManager::Impl::release_content(Item& item) {
  if (!item.content_in_memory) return;
  const std::size_t size = item.message->content.size();
  item.message = envelope_only(*item.message);
  item.content_in_memory = false;
  std::lock_guard lock(mutex);
  content_bytes -= size;
}

void QueueManager::Impl::deliver(std::vector<Item>& batch) {
  if (!load_contents(batch)) return;
  std::vector<Attempt> attempts;
  std::vector<MaildirFile> files;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const spool::SpooledMessage& m = *batch[i].message;
    for (std::size_t r = 0; r < m.envelope.recipients.size(); ++r) {
      if (batch[i].delivered[r]) continue;
      const smtp::Address& rcpt = m.envelope.recipients[r].forward_path;
      Attempt a{i, r, mailbox_directory(options.routing, rcpt).value_or("")};
      if (!a.mailbox.empty()) {
        a.file = files.size();
        files.push_back({a.mailbox, unique_name(m.arrival_unix_seconds, m.id.value, r, options.hostname),
                         delivery_header(m.envelope, rcpt, options.routing), &m.content,
                         batch[i].may_be_delivered});
      }
      attempts.push_back(std::move(a));
    }
  }

  deliver_batch(files);
  for (Item& item : batch) item.may_be_delivered = true;

  for (const Attempt& a : attempts) {
    Item& item = batch[a.item];
    const std::string& qid = item.message->id.value;
    const std::string to = item.message->envelope.recipients[a.recipient].forward_path.str();
    if (a.mailbox.empty()) {
      // Remote delivery does not exist yet: keep the message, retry on schedule.
      if (!item.warned_no_transport) spdlog::warn("qid={} no transport for <{}>", qid, to);
      item.warned_no_transport = true;
      spdlog::info("delivery qid={} to=<{}> mailbox=- result=deferred reason=\"no transport\"", qid, to);
    } else if (const std::error_code ec = files[a.file].result) {
      spdlog::info("delivery qid={} to=<{}> mailbox={} result=deferred reason=\"{}\"", qid, to,
                   a.mailbox, ec.message());
    } else {
      item.delivered[a.recipient] = true;
      spdlog::info("delivery qid={} to=<{}> mailbox={} result=delivered", qid, to, a.mailbox);
    }
  }

  std::vector<spool::QueueId> done;
  for (Item& item : batch) {
    const bool all = std::find(item.delivered.begin(), item.delivered.end(), false) == item.delivered.end();
    if (all) {
      done.push_back(item.message->id);
      release_content(item);
    } else {
      defer(std::move(item));
    }
  }
  if (!done.empty()) spool.remove(done);
  std::lock_guard lock(mutex);
  for (const auto& id : done) queued.erase(id.value);
}

void QueueManager::Impl::defer(Item item) {
  release_content(item);  // it waits minutes: no need to hold its content
  ++item.attempts;
  spool::SpooledMessage progress = *envelope_only(*item.message);
  progress.attempts = item.attempts;
  spool.record_progress(progress, /*durable=*/false);
  const auto& intervals = options.retry_intervals;
  const auto wait = intervals[std::min<std::size_t>(item.attempts - 1, intervals.size() - 1)];
  spdlog::warn("qid={} not delivered (attempt {}), next try in {}s", item.message->id.value,
               item.attempts, std::chrono::duration_cast<std::chrono::seconds>(wait).count());
  std::lock_guard lock(mutex);
  later.emplace(Clock::now() + wait, std::move(item));
}

QueueManager::QueueManager(spool::Spool& spool, QueueOptions options)
    : impl_(std::make_unique<Impl>(spool, std::move(options))) {}

QueueManager::~QueueManager() { stop(); }

void QueueManager::start() {
  if (impl_->thread.joinable()) return;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = false;
  }
  auto recovered = impl_->spool.load_all(spool::Spool::Load::envelopes_only);
  if (!recovered.empty()) spdlog::info("queue: {} message(s) recovered from the spool", recovered.size());
  for (auto& m : recovered) impl_->enqueue(std::move(m), /*fresh=*/false, /*with_content=*/false);
  impl_->thread = std::thread([this] { impl_->run(); });
}

void QueueManager::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void QueueManager::submit(std::shared_ptr<const spool::SpooledMessage> message) {
  impl_->enqueue(std::move(message), /*fresh=*/true, /*with_content=*/true);
}

std::size_t QueueManager::pending() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->queued.size();
}

}  // namespace petrel::delivery
