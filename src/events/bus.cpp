#include "events/bus.hpp"

#include <mutex>
#include <string>

#include "metrics/petrel_metrics.hpp"

namespace petrel::events {

std::size_t Bus::subscribe(Subscriber subscriber) {
  std::unique_lock lock(mutex_);
  subscribers_[next_] = std::move(subscriber);
  return next_++;
}

void Bus::unsubscribe(std::size_t handle) {
  std::unique_lock lock(mutex_);
  subscribers_.erase(handle);
}

namespace {

// petrel_events_total's series, one per type, looked up once.
metrics::Counter& counter_of(Type type) {
  static metrics::Counter* counters[] = {
      &metrics::events().with({"Reception"}),   &metrics::events().with({"Delivery"}),
      &metrics::events().with({"TransientFailure"}), &metrics::events().with({"Bounce"}),
      &metrics::events().with({"Expiration"}),  &metrics::events().with({"Suppression"}),
      &metrics::events().with({"Unsubscribe"}), &metrics::events().with({"Complaint"}),
      &metrics::events().with({"AdminAction"})};
  return *counters[static_cast<std::size_t>(type)];
}

}  // namespace

void Bus::emit(const Event& event) const {
  counter_of(event.type).inc();
  std::shared_lock lock(mutex_);
  for (const auto& [handle, subscriber] : subscribers_) subscriber(event);
}

bool Bus::empty() const {
  std::shared_lock lock(mutex_);
  return subscribers_.empty();
}

Bus& bus() {
  static Bus b;
  return b;
}

}  // namespace petrel::events
