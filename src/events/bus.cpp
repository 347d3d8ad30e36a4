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

void Bus::emit(const Event& event) const {
  metrics::events().with({std::string(type_name(event.type))}).inc();
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
