// One thread moves messages out of the spool:
//   schedule (compact entries, by due time) -> admitted while fewer than
//     active_limit messages are active: the envelope is read back, and an
//     entry that is stale (deleted, held, rescheduled) is dropped ->
//   batch of up to max_batch messages ->
//     local recipients: Maildir, all of the batch's files synced together;
//     other recipients: one RemoteQueue job per message and destination,
//       whose results come back to this thread as completions;
//   once every job of a message is back (queue_settle.cpp): bounced,
//     removed, or recorded and put back in the schedule.
// A domain whose site is down or suspended is "gated": its entries wait in
// the schedule until the site said to come back, unread. One whose site's
// ready queue is full waits for room: its entries are set aside, unread,
// and come up one for each job the site takes (schedule.hpp).
#include "queue/queue_manager.hpp"
#include "queue/queue_internal.hpp"
#include "queue/destination.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "delivery/maildir.hpp"
#include "events/mail_events.hpp"
#include "events/outbox.hpp"
#include "metrics/petrel_metrics.hpp"
#include "util/idn.hpp"

namespace petrel::queue {
namespace {

// One recipient's outcome in petrel_deliveries_total (and, failed for
// good, petrel_bounces_total by class).
// "192.0.2.1" of "mx1.example.org[192.0.2.1]:25"; "" when there is none.
std::string address_of(const std::string& endpoint) {
  const auto open = endpoint.find('[');
  const auto close = endpoint.find(']', open);
  if (open == std::string::npos || close == std::string::npos) return "";
  return endpoint.substr(open + 1, close - open - 1);
}

void count_outcome(const char* result, const std::string& site, const std::string& bounce_class) {
  metrics::deliveries().with({result, metrics::site_label(site)}).inc();
  if (std::string_view(result) == "bounced") metrics::bounces().with({bounce_class.empty() ? "unknown" : bounce_class}).inc();
}

// A mailbox that could not take a recipient now: counted, and an event.
events::Event local_failure(const detail::Item& item, std::size_t recipient, const std::string& reply) {
  count_outcome("deferred", "", "");
  auto e = events::recipient_event(events::Type::TransientFailure, *item.message, recipient, item.attempts + 1, reply);
  e.site = "local";
  return e;
}

using detail::Clock;
using detail::Completion;
using detail::delivery_header;
using detail::Destination;
using detail::destination_of;
using detail::envelope_only;
using detail::kSpoolErrorRetry;
using detail::Item;
using detail::State;

constexpr std::size_t kAdmitChunk = 256;           // envelopes read per turn of the loop

// RFC 3461 §4.1: a recipient with NOTIFY=SUCCESS delivered here is told
// so. Over SMTP the NOTIFY goes on to the next server when it offers DSN,
// which reports itself; to one without DSN we say "relayed" (§5.2.2).
void note_success(Item& item, std::size_t recipient, const std::string& remote_mta, const std::string& reply,
                  delivery::DsnAction action) {
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

std::string local_hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

}  // namespace

namespace detail {

std::set<std::string> pending_domains(const spool::SpooledMessage& m, const std::vector<State>& states,
                                      const QueueOptions& options) {
  std::set<std::string> out;
  const auto& recipients = m.envelope.recipients;
  for (std::size_t r = 0; r < recipients.size(); ++r) {
    if (r < states.size() && states[r] != State::pending) continue;
    const Destination d = destination_of(options, recipients[r]);
    if (d.remote) out.insert(d.domain);
  }
  return out;
}

}  // namespace detail

QueueManager::Impl::Impl(spool::Spool& s, QueueOptions o) : spool(s), options(std::move(o)) {
  if (options.hostname.empty()) options.hostname = local_hostname();
  if (options.retry_intervals.empty()) options.retry_intervals.push_back(std::chrono::minutes(5));
  if (options.max_batch == 0) options.max_batch = 1;
  if (options.active_limit == 0) options.active_limit = 1;
  if (options.remote) {
    options.remote->on_room = [this](const std::vector<std::string>& site_domains, std::size_t room) {
      on_room(site_domains, room);
    };
    remote = std::make_unique<RemoteQueue>(*options.remote, spool);
  }
}

// A site that turned jobs away has room again: that many of its domains'
// messages set aside come up now.
void QueueManager::Impl::on_room(const std::vector<std::string>& site_domains, std::size_t room) {
  std::size_t released = 0;
  {
    std::lock_guard lock(mutex);
    const std::int64_t now = std::time(nullptr);
    for (const auto& d : site_domains) {
      if (released >= room) break;
      released += schedule.release(domains.intern(d), room - released, now);
    }
    if (released) rescheduled = true;
  }
  if (released) wake.notify_one();
}

std::int64_t QueueManager::Impl::jitter(std::int64_t seconds) {
  if (seconds <= 0) return 0;
  std::uniform_int_distribution<std::int64_t> spread(0, std::max<std::int64_t>(1, seconds / 10));
  return spread(random);
}

void QueueManager::Impl::note_spool_error(const std::string& what, std::error_code ec) {
  {
    std::lock_guard lock(mutex);
    ++spool_errors;
    last_spool_error = what + ": " + ec.message();
  }
  spdlog::error("queue: spool {}: {} (retried)", what, ec.message());
}

std::uint32_t QueueManager::Impl::schedule_domain(const std::set<std::string>& pending) {
  return pending.size() == 1 ? domains.intern(*pending.begin()) : DomainTable::none;
}

// Recovery: a message in the spool becomes one schedule entry (or stays
// held); nothing of it is kept but the entry.
void QueueManager::Impl::index(const spool::SpooledMessage& m) {
  std::vector<State> states(m.envelope.recipients.size());
  for (std::size_t r = 0; r < states.size(); ++r) states[r] = m.state(r);
  const auto pending = detail::pending_domains(m, states, options);
  std::lock_guard lock(mutex);
  if (active.count(m.id.value)) return;  // submitted while start() was reading the spool
  ++queued;
  for (const auto& d : pending) count_domain(m.id.value, d, /*claimable=*/!m.held);
  if (m.held) {
    ++held;
    return;
  }
  schedule.add(m.id.value, m.next_attempt_unix_seconds, schedule_domain(pending));
}

void QueueManager::Impl::count_domain(const std::string& id, const std::string& domain, bool claimable) {
  ++domain_counts[domain];
  if (claimable && is_odmr_domain(domain)) odmr_index.add(domain, id);
}

void QueueManager::Impl::set_claimable(const spool::SpooledMessage& m, bool claimable) {
  std::vector<State> states(m.envelope.recipients.size());
  for (std::size_t r = 0; r < states.size(); ++r) states[r] = m.state(r);
  for (const auto& d : detail::pending_domains(m, states, options)) {
    if (!claimable) {
      odmr_index.remove(d, m.id.value);
    } else if (is_odmr_domain(d)) {
      odmr_index.add(d, m.id.value);
    }
  }
}

void QueueManager::Impl::uncount_domain(const std::string& id, const std::string& domain) {
  if (auto c = domain_counts.find(domain); c != domain_counts.end() && --c->second == 0) domain_counts.erase(c);
  odmr_index.remove(domain, id);
}

bool QueueManager::Impl::is_odmr_domain(const std::string& domain) const {
  const auto route = delivery::route_for(options.routes, domain, false);
  return route && route->kind == delivery::Route::Kind::odmr;
}

Item QueueManager::Impl::make_item(std::shared_ptr<const spool::SpooledMessage> message, bool with_content, bool fresh) {
  Item item;
  item.content_in_memory = with_content;
  item.attempts = message->attempts;
  item.states.resize(message->envelope.recipients.size());
  for (std::size_t r = 0; r < item.states.size(); ++r) item.states[r] = message->state(r);
  item.last_error = message->last_error;
  item.delay_warned = message->delay_warned;
  item.may_be_delivered = !fresh;
  item.counted_domains = detail::pending_domains(*message, item.states, options);
  item.message = std::move(message);
  return item;
}

void QueueManager::Impl::add_fresh(std::shared_ptr<const spool::SpooledMessage> message) {
  bool wake_now = false;
  {
    std::lock_guard lock(mutex);
    if (active.count(message->id.value)) return;
    const std::int64_t suspended = suspended_until(*message, std::time(nullptr));
    const bool room = active.size() < options.active_limit && suspended == 0;
    // A big message's tail stays in its file: its delivery streams it.
    const bool with_content = room && message->tail_size == 0 &&
                              content_bytes + message->content.size() <= options.max_content_in_memory;
    if (!with_content) message = envelope_only(*message);
    Item item = make_item(std::move(message), with_content, /*fresh=*/true);
    ++queued;
    for (const auto& d : item.counted_domains) count_domain(item.message->id.value, d);
    if (suspended) {
      // Its campaign or tenant is held back: parked until the end.
      schedule.add(item.message->id.value, suspended, schedule_domain(item.counted_domains), true, true);
      rescheduled = true;  // the thread may be waiting with no deadline
      wake_now = true;
    } else if (!room) {
      // Waits as an entry; its envelope and content are read back in turn.
      schedule.add(item.message->id.value, 0, schedule_domain(item.counted_domains));
    } else {
      if (with_content) content_bytes += item.message->content.size();
      active.insert(item.message->id.value);
      ready.push_back(std::move(item));
      // The thread needs waking when work appears and when a batch is full;
      // in between it is either busy or waiting out the batch window.
      wake_now = ready.size() == 1 || ready.size() >= options.max_batch;
    }
  }
  if (wake_now) wake.notify_one();
}

// Moves due entries into the active set, a chunk at a time; the envelope
// reads happen without the lock, so submit() (on the spool's thread, on
// the way to a 250) never waits for them.
void QueueManager::Impl::admit_due(std::unique_lock<std::mutex>& lock) {
  const std::int64_t now = std::time(nullptr);
  schedule.release_expired(now);  // sites that never said they had room
  std::vector<ScheduleEntry> due;
  std::vector<ScheduleEntry> gated;
  while (due.size() < kAdmitChunk && active.size() + due.size() < options.active_limit) {
    auto e = schedule.pop_due(now);
    if (!e) break;
    if (auto g = gates.find(e->domain); g != gates.end()) {
      if (g->second.until > now) {
        e->due = g->second.until + jitter(g->second.until - now);
        gated.push_back(*e);
        continue;
      }
      gates.erase(g);
    }
    if (active.count(std::string(e->id_view()))) continue;  // a duplicate entry
    due.push_back(*e);
  }
  for (const auto& e : gated) schedule.add(e);
  if (due.empty()) return;

  lock.unlock();
  std::vector<Item> admitted;
  std::vector<ScheduleEntry> retry;
  std::vector<std::string> held;
  for (const ScheduleEntry& e : due) {
    auto m = std::make_shared<spool::SpooledMessage>();
    std::error_code ec;
    if (!spool.read_envelope(spool::QueueId{std::string(e.id_view())}, *m, ec)) {
      if (ec) {
        note_spool_error("read of qid=" + std::string(e.id_view()), ec);
        ScheduleEntry again = e;
        again.due = now + kSpoolErrorRetry;
        retry.push_back(again);
      }
      continue;  // not there: deleted by an operator
    }
    if (m->held) {  // release puts it back
      held.push_back(m->id.value);
      continue;
    }
    if (!e.forced && m->next_attempt_unix_seconds > now) continue;      // rescheduled: a stale entry
    admitted.push_back(make_item(std::move(m), /*with_content=*/false, /*fresh=*/false));
  }
  lock.lock();
  for (const auto& e : retry) schedule.add(e);
  for (const auto& id : held) to_hold.erase(id);  // its hold is in the spool: the mark is done with
  for (auto& item : admitted) {
    // Held after its envelope was read: not attempted (the spool says held).
    if (to_hold.erase(item.message->id.value)) continue;
    // A suspended campaign or tenant: back in the schedule until its end,
    // not an attempt (the envelope's next attempt stays as it is).
    if (const std::int64_t until = suspended_until(*item.message, now)) {
      schedule.add(item.message->id.value, until + jitter(std::min<std::int64_t>(until - now, 600)),
                   schedule_domain(item.counted_domains), /*forced=*/true, /*parked=*/true);
      continue;
    }
    if (!active.insert(item.message->id.value).second) continue;
    ready.push_back(std::move(item));
  }
}

std::int64_t QueueManager::Impl::suspended_until(const spool::SpooledMessage& m, std::int64_t now) {
  // Until resumed: looked at again every ten minutes.
  constexpr std::int64_t kIndefiniteRecheck = 600;
  std::int64_t until = 0;
  auto check = [&](std::map<std::string, std::int64_t>& suspensions, const std::string& key) {
    if (key.empty()) return;
    auto found = suspensions.find(key);
    if (found == suspensions.end()) return;
    if (found->second != 0 && found->second <= now) {
      suspensions.erase(found);
      return;
    }
    until = std::max(until, found->second == 0 ? now + kIndefiniteRecheck : found->second);
  };
  check(campaign_suspensions, m.envelope.campaign);
  check(tenant_suspensions, m.envelope.tenant);
  return until;
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
    rescheduled = false;
    admit_due(lock);
    std::vector<Item> batch = next_batch(lock);
    if (batch.empty()) continue;  // woken to stop, or a due entry or a completion came
    lock.unlock();
    deliver(batch);
    lock.lock();
  }
}

// Waits until something is ready (or stop), then takes up to max_batch.
std::vector<Item> QueueManager::Impl::next_batch(std::unique_lock<std::mutex>& lock) {
  if (ready.empty()) {
    const auto idle = [this] { return stopping || rescheduled || !ready.empty() || !completions.empty(); };
    const auto next = schedule.next_due();
    if (!next || active.size() >= options.active_limit) {
      wake.wait(lock, idle);
    } else {
      const std::int64_t in = *next - std::time(nullptr);
      if (in > 0) wake.wait_for(lock, std::chrono::seconds(in), idle);
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

void QueueManager::Impl::deliver(std::vector<Item>& batch) {
  if (!load_contents(batch)) return;
  std::vector<Attempt> attempts;
  std::vector<delivery::MaildirFile> files;
  std::vector<std::vector<std::size_t>> remote_recipients(batch.size());
  std::vector<std::vector<std::size_t>> alias_recipients(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const spool::SpooledMessage& m = *batch[i].message;
    batch[i].failed_now.clear();
    batch[i].delivered_now.clear();
    batch[i].remote_settled = false;
    batch[i].attempted = false;
    batch[i].not_before = 0;
    batch[i].room_retry = 0;
    batch[i].odmr_held = false;
    for (std::size_t r = 0; r < m.envelope.recipients.size(); ++r) {
      if (batch[i].states[r] != State::pending) continue;
      if (fail_if_suppressed(batch[i], r, std::time(nullptr))) continue;
      const smtp::Address& rcpt = m.envelope.recipients[r].forward_path;
      const Destination d = destination_of(options, m.envelope.recipients[r]);
      if (d.odmr) {  // never sent by MX: it waits for its client (queue_odmr.cpp)
        batch[i].odmr_held = true;
        spdlog::debug("delivery qid={} to=<{}> result=held reason=\"waits for ATRN\"", m.id.value, rcpt.str());
        continue;
      }
      if (d.remote && remote) {
        remote_recipients[i].push_back(r);
        continue;
      }
      if (d.alias_target) {
        alias_recipients[i].push_back(r);
        continue;
      }
      batch[i].attempted = true;
      Attempt a{i, r, d.mailbox.value_or("")};
      if (!a.mailbox.empty()) {
        a.file = files.size();
        // A big message: its head from the spool, its tail copied from its file.
        const spool::SpooledMessage& c = batch[i].head ? *batch[i].head : m;
        files.push_back({delivery::folder_for(options.routing, a.mailbox, c.content),
                         delivery::unique_name(m.arrival_unix_seconds, m.id.value, r, options.hostname),
                         delivery_header(m.envelope, rcpt, options.routing), &c.content,
                         c.tail_size > 0 ? spool.tail_path(m.id) : std::string(), batch[i].may_be_delivered});
      }
      attempts.push_back(std::move(a));
    }
  }

  delivery::deliver_batch(files);
  for (Item& item : batch) {
    item.may_be_delivered = true;
    item.head.reset();
  }

  for (const Attempt& a : attempts) {
    Item& item = batch[a.item];
    const std::string& qid = item.message->id.value;
    const std::string to = item.message->envelope.recipients[a.recipient].forward_path.str();
    if (a.mailbox.empty()) {
      if (!item.warned_no_transport) spdlog::warn("qid={} no transport for <{}>", qid, to);
      item.warned_no_transport = true;
      item.last_error = "no transport for <" + to + ">";
      spdlog::info("delivery qid={} to=<{}> relay=none result=deferred reason=\"no transport\"", qid, to);
      auto e = local_failure(item, a.recipient, "451 4.3.0 no transport for <" + to + ">");
      if (events::wanted()) note_event(item, a.recipient, std::move(e));
    } else if (const std::error_code ec = files[a.file].result) {
      item.last_error = a.mailbox + ": " + ec.message();
      spdlog::info("delivery qid={} to=<{}> relay=local mailbox={} result=deferred reason=\"{}\"", qid, to,
                   a.mailbox, ec.message());
      auto e = local_failure(item, a.recipient, "451 4.3.0 " + ec.message());
      if (events::wanted()) note_event(item, a.recipient, std::move(e));
    } else {
      item.states[a.recipient] = State::delivered;
      note_success(item, a.recipient, "", "250 2.0.0 delivered to mailbox", delivery::DsnAction::delivered);
      count_outcome("delivered", "", "");
      if (events::wanted()) {
        auto e = events::recipient_event(events::Type::Delivery, *item.message, a.recipient, item.attempts + 1,
                                         "250 2.0.0 delivered to mailbox");
        e.site = "local";
        note_event(item, a.recipient, std::move(e));
      }
      spdlog::info("delivery qid={} to=<{}> relay=local mailbox={} result=delivered", qid, to, a.mailbox);
    }
  }

  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (remote_recipients[i].empty() && alias_recipients[i].empty()) {
      settle(std::move(batch[i]));
      continue;
    }
    const std::string qid = batch[i].message->id.value;
    auto [slot, inserted] = in_flight.emplace(qid, std::move(batch[i]));
    if (!inserted) continue;
    slot->second.jobs_out = 0;
    if (!remote_recipients[i].empty()) dispatch_remote(slot->second, remote_recipients[i]);
    if (!alias_recipients[i].empty()) dispatch_alias(slot->second, alias_recipients[i]);
  }
}

// An alias's commands and files: one job for the message's, on the
// alias thread; the result comes back as a remote job's does.
void QueueManager::Impl::gate_on(const std::string& domain, const JobResult& result) {
  if (domain.empty()) return;
  const std::uint32_t id = domains.intern(domain);
  const std::int64_t now = std::time(nullptr);
  if (result.wait_for_room) {
    schedule.wait_for_room(id, result.retry_at, now, options.remote ? options.remote->max_ready : 1000);
  } else if (!result.attempted && result.retry_at > 0) {
    gates[id].until = result.retry_at;
    schedule.open(id, now);  // those set aside meet the gate
  } else if (result.attempted && schedule.waits_for_room(id)) {
    schedule.release(id, 1, now);
  }
}

void QueueManager::Impl::note_event(Item& item, std::size_t recipient, events::Event event) {
  item.events_now.emplace_back(recipient, std::move(event));
}

std::vector<spool::Spool::Record> QueueManager::Impl::event_records(const Item& item) {
  if (item.events_now.empty() || !events::outbox()) return {};
  std::vector<events::Event> events;
  events.reserve(item.events_now.size());
  for (const auto& [recipient, e] : item.events_now) events.push_back(e);
  return events::outbox_records(events);
}

void QueueManager::Impl::emit_events(Item& item) {
  for (const auto& [recipient, e] : item.events_now) events::emit(e);
  item.events_now.clear();
}

void QueueManager::Impl::complete(const Completion& c) {
  auto it = in_flight.find(c.queue_id);
  if (it == in_flight.end()) it = take_odmr_claim(c.queue_id);
  if (it == in_flight.end()) return;
  Item& item = it->second;
  const auto& recipients = item.message->envelope.recipients;
  const std::time_t now = std::time(nullptr);
  bool delivered_some = false;
  if (c.result.wait_for_room) {
    item.room_retry = std::max(item.room_retry, c.result.retry_at);
  } else if (!c.result.attempted) {
    item.not_before = std::max(item.not_before, c.result.retry_at);
  }
  if (!c.result.spool_error.empty()) {
    note_spool_error("content read of qid=" + item.message->id.value, std::make_error_code(std::errc::io_error));
  }
  if (c.result.attempted) item.attempted = true;
  for (const RecipientOutcome& o : c.result.outcomes) {
    const std::string to = recipients[o.recipient].forward_path.str();
    const char* word = "deferred";
    if (o.outcome == smtp::DeliveryOutcome::delivered) {
      item.states[o.recipient] = State::delivered;
      item.remote_settled = true;
      delivered_some = true;
      word = "delivered";
      if (!c.result.dsn_passed_on) {
        note_success(item, o.recipient, o.remote_mta, o.reply,
                     c.result.final_delivery ? delivery::DsnAction::delivered : delivery::DsnAction::relayed);
      }
    }
    std::string bounce_class;
    if (o.outcome != smtp::DeliveryOutcome::delivered) {
      const bool failed = o.outcome == smtp::DeliveryOutcome::failed;
      if (c.result.attempted || failed) bounce_class = learn_from_reply(item, o.recipient, o.reply, failed);
      if (failed) {
        item.states[o.recipient] = State::failed;
        item.remote_settled = true;
        item.failed_now.push_back({recipients[o.recipient], o.status, o.remote_mta, o.reply, std::nullopt, now, {}, bounce_class});
        word = "bounced";
      } else {
        item.last_error = o.reply;
      }
    }
    if (!c.result.attempted) {
      spdlog::debug("delivery qid={} to=<{}> site={} result={} attempted=no reply=\"{}\"", item.message->id.value, to,
                    c.result.site, word, o.reply);
      continue;
    }
    count_outcome(word, c.result.site, bounce_class);
    if (events::wanted()) {
      const auto type = o.outcome == smtp::DeliveryOutcome::delivered ? events::Type::Delivery
                        : o.outcome == smtp::DeliveryOutcome::failed  ? events::Type::Bounce
                                                                      : events::Type::TransientFailure;
      auto e = events::recipient_event(type, *item.message, o.recipient, item.attempts + 1, o.reply);
      e.site = c.result.site;
      e.mx_host = c.result.endpoint;
      e.peer_address = address_of(c.result.endpoint);
      e.tls = c.result.tls;
      e.bounce_class = bounce_class;
      note_event(item, o.recipient, std::move(e));
    }
    spdlog::info("delivery qid={} to=<{}> relay={} site={} tls={} tls_policy={} result={} reply=\"{}\"{}{} delay={}s",
                 item.message->id.value, to, c.result.endpoint.empty() ? "none" : c.result.endpoint, c.result.site,
                 c.result.tls.empty() ? "no" : c.result.tls, c.result.tls_policy.empty() ? "-" : c.result.tls_policy, word, o.reply, bounce_class.empty() ? "" : " class=",
                 bounce_class, now - item.message->arrival_unix_seconds);
  }
  if (c.result.attempted && !c.result.outcomes.empty()) {
    const auto first = c.result.outcomes.front().outcome;
    metrics::delivery_seconds()
        .with({first == smtp::DeliveryOutcome::delivered ? "delivered"
               : first == smtp::DeliveryOutcome::failed  ? "bounced"
                                                         : "deferred"})
        .observe(c.result.seconds);
  }
  if (--item.jobs_out > 0) {
    // A remote 250 is recorded when it happens, not when the message's
    // slowest destination is done: a crash meanwhile must not send it again.
    if (delivered_some) {
      if (auto ec = spool.record_progress(progress_of(item), /*durable=*/true, event_records(item))) {
        note_spool_error("progress of qid=" + item.message->id.value, ec);
      }
      emit_events(item);
    }
    return;
  }
  Item done = std::move(item);
  in_flight.erase(it);
  settle(std::move(done));
}

QueueManager::QueueManager(spool::Spool& spool, QueueOptions options)
    : impl_(std::make_unique<Impl>(spool, std::move(options))) {}

QueueManager::~QueueManager() { stop(); }

void QueueManager::start() {
  if (impl_->thread.joinable()) return;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = false;
    impl_->schedule.reserve(impl_->spool.size());
  }
  std::size_t recovered = 0;
  const std::error_code ec = impl_->spool.scan_envelopes("", [&](spool::SpooledMessage& m) {
    impl_->index(m);
    ++recovered;
    return true;
  });
  if (ec) impl_->note_spool_error("recovery scan", ec);
  if (recovered) spdlog::info("queue: {} message(s) recovered from the spool", recovered);
  impl_->thread = std::thread([this] { impl_->run(); });
}

void QueueManager::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
  if (impl_->alias_jobs) impl_->alias_jobs->stop();  // after the thread that submits to it
}

void QueueManager::submit(std::shared_ptr<const spool::SpooledMessage> message) {
  impl_->add_fresh(std::move(message));
}

}  // namespace petrel::queue
