// Listing the queue and the operator's commands (petrel queue, ETRN).
#include <algorithm>

#include "delivery/queue_internal.hpp"
#include "util/idn.hpp"

namespace petrel::delivery {
namespace detail {

const char* state_name(State state) {
  switch (state) {
    case State::delivered: return "delivered";
    case State::failed: return "bounced";
    default: return "pending";
  }
}

QueueEntry entry_of(const spool::SpooledMessage& m) {
  QueueEntry e;
  e.id = m.id.value;
  e.arrival_unix_seconds = m.arrival_unix_seconds;
  e.size = m.content.size();
  e.sender = m.envelope.reverse_path.is_null() ? "" : m.envelope.reverse_path.mailbox->str();
  for (std::size_t r = 0; r < m.envelope.recipients.size(); ++r) {
    e.recipients.push_back({m.envelope.recipients[r].forward_path.str(), state_name(m.state(r))});
  }
  e.attempts = m.attempts;
  e.next_attempt_unix_seconds = m.next_attempt_unix_seconds;
  e.last_error = m.last_error;
  return e;
}

bool has_pending_recipient_in(const Item& item, std::string_view domain) {
  const auto& recipients = item.message->envelope.recipients;
  for (std::size_t r = 0; r < recipients.size(); ++r) {
    if (item.states[r] != State::pending) continue;
    if (domain.empty() || util::ascii_domain(recipients[r].forward_path.domain) == util::ascii_domain(domain)) {
      return true;
    }
  }
  return false;
}

}  // namespace detail

using detail::Item;

std::size_t QueueManager::pending() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->queued.size();
}

std::vector<QueueEntry> QueueManager::list() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<QueueEntry> out;
  for (const auto& [id, entry] : impl_->queued) {
    out.push_back(entry);
    out.back().held = impl_->held.count(id) > 0;
  }
  std::sort(out.begin(), out.end(),
            [](const QueueEntry& a, const QueueEntry& b) { return a.arrival_unix_seconds < b.arrival_unix_seconds; });
  return out;
}

std::optional<QueueEntry> QueueManager::find(std::string_view id) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->queued.find(id);
  if (it == impl_->queued.end()) return std::nullopt;
  QueueEntry e = it->second;
  e.held = impl_->held.count(id) > 0;
  return e;
}

std::size_t QueueManager::flush(std::string_view domain) {
  std::size_t moved = 0;
  {
    std::lock_guard lock(impl_->mutex);
    for (auto it = impl_->later.begin(); it != impl_->later.end();) {
      if (!detail::has_pending_recipient_in(it->second, domain)) {
        ++it;
        continue;
      }
      impl_->ready.push_back(std::move(it->second));
      it = impl_->later.erase(it);
      ++moved;
    }
  }
  if (moved) impl_->wake.notify_one();
  return moved;
}

bool QueueManager::hold(std::string_view id) {
  std::lock_guard lock(impl_->mutex);
  if (!impl_->queued.count(id)) return false;
  if (impl_->held.count(id)) return true;
  // Durable, so that a restart keeps the hold.
  auto take = [&](Item item) {
    spool::SpooledMessage progress = impl_->progress_of(item);
    progress.held = true;
    impl_->spool.record_progress(progress, /*durable=*/true);
    impl_->held.emplace(std::string(id), std::move(item));
  };
  for (auto it = impl_->later.begin(); it != impl_->later.end(); ++it) {
    if (it->second.message->id.value == id) {
      take(std::move(it->second));
      impl_->later.erase(it);
      return true;
    }
  }
  for (auto it = impl_->ready.begin(); it != impl_->ready.end(); ++it) {
    if (it->message->id.value == id) {
      take(std::move(*it));
      impl_->ready.erase(it);
      return true;
    }
  }
  return false;  // being delivered right now: try again in a moment
}

bool QueueManager::release(std::string_view id) {
  {
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->held.find(id);
    if (it == impl_->held.end()) return false;
    impl_->spool.record_progress(impl_->progress_of(it->second), /*durable=*/true);  // held no more
    impl_->ready.push_back(std::move(it->second));
    impl_->held.erase(it);
  }
  impl_->wake.notify_one();
  return true;
}

bool QueueManager::remove(std::string_view id) {
  std::optional<spool::QueueId> gone;
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->queued.count(id)) return false;
    impl_->queued.erase(impl_->queued.find(id));
    gone = spool::QueueId{std::string(id)};
    bool found = false;
    if (auto h = impl_->held.find(id); h != impl_->held.end()) {
      if (h->second.content_in_memory) impl_->content_bytes -= h->second.message->content.size();
      impl_->held.erase(h);
      found = true;
    }
    for (auto it = impl_->later.begin(); !found && it != impl_->later.end(); ++it) {
      if (it->second.message->id.value == id) {
        impl_->later.erase(it);
        found = true;
        break;
      }
    }
    for (auto it = impl_->ready.begin(); !found && it != impl_->ready.end(); ++it) {
      if (it->message->id.value == id) {
        if (it->content_in_memory) impl_->content_bytes -= it->message->content.size();
        impl_->ready.erase(it);
        found = true;
        break;
      }
    }
    // Otherwise it is being delivered: settle() drops it when it comes back.
    if (!found) impl_->deleted.insert(std::string(id));
  }
  impl_->spool.remove({*gone});
  return true;
}

}  // namespace petrel::delivery
