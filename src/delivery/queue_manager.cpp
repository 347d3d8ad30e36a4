// One thread moves messages out of the spool:
//   ready queue -> batch of up to max_batch messages ->
//     local recipients: Maildir, all of the batch's files synced together;
//     other recipients: one RemoteDelivery job per message and destination,
//       whose results come back to this thread as completions;
//   once every job of a message is back (settle()):
//     all recipients delivered or bounced: one spool.remove();
//     failed for good: a bounce (DSN) is queued first;
//     some still pending: progress recorded, back in the retry queue.
#include "delivery/queue_manager.hpp"
#include "delivery/queue_internal.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <future>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "delivery/bounce.hpp"
#include "delivery/maildir.hpp"
#include "smtp/reply_codes.hpp"
#include "util/idn.hpp"

namespace petrel::delivery {
namespace {

using detail::Clock;
using detail::Completion;
using detail::entry_of;
using detail::Item;
using detail::State;
using detail::state_name;

using Clock = std::chrono::steady_clock;

// RFC 3461 §4.1: a recipient with NOTIFY=SUCCESS delivered here is told
// so. Over SMTP the NOTIFY goes on to the next server when it offers DSN,
// which reports itself; to one without DSN we say "relayed" (§5.2.2).
void note_success(Item& item, std::size_t recipient, const std::string& remote_mta, const std::string& reply,
                  DsnAction action) {
  const smtp::Recipient& r = item.message->envelope.recipients[recipient];
  if (!(r.notify & smtp::notify_success)) return;
  item.delivered_now.push_back({r, "2.0.0", remote_mta, reply, action, std::time(nullptr), {}});
}

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

QueueManager::Impl::Impl(spool::Spool& s, QueueOptions o) : spool(s), options(std::move(o)) {
  if (options.hostname.empty()) options.hostname = local_hostname();
  if (options.retry_intervals.empty()) options.retry_intervals.push_back(std::chrono::minutes(5));
  if (options.max_batch == 0) options.max_batch = 1;
  if (options.remote) remote = std::make_unique<RemoteDelivery>(*options.remote);
}

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
    if (queued.count(message->id.value)) return;
    queued.emplace(message->id.value, entry_of(*message));
    Item item;
    if (with_content && content_bytes + message->content.size() > options.max_content_in_memory) {
      message = envelope_only(*message);
      with_content = false;
    }
    item.content_in_memory = with_content;
    if (with_content) content_bytes += message->content.size();
    item.attempts = message->attempts;
    item.states.resize(message->envelope.recipients.size());
    for (std::size_t r = 0; r < item.states.size(); ++r) item.states[r] = message->state(r);
    item.last_error = message->last_error;
    item.delay_warned = message->delay_warned;
    item.may_be_delivered = !fresh;
    // A recovered message keeps its place in the retry schedule, or its hold.
    const std::int64_t wait = message->next_attempt_unix_seconds - std::time(nullptr);
    const bool held_before = !fresh && message->held;
    item.message = std::move(message);
    if (held_before) {
      const std::string id = item.message->id.value;
      held.emplace(id, std::move(item));
      return;
    }
    if (!fresh && wait > 0) {
      later.emplace(Clock::now() + std::chrono::seconds(wait), std::move(item));
      return;
    }
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
    if (!completions.empty()) {
      std::deque<Completion> done;
      done.swap(completions);
      lock.unlock();
      for (auto& c : done) complete(c);
      lock.lock();
      continue;
    }
    std::vector<Item> batch = next_batch(lock);
    if (batch.empty()) continue;  // woken to stop, or a retry or a completion came
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
    const auto idle = [this] { return stopping || !ready.empty() || !completions.empty(); };
    if (later.empty()) {
      wake.wait(lock, idle);
    } else {
      // A copy: the wait lets go of the lock, and hold()/remove() may erase
      // that entry meanwhile (wait_until keeps reading its deadline).
      const Clock::time_point until = later.begin()->first;
      wake.wait_until(lock, until, idle);
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

// Where one recipient goes: its Maildir, another server, or nowhere yet.
struct Destination {
  std::optional<std::string> mailbox;  // local
  std::optional<Route> route;          // remote: nullopt with remote = the domain's MX
  bool remote = false;
  std::string domain;                  // A-label form
};

Destination destination_of(const QueueOptions& options, const smtp::Address& rcpt) {
  Destination d;
  if (rcpt.domain.empty()) {  // the bare Postmaster
    d.mailbox = mailbox_directory(options.routing, rcpt);
    return d;
  }
  d.domain = util::ascii_domain(rcpt.domain);
  const bool local = is_local_domain(options.routing, d.domain);
  d.route = route_for(options.routes, d.domain, local);
  if (d.route && d.route->kind == Route::Kind::local) {
    d.mailbox = mailbox_directory(options.routing, rcpt);
    d.route.reset();
    return d;
  }
  d.remote = true;
  return d;
}

void QueueManager::Impl::deliver(std::vector<Item>& batch) {
  if (!load_contents(batch)) return;
  std::vector<Attempt> attempts;
  std::vector<MaildirFile> files;
  std::vector<std::vector<std::size_t>> remote_recipients(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const spool::SpooledMessage& m = *batch[i].message;
    batch[i].failed_now.clear();
    batch[i].delivered_now.clear();
    batch[i].remote_settled = false;
    for (std::size_t r = 0; r < m.envelope.recipients.size(); ++r) {
      if (batch[i].states[r] != State::pending) continue;
      const smtp::Address& rcpt = m.envelope.recipients[r].forward_path;
      const Destination d = destination_of(options, rcpt);
      if (d.remote && remote) {
        remote_recipients[i].push_back(r);
        continue;
      }
      Attempt a{i, r, d.mailbox.value_or("")};
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
      if (!item.warned_no_transport) spdlog::warn("qid={} no transport for <{}>", qid, to);
      item.warned_no_transport = true;
      item.last_error = "no transport for <" + to + ">";
      spdlog::info("delivery qid={} to=<{}> relay=none result=deferred reason=\"no transport\"", qid, to);
    } else if (const std::error_code ec = files[a.file].result) {
      item.last_error = a.mailbox + ": " + ec.message();
      spdlog::info("delivery qid={} to=<{}> relay=local mailbox={} result=deferred reason=\"{}\"", qid, to,
                   a.mailbox, ec.message());
    } else {
      item.states[a.recipient] = State::delivered;
      note_success(item, a.recipient, "", "250 2.0.0 delivered to mailbox", DsnAction::delivered);
      spdlog::info("delivery qid={} to=<{}> relay=local mailbox={} result=delivered", qid, to, a.mailbox);
    }
  }

  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (remote_recipients[i].empty()) {
      settle(std::move(batch[i]));
      continue;
    }
    dispatch_remote(batch[i], remote_recipients[i]);
    const std::string qid = batch[i].message->id.value;
    in_flight.emplace(qid, std::move(batch[i]));
  }
}

// One job per destination: the recipients of one domain (or one route)
// go in one transaction (RFC 5321 §3.3 allows up to the server's limit).
namespace {

// The domain's own policy, else its closest ".parent" entry.
std::optional<smtp::TlsPolicy> tls_policy_for(const QueueOptions& options, std::string_view domain) {
  const auto& policies = options.tls_policies;
  if (auto exact = policies.find(std::string(domain)); exact != policies.end()) return exact->second;
  for (auto dot = domain.find('.'); dot != std::string_view::npos; dot = domain.find('.', dot + 1)) {
    if (auto parent = policies.find(std::string(domain.substr(dot))); parent != policies.end()) return parent->second;
  }
  return std::nullopt;
}

}  // namespace

void QueueManager::Impl::dispatch_remote(Item& item, const std::vector<std::size_t>& recipients) {
  std::map<std::string, RemoteJob> jobs;
  for (std::size_t r : recipients) {
    const Destination d = destination_of(options, item.message->envelope.recipients[r].forward_path);
    const std::string key = d.route ? d.route->str() : "mx:" + d.domain;
    RemoteJob& job = jobs[key];
    if (job.recipients.empty()) {
      job.message = item.message;
      job.domain = d.domain;
      job.route = d.route;
      job.to_relayhost = d.route && options.routes.relayhost && d.route->str() == options.routes.relayhost->str();
      job.tls = tls_policy_for(options, d.domain);
    }
    job.recipients.push_back(r);
  }
  item.jobs_out = jobs.size();
  const std::string qid = item.message->id.value;
  for (auto& [key, job] : jobs) {
    remote->submit(std::move(job), [this, qid](JobResult result) {
      {
        std::lock_guard lock(mutex);
        completions.push_back({qid, std::move(result)});
      }
      wake.notify_one();
    });
  }
}

void QueueManager::Impl::complete(const Completion& c) {
  auto it = in_flight.find(c.queue_id);
  if (it == in_flight.end()) return;
  Item& item = it->second;
  const auto& recipients = item.message->envelope.recipients;
  const std::time_t now = std::time(nullptr);
  for (const RecipientOutcome& o : c.result.outcomes) {
    const std::string to = recipients[o.recipient].forward_path.str();
    const char* word = "deferred";
    if (o.outcome == smtp::DeliveryOutcome::delivered) {
      item.states[o.recipient] = State::delivered;
      item.remote_settled = true;
      word = "delivered";
      if (!c.result.dsn_passed_on) {
        note_success(item, o.recipient, o.remote_mta, o.reply,
                     c.result.final_delivery ? DsnAction::delivered : DsnAction::relayed);
      }
    } else if (o.outcome == smtp::DeliveryOutcome::failed) {
      item.states[o.recipient] = State::failed;
      item.remote_settled = true;
      item.failed_now.push_back({recipients[o.recipient], o.status, o.remote_mta, o.reply, std::nullopt, now, {}});
      word = "bounced";
    } else {
      item.last_error = o.reply;
    }
    spdlog::info("delivery qid={} to=<{}> relay={} tls={} result={} reply=\"{}\" delay={}s", item.message->id.value,
                 to, c.result.endpoint.empty() ? "none" : c.result.endpoint,
                 c.result.tls.empty() ? "no" : c.result.tls, word, o.reply, now - item.message->arrival_unix_seconds);
  }
  if (--item.jobs_out > 0) return;
  Item done = std::move(item);
  in_flight.erase(it);
  settle(std::move(done));
}

// The end of an attempt: bounce what failed, then forget the message or
// keep it for the next attempt.
void QueueManager::Impl::settle(Item item) {
  bool was_deleted = false;
  {
    std::lock_guard lock(mutex);
    was_deleted = deleted.erase(item.message->id.value) > 0;  // by an operator, meanwhile
    if (was_deleted) queued.erase(item.message->id.value);
  }
  if (was_deleted) return release_content(item);
  const auto age = std::chrono::seconds(std::time(nullptr) - item.message->arrival_unix_seconds);
  if (!item.all_settled() && age >= options.max_queue_lifetime) expire(item);
  if (!item.all_settled() && options.delay_warning.count() > 0 && age >= options.delay_warning &&
      !item.delay_warned) {
    warn_of_delay(item);
  }
  if (!item.failed_now.empty()) queue_bounce(item, DsnKind::failure, item.failed_now);
  if (!item.delivered_now.empty()) queue_bounce(item, DsnKind::success, item.delivered_now);
  if (item.all_settled()) {
    const spool::QueueId id = item.message->id;
    release_content(item);
    spool.remove({id});
    std::lock_guard lock(mutex);
    queued.erase(id.value);
    return;
  }
  defer(std::move(item));
}

// RFC 5321 §4.5.4.1: give up after the queue lifetime; what is still
// pending fails with the last reason seen.
void QueueManager::Impl::expire(Item& item) {
  const auto& recipients = item.message->envelope.recipients;
  const std::string reason = std::to_string(smtp::codes::k451Expired.code) + " " +
                             std::string(smtp::codes::k451Expired.enhanced) + " Delivery time expired" +
                             (item.last_error.empty() ? "" : ": " + item.last_error);
  for (std::size_t r = 0; r < recipients.size(); ++r) {
    if (item.states[r] != State::pending) continue;
    item.states[r] = State::failed;
    item.failed_now.push_back({recipients[r], "4.4.7", "", reason, std::nullopt, std::time(nullptr), {}});
    spdlog::info("delivery qid={} to=<{}> result=expired reason=\"{}\"", item.message->id.value,
                 recipients[r].forward_path.str(), reason);
  }
  item.remote_settled = true;
}

// RFC 3464 "delayed": what is still pending, why, and until when it will
// be tried; once per message (the flag is kept in the spool).
void QueueManager::Impl::warn_of_delay(Item& item) {
  const auto& recipients = item.message->envelope.recipients;
  const std::time_t until =
      item.message->arrival_unix_seconds +
      std::chrono::duration_cast<std::chrono::seconds>(options.max_queue_lifetime).count();
  std::vector<RecipientStatus> pending;
  for (std::size_t r = 0; r < recipients.size(); ++r) {
    if (item.states[r] != State::pending) continue;
    pending.push_back({recipients[r], "4.0.0", "", item.last_error, std::nullopt, std::time(nullptr), until});
  }
  queue_bounce(item, DsnKind::delay, pending);
  item.delay_warned = true;
  item.remote_settled = true;  // the flag must outlive a crash, or the warning goes twice
}

// The bounce is stored (synced) before the original's failed recipients
// are recorded as settled: a crash in between sends it twice at most.
void QueueManager::Impl::queue_bounce(const Item& item, DsnKind kind, const std::vector<RecipientStatus>& recipients) {
  if (!item.content_in_memory) return;  // cannot happen: content stays loaded through an attempt
  BounceRequest request{*item.message, kind, recipients, options.hostname, std::time(nullptr), options.double_bounce};
  std::shared_ptr<spool::SpooledMessage> bounce;
  try {
    bounce = make_bounce(request);
  } catch (const std::exception& e) {
    spdlog::error("qid={} bounce not written: {}", item.message->id.value, e.what());
  }
  if (!bounce) {
    if (item.message->envelope.reverse_path.is_null()) {
      spdlog::warn("qid={} a bounce failed and is dropped (RFC 5321 §6.1: none is sent to <>)", item.message->id.value);
    }
    return;
  }
  std::promise<std::error_code> stored;
  spool.store(bounce, [&stored](std::error_code ec) { stored.set_value(ec); });
  if (const std::error_code ec = stored.get_future().get()) {
    spdlog::error("qid={} bounce not stored: {}", item.message->id.value, ec.message());
    return;
  }
  spdlog::info("dsn qid={} kind={} for qid={} to=<{}> recipients={}", bounce->id.value,
               kind == DsnKind::success ? "success" : kind == DsnKind::delay ? "delay" : "failure",
               item.message->id.value,
               bounce->envelope.recipients.front().forward_path.str(), recipients.size());
  enqueue(bounce, /*fresh=*/true, /*with_content=*/true);
}

spool::SpooledMessage QueueManager::Impl::progress_of(const Item& item) const {
  spool::SpooledMessage progress = *envelope_only(*item.message);
  progress.attempts = item.attempts;
  progress.states = item.states;
  progress.last_error = item.last_error;
  progress.delay_warned = item.delay_warned;
  return progress;
}

void QueueManager::Impl::defer(Item item) {
  ++item.attempts;
  const auto& intervals = options.retry_intervals;
  const auto wait = intervals[std::min<std::size_t>(item.attempts - 1, intervals.size() - 1)];
  spool::SpooledMessage progress = progress_of(item);
  progress.next_attempt_unix_seconds =
      std::time(nullptr) + std::chrono::duration_cast<std::chrono::seconds>(wait).count();
  // After a remote 250 (or a bounce) the record must survive a crash, so a
  // restart never sends to those recipients again.
  spool.record_progress(progress, /*durable=*/item.remote_settled);
  release_content(item);  // it waits minutes: no need to hold its content
  spdlog::warn("qid={} not delivered (attempt {}), next try in {}s: {}", item.message->id.value, item.attempts,
               std::chrono::duration_cast<std::chrono::seconds>(wait).count(), item.last_error);
  std::lock_guard lock(mutex);
  if (auto entry = queued.find(item.message->id.value); entry != queued.end()) {
    entry->second.attempts = item.attempts;
    entry->second.next_attempt_unix_seconds = progress.next_attempt_unix_seconds;
    entry->second.last_error = item.last_error;
    for (std::size_t r = 0; r < entry->second.recipients.size() && r < item.states.size(); ++r) {
      entry->second.recipients[r].state = state_name(item.states[r]);
    }
  }
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

}  // namespace petrel::delivery
