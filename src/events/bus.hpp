// Where events go: emitters (the SMTP sessions, the API, the queue, the
// operator's commands) call emit(); subscribers (the event log, the
// webhook outbox, the dashboard's counts) are called on the emitting
// thread and must only hand the event on (queue it) and return.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <shared_mutex>

#include "events/event.hpp"

namespace petrel::events {

class Bus {
 public:
  using Subscriber = std::function<void(const Event&)>;
  std::size_t subscribe(Subscriber subscriber);  // a handle for unsubscribe
  void unsubscribe(std::size_t handle);
  void emit(const Event& event) const;
  bool empty() const;  // no subscriber: emitters may skip building events

 private:
  mutable std::shared_mutex mutex_;
  std::map<std::size_t, Subscriber> subscribers_;
  std::size_t next_ = 1;
};

Bus& bus();

}  // namespace petrel::events
