// The end of an attempt: bounce what failed, then forget the message or
// record it and put it back in the schedule. A bounce that cannot be
// stored leaves its recipients pending: the sender is never left untold.
#include "queue/queue_internal.hpp"

#include <spdlog/spdlog.h>

#include <ctime>
#include <future>

#include "delivery/bounce.hpp"
#include "events/mail_events.hpp"
#include "metrics/petrel_metrics.hpp"
#include "smtp/reply_codes.hpp"

namespace petrel::queue {

using detail::Item;
using detail::State;

namespace {

const char* kind_name(delivery::DsnKind kind) {
  switch (kind) {
    case delivery::DsnKind::success: return "success";
    case delivery::DsnKind::delay: return "delay";
    default: return "failure";
  }
}

}  // namespace

// The end of an attempt, in one critical section with the operator's
// commands, so that a hold or delete that comes during the attempt is
// never missed: the message leaves the active set and, unless it was
// deleted, finished (next: nullopt) or held meanwhile, goes back into the
// schedule at `next`. The domain counts follow what is still pending.
QueueManager::Impl::After QueueManager::Impl::leave_active(Item& item, const std::set<std::string>& pending,
                                                           std::optional<std::int64_t> next) {
  const std::string& id = item.message->id.value;
  std::lock_guard lock(mutex);
  active.erase(id);
  const bool gone = deleted.erase(id) > 0 || !next;
  const bool hold_now = to_hold.erase(id) > 0;
  for (const auto& d : item.counted_domains) {
    if (!gone && pending.count(d)) continue;
    uncount_domain(id, d);
  }
  item.counted_domains = gone ? std::set<std::string>{} : pending;
  if (gone) {
    if (queued > 0) --queued;
    return next ? After::deleted : After::finished;
  }
  if (hold_now) return After::held;
  schedule.add(id, *next, schedule_domain(pending));
  return After::scheduled;
}

void QueueManager::Impl::settle(Item item) {
  const std::string id = item.message->id.value;
  bool was_deleted = false;
  {
    std::lock_guard lock(mutex);
    was_deleted = deleted.count(id) > 0;  // by an operator, meanwhile (already out of the spool)
  }
  if (was_deleted) {
    release_content(item);
    if (!item.events_now.empty()) {  // what happened during the attempt still happened
      if (auto ec = spool.remove({}, event_records(item))) note_spool_error("events of qid=" + id, ec);
      emit_events(item);
    }
    leave_active(item, {}, std::time(nullptr));
    return;
  }
  const auto age = std::chrono::seconds(std::time(nullptr) - item.message->arrival_unix_seconds);
  if (!item.all_settled() && age >= options.max_queue_lifetime) expire(item);
  if (!item.all_settled() && options.delay_warning.count() > 0 && age >= options.delay_warning &&
      !item.delay_warned) {
    warn_of_delay(item);
  }
  if (!item.failed_now.empty() && !queue_bounce(item, delivery::DsnKind::failure, item.failed_now)) {
    // Not stored: those recipients stay pending, and the next attempt
    // fails them again and tries the bounce again.
    for (const auto& f : item.failed_now) {
      for (std::size_t r = 0; r < item.states.size(); ++r) {
        if (item.message->envelope.recipients[r].forward_path.str() == f.recipient.forward_path.str() &&
            item.states[r] == State::failed) {
          item.states[r] = State::pending;
        }
      }
    }
    item.last_error = "bounce not stored yet: " + (item.failed_now.empty() ? "" : item.failed_now.front().diagnostic);
    // Their Bounce or Expiration comes when their bounce is stored.
    std::erase_if(item.events_now, [&](const auto& e) { return item.states[e.first] == State::pending; });
  }
  if (!item.delivered_now.empty()) queue_bounce(item, delivery::DsnKind::success, item.delivered_now);
  if (item.all_settled()) {
    release_content(item);
    if (auto ec = spool.remove({item.message->id}, event_records(item))) note_spool_error("removal of qid=" + id, ec);
    emit_events(item);
    leave_active(item, {}, std::nullopt);
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
    metrics::deliveries().with({"expired", "unknown"}).inc();  // its site is the delivery thread's to know
    if (events::wanted()) note_event(item, r, events::recipient_event(events::Type::Expiration, *item.message, r, item.attempts, reason));
  }
  item.remote_settled = true;
}

// RFC 3464 "delayed": what is still pending, why, and until when it will
// be tried; once per message (the flag is kept in the spool).
void QueueManager::Impl::warn_of_delay(Item& item) {
  const auto& recipients = item.message->envelope.recipients;
  const std::time_t until = item.message->arrival_unix_seconds +
                            std::chrono::duration_cast<std::chrono::seconds>(options.max_queue_lifetime).count();
  std::vector<delivery::RecipientStatus> pending;
  for (std::size_t r = 0; r < recipients.size(); ++r) {
    if (item.states[r] != State::pending) continue;
    pending.push_back({recipients[r], "4.0.0", "", item.last_error, std::nullopt, std::time(nullptr), until});
  }
  if (!queue_bounce(item, delivery::DsnKind::delay, pending)) return;  // tried again next time
  item.delay_warned = true;
  item.remote_settled = true;  // the flag must outlive a crash, or the warning goes twice
}

// The bounce is stored (synced) before the original's failed recipients
// are recorded as settled: a crash in between sends it twice at most.
// False when it is owed but could not be made or stored.
bool QueueManager::Impl::queue_bounce(const Item& item, delivery::DsnKind kind,
                                      const std::vector<delivery::RecipientStatus>& recipients) {
  const std::string& qid = item.message->id.value;
  std::shared_ptr<const spool::SpooledMessage> original = item.message;
  if (!item.content_in_memory) {  // remote-only mail: the content stayed in the spool
    std::error_code ec;
    auto content = spool.read_content(item.message->id, ec);
    if (!content) {
      spdlog::error("qid={} bounce not written: the original cannot be read ({})", qid,
                    ec ? ec.message() : "not in the spool");
      return !ec;  // gone meanwhile: nothing to bounce
    }
    auto full = std::make_shared<spool::SpooledMessage>(*item.message);
    full->content = std::move(*content);
    original = std::move(full);
  }
  delivery::BounceRequest request{*original, kind, recipients, options.hostname, std::time(nullptr),
                                  options.double_bounce};
  std::shared_ptr<spool::SpooledMessage> bounce;
  try {
    bounce = delivery::make_bounce(request);
  } catch (const std::exception& e) {
    spdlog::error("qid={} bounce not written: {}", qid, e.what());
    return false;
  }
  if (!bounce) {
    if (item.message->envelope.reverse_path.is_null()) {
      spdlog::warn("qid={} a bounce failed and is dropped (RFC 5321 §6.1: none is sent to <>)", qid);
    }
    return true;  // none is owed
  }
  std::promise<std::error_code> stored;
  spool.store(bounce, [&stored](std::error_code ec) { stored.set_value(ec); });
  if (const std::error_code ec = stored.get_future().get()) {
    spdlog::error("qid={} {} DSN not stored: {} (kept, tried again)", qid, kind_name(kind), ec.message());
    return false;
  }
  spdlog::info("dsn qid={} kind={} for qid={} to=<{}> recipients={}", bounce->id.value, kind_name(kind), qid,
               bounce->envelope.recipients.front().forward_path.str(), recipients.size());
  add_fresh(bounce);
  return true;
}

spool::SpooledMessage QueueManager::Impl::progress_of(const Item& item) const {
  spool::SpooledMessage progress = *item.message;
  progress.content.clear();
  progress.attempts = item.attempts;
  progress.states = item.states;
  progress.last_error = item.last_error;
  progress.delay_warned = item.delay_warned;
  progress.held = false;
  return progress;
}

void QueueManager::Impl::defer(Item item) {
  const std::int64_t now = std::time(nullptr);
  std::int64_t wait = 0;
  if (item.attempted) {
    ++item.attempts;
    const auto& intervals = options.retry_intervals;
    wait = std::chrono::duration_cast<std::chrono::seconds>(
               intervals[std::min<std::size_t>(item.attempts - 1, intervals.size() - 1)])
               .count();
    wait = std::max<std::int64_t>(wait, 1);
  }
  // A site that said when to come back (suspended, down, full) is not an
  // attempt: the message waits for it, with a little jitter so a backlog
  // does not come back in lockstep.
  std::int64_t next = now + wait;
  if (item.not_before > next) next = item.not_before + jitter(item.not_before - now);
  const std::set<std::string> pending = detail::pending_domains(*item.message, item.states, options);
  // Held for ATRN only: looked at again now and then, for its expiry and
  // delay warning; an ATRN claims it whenever it comes.
  if (!item.attempted && item.odmr_held && next <= now) next = now + odmr_recheck() + jitter(odmr_recheck());
  if (!item.attempted && next <= now) {
    // Only turned away by a full site: it waits for room with its
    // domain's others (Schedule::wait_for_room), due now; a message for
    // several domains has no one domain to wait with, so it waits until
    // the site's estimate.
    if (item.room_retry > 0 && pending.size() == 1) {
      next = now;
    } else if (item.room_retry > now) {
      next = item.room_retry + jitter(item.room_retry - now);
    } else {
      next = now + 1 + jitter(30);
    }
  }
  spool::SpooledMessage progress = progress_of(item);
  progress.next_attempt_unix_seconds = next;
  // After a remote 250 (or a bounce) the record must survive a crash, so a
  // restart never sends to those recipients again.
  if (auto ec = spool.record_progress(progress, /*durable=*/item.remote_settled, event_records(item))) {
    note_spool_error("progress of qid=" + item.message->id.value, ec);
  }
  emit_events(item);
  release_content(item);
  const std::string id = item.message->id.value;
  switch (leave_active(item, pending, next)) {
    case After::held:
      // Held while it was being attempted: recorded now, over the progress.
      progress.held = true;
      if (auto ec = spool.record_progress(progress, /*durable=*/true)) note_spool_error("hold of qid=" + id, ec);
      spdlog::info("qid={} held (after its attempt)", id);
      return;
    case After::deleted:
    case After::finished: return;
    case After::scheduled: break;
  }
  if (item.attempted) {
    spdlog::warn("qid={} not delivered (attempt {}), next try in {}s: {}", id, item.attempts, next - now,
                 item.last_error);
  }
}

}  // namespace petrel::queue
