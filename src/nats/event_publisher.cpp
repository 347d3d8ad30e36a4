#include "nats/event_publisher.hpp"

#include <nats/nats.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_set>
#include <vector>

#include "events/bus.hpp"
#include "events/outbox.hpp"
#include "nats/nats_metrics.hpp"
#include "nats/subjects.hpp"
#include "spool/spool.hpp"

namespace petrel::nats {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kCursorKey = "on/jetstream";
constexpr auto kIdleWait = std::chrono::seconds(1);        // a look at the outbox at least this often
constexpr auto kHoleWait = std::chrono::seconds(2);        // how long a hole in the sequence may be a write in flight
constexpr auto kHoleLook = std::chrono::milliseconds(20);  // a hole is looked at again this often
constexpr std::int64_t kAckWaitMs = 10000;                  // a window's acks, at most
constexpr std::int64_t kApiWaitMs = 5000;                   // a JetStream API request
constexpr auto kMaxBackoff = std::chrono::seconds(10);

struct Pending {
  std::uint64_t seq = 0;
  std::string json;
  std::optional<EventRoute> route;  // none: not an event, nothing to publish
};

// The next events to publish: those after the cursor, up to a hole that may
// still be filled (a write given its sequence number but not yet done).
struct Window {
  std::vector<Pending> events;
  std::uint64_t last_seq = 0;  // of the last event taken
  bool at_hole = false;        // stopped before a hole that may yet be filled
};

std::string status_text(natsStatus s) {
  const char* last = nats_GetLastError(nullptr);
  return last && *last ? last : natsStatus_GetText(s);
}

}  // namespace

struct EventPublisher::Impl {
  PublisherOptions options;
  events::Outbox& outbox;
  unsigned reader;
  spool::Spool& spool;
  natsConnection* connection = nullptr;
  jsCtx* js = nullptr;
  std::string stream;       // where events go; "" until found or made
  std::uint64_t cursor = 0;  // events up to this one are acked by JetStream
  std::atomic<bool> connected{false};
  std::atomic<bool> stopping{false};
  std::mutex mutex;  // acked, errors, wake-ups
  std::condition_variable wake;
  bool poked = false;
  std::atomic<bool> idle{false};
  std::unordered_set<std::string> acked;  // event IDs JetStream acked in the window being published
  std::string last_error;
  bool no_stream = false;  // a publish found no stream to take it
  std::uint64_t hole_at = 0;  // the sequence number missing, and since when
  Clock::time_point hole_since{};
  std::size_t subscription = 0;
  std::thread thread;

  Impl(PublisherOptions o, events::Outbox& ob, unsigned r, spool::Spool& s)
      : options(std::move(o)), outbox(ob), reader(r), spool(s) {}

  // ---- Connection (libnats' threads call these) ----

  static void on_connected(natsConnection* nc, void* self) { static_cast<Impl*>(self)->note_up(nc, "connected to"); }
  static void on_reconnected(natsConnection* nc, void* self) {
    static_cast<Impl*>(self)->note_up(nc, "connected again to");
  }
  static void on_disconnected(natsConnection*, void* self) {
    auto* impl = static_cast<Impl*>(self);
    if (!impl->connected.exchange(false) || impl->stopping) return;
    connected_gauge().set(0);
    spdlog::warn("nats: disconnected; events wait in the outbox until NATS is back");
  }

  void note_up(natsConnection* nc, const char* what) {
    char url[256] = {};
    natsConnection_GetConnectedUrl(nc, url, sizeof url);
    if (!connected.exchange(true)) spdlog::info("nats: {} {}", what, url);
    connected_gauge().set(1);
    poke();
  }

  static void on_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* self) {
    auto* impl = static_cast<Impl*>(self);
    const char* id = nullptr;
    natsMsgHeader_Get(msg, "Nats-Msg-Id", &id);
    {
      std::lock_guard lock(impl->mutex);
      if (pa && id) {
        impl->acked.insert(id);
      } else if (pae) {
        impl->last_error = pae->ErrText && *pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err);
        if (pae->Err == NATS_NO_RESPONDERS) impl->no_stream = true;
      }
    }
    natsMsg_Destroy(msg);
  }

  natsOptions* make_options() {
    natsOptions* o = nullptr;
    natsStatus s = natsOptions_Create(&o);
    const auto check = [&](natsStatus st, const char* what) {
      if (st == NATS_OK) return;
      const std::string why = status_text(st);
      natsOptions_Destroy(o);
      throw std::runtime_error(std::string("[cluster] ") + what + ": " + why);
    };
    check(s, "nats");
    check(natsOptions_SetURL(o, options.urls.c_str()), "nats");
    const std::string name = "petreld " + options.node_name;
    check(natsOptions_SetName(o, name.c_str()), "node_name");
    check(natsOptions_SetMaxReconnect(o, -1), "nats");  // for ever: the outbox waits
    check(natsOptions_SetReconnectWait(o, 1000), "nats");
    check(natsOptions_SetRetryOnFailedConnect(o, true, on_connected, this), "nats");
    check(natsOptions_SetDisconnectedCB(o, on_disconnected, this), "nats");
    check(natsOptions_SetReconnectedCB(o, on_reconnected, this), "nats");
    if (!options.token.empty()) check(natsOptions_SetToken(o, options.token.c_str()), "nats_token");
    if (!options.creds_file.empty()) {
      check(natsOptions_SetUserCredentialsFromFiles(o, options.creds_file.c_str(), nullptr), "nats_creds");
    }
    if (!options.tls_ca.empty()) {
      check(natsOptions_SetSecure(o, true), "nats_tls_ca");
      check(natsOptions_LoadCATrustedCertificates(o, options.tls_ca.c_str()), "nats_tls_ca");
    }
    if (!options.tls_cert.empty()) {
      check(natsOptions_LoadCertificatesChain(o, options.tls_cert.c_str(), options.tls_key.c_str()), "nats_tls_cert");
    }
    return o;
  }

  void connect() {
    natsOptions* o = make_options();
    const natsStatus s = natsConnection_Connect(&connection, o);
    natsOptions_Destroy(o);
    if (s == NATS_NOT_YET_CONNECTED) {
      spdlog::warn("nats: {} not reachable yet; events wait in the outbox until it is", options.urls);
    } else if (s != NATS_OK) {
      throw std::runtime_error("[cluster] nats: " + status_text(s));
    } else {
      note_up(connection, "connected to");
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = kApiWaitMs;
    jo.PublishAsync.MaxPending = static_cast<std::int64_t>(options.max_in_flight);
    jo.PublishAsync.AckHandler = on_ack;
    jo.PublishAsync.AckHandlerClosure = this;
    if (natsConnection_JetStream(&js, connection, &jo) != NATS_OK) {
      throw std::runtime_error("nats: no JetStream context: " + status_text(NATS_ERR));
    }
  }

  // ---- The stream ----

  // Streams whose subjects overlap petrel.events.> (the server's filter).
  std::vector<std::string> overlapping_streams() {
    natsMsg* reply = nullptr;
    const std::string request = R"({"subject":")" + std::string(kEventsWildcard) + R"("})";
    if (natsConnection_RequestString(&reply, connection, "$JS.API.STREAM.NAMES", request.c_str(), kApiWaitMs) !=
        NATS_OK) {
      throw std::runtime_error("JetStream does not answer (is nats-server started with -js?): " +
                               status_text(NATS_ERR));
    }
    const auto j = nlohmann::json::parse(std::string_view(natsMsg_GetData(reply), natsMsg_GetDataLength(reply)),
                                         nullptr, false);
    natsMsg_Destroy(reply);
    if (j.contains("error")) throw std::runtime_error("JetStream: " + j["error"].dump());
    std::vector<std::string> names;
    if (j.contains("streams") && j["streams"].is_array()) {
      for (const auto& n : j["streams"]) {
        if (n.is_string()) names.push_back(n.get<std::string>());
      }
    }
    return names;
  }

  bool stream_covers(const std::string& name) {
    jsStreamInfo* si = nullptr;
    jsErrCode jerr{};
    if (js_GetStreamInfo(&si, js, name.c_str(), nullptr, &jerr) != NATS_OK || !si) return false;
    bool yes = false;
    for (int i = 0; i < si->Config->SubjectsLen && !yes; ++i) yes = covers(si->Config->Subjects[i], kEventsWildcard);
    jsStreamInfo_Destroy(si);
    return yes;
  }

  void make_stream() {
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    const std::string name(kStreamName);
    const std::string subject(kEventsWildcard);
    const char* subjects[] = {subject.c_str()};
    config.Name = name.c_str();
    config.Subjects = subjects;
    config.SubjectsLen = 1;
    config.Storage = js_FileStorage;
    jsStreamInfo* si = nullptr;
    jsErrCode jerr{};
    const natsStatus s = js_AddStream(&si, js, &config, nullptr, &jerr);
    jsStreamInfo_Destroy(si);
    if (s != NATS_OK && jerr != JSStreamNameExistErr) {  // another node may have made it meanwhile
      throw std::runtime_error("cannot create the stream " + name + ": " + status_text(s));
    }
  }

  // Finds the stream covering petrel.events.>, or makes PETREL_EVENTS.
  void find_stream() {
    const auto names = overlapping_streams();
    for (const auto& n : names) {
      if (stream_covers(n)) {
        stream = n;
        spdlog::info("nats: events go to the JetStream stream {}", n);
        return;
      }
    }
    if (!names.empty()) {
      // Creating ours would fail (subjects overlap): use theirs, and say
      // that events outside it wait.
      stream = names.front();
      spdlog::error("nats: the stream {} takes some of {} but not all; events it does not take wait in the outbox",
                    stream, kEventsWildcard);
      return;
    }
    make_stream();
    stream = kStreamName;
    spdlog::info("nats: created the JetStream stream {} (file storage) for {}", stream, kEventsWildcard);
  }

  // ---- The outbox ----

  void load_cursor() {
    std::string value;
    std::error_code ec;
    if (spool.read_record(kCursorKey, value, ec)) std::from_chars(value.data(), value.data() + value.size(), cursor);
    // A cursor past the outbox's end (an outbox emptied by a version that
    // did not keep its numbers) would skip the next events.
    cursor = std::min(cursor, outbox.last_seq());
  }

  void save_cursor() {
    // Not synced: a cursor lost in a crash only publishes events again,
    // which JetStream drops by Nats-Msg-Id within its duplicate window.
    if (auto ec = spool.write_records({{std::string(kCursorKey), std::to_string(cursor)}})) {
      spdlog::error("nats: where the publisher stands was not recorded: {}", ec.message());
    }
    if (auto ec = outbox.passed(reader, cursor)) {
      spdlog::error("nats: published events not removed from the outbox: {}", ec.message());
    }
    pending_gauge().set(static_cast<double>(outbox.last_seq() > cursor ? outbox.last_seq() - cursor : 0));
  }

  // A hole in the sequence (a number given to an event whose write is not
  // done yet, or failed) is waited for a moment, then passed over.
  bool hole_may_fill(std::uint64_t missing) {
    const auto now = Clock::now();
    if (hole_at != missing) {
      hole_at = missing;
      hole_since = now;
    }
    return now - hole_since < kHoleWait;
  }

  Window collect() {
    Window w;
    w.last_seq = cursor;
    std::uint64_t expect = cursor + 1;
    outbox.scan(cursor, [&](std::uint64_t seq, std::string_view json) {
      if (seq <= cursor) return true;
      if (w.events.size() >= options.max_in_flight) return false;
      if (seq != expect && hole_may_fill(expect)) {
        w.at_hole = true;
        return false;
      }
      expect = seq + 1;
      w.last_seq = seq;
      w.events.push_back({seq, std::string(json), route_of(json)});
      return true;
    });
    return w;
  }

  // Publishes the window's events (but those acked at an earlier try) and
  // waits for their acks. Returns how many of them, from the first, are
  // acked now.
  std::size_t publish(const std::vector<Pending>& events) {
    std::size_t sent = 0;
    for (const Pending& p : events) {
      const auto& route = p.route;
      if (!route) continue;
      {
        std::lock_guard lock(mutex);
        if (acked.count(route->event_id)) continue;
      }
      natsMsg* msg = nullptr;
      if (natsMsg_Create(&msg, route->subject.c_str(), nullptr, p.json.data(), static_cast<int>(p.json.size())) !=
          NATS_OK) {
        break;
      }
      natsMsgHeader_Set(msg, "Nats-Msg-Id", route->event_id.c_str());
      natsMsgHeader_Set(msg, "Petrel-Node", options.node_name.c_str());
      const natsStatus s = js_PublishMsgAsync(js, &msg, nullptr);
      natsMsg_Destroy(msg);  // no-op when libnats took it
      if (s != NATS_OK) {
        std::lock_guard lock(mutex);
        last_error = status_text(s);
        break;
      }
      ++sent;
    }
    if (sent > 0) wait_for_acks();
    std::lock_guard lock(mutex);
    std::size_t done = 0;
    for (const Pending& p : events) {
      if (p.route && !acked.count(p.route->event_id)) break;
      ++done;
    }
    return done;
  }

  // At most kAckWaitMs, in short waits so that stop() is not held up;
  // acks that have not come are given up (their events are sent again).
  void wait_for_acks() {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 200;
    for (std::int64_t waited = 0; waited < kAckWaitMs && !stopping; waited += po.MaxWait) {
      if (js_PublishAsyncComplete(js, &po) == NATS_OK) return;
    }
    natsMsgList left{};
    if (js_PublishAsyncGetPendingList(&left, js) == NATS_OK) natsMsgList_Destroy(&left);
  }

  // The acked prefix of the window leaves the outbox; what is left is
  // tried again (its acked events are not sent twice).
  void settle(const Window& w, std::size_t done) {
    const std::size_t total = w.events.size();
    if (done > 0) {
      const std::uint64_t upto = done == total ? w.last_seq : w.events[done].seq - 1;
      published_counter().inc(done);
      cursor = upto;
      save_cursor();
    }
    std::lock_guard lock(mutex);
    for (std::size_t i = 0; i < done; ++i) {
      if (w.events[i].route) acked.erase(w.events[i].route->event_id);
    }
    if (done < total) publish_errors_counter().inc(total - done);
  }

  void sleep(Clock::duration d) {
    idle = true;
    std::unique_lock lock(mutex);
    wake.wait_for(lock, d, [&] { return poked || stopping.load(); });
    poked = false;
    idle = false;
  }

  // A new event wakes the publisher if it waits for one (a busy publisher
  // costs the emitters nothing).
  void poke_if_idle() {
    if (idle.load(std::memory_order_relaxed)) poke();
  }

  void poke() {
    {
      std::lock_guard lock(mutex);
      poked = true;
    }
    wake.notify_one();
  }

  void run() {
    unsigned failures = 0;
    bool said_failure = false;
    while (!stopping) {
      if (!connected) {
        sleep(kIdleWait);
        continue;
      }
      try {
        if (stream.empty()) find_stream();
      } catch (const std::exception& e) {
        spdlog::error("nats: {}", e.what());
        sleep(backoff(failures++));
        continue;
      }
      Window w = collect();
      if (w.events.empty()) {
        save_cursor_if_passed(w);
        sleep(w.at_hole ? Clock::duration(kHoleLook) : Clock::duration(kIdleWait));
        continue;
      }
      const std::size_t done = publish(w.events);
      settle(w, done);
      if (done == w.events.size()) {
        if (said_failure) spdlog::info("nats: events are published again");
        failures = 0;
        said_failure = false;
        continue;
      }
      std::string why;
      {
        std::lock_guard lock(mutex);
        why = last_error.empty() ? "no ack in time" : last_error;
        if (no_stream) stream.clear();  // deleted meanwhile: found or made again
        no_stream = false;
      }
      if (!said_failure && connected) {
        spdlog::warn("nats: {} event(s) not acked by JetStream ({}); tried again", w.events.size() - done, why);
        said_failure = true;
      }
      sleep(backoff(failures++));
    }
  }

  // A window that held only holes passed over moves the cursor too.
  void save_cursor_if_passed(const Window& w) {
    if (w.last_seq > cursor) {
      cursor = w.last_seq;
      save_cursor();
    } else {
      outbox.passed(reader, cursor);  // what the last windows left
      pending_gauge().set(static_cast<double>(outbox.last_seq() > cursor ? outbox.last_seq() - cursor : 0));
    }
  }

  static Clock::duration backoff(unsigned failures) {
    return std::min<Clock::duration>(std::chrono::milliseconds(250LL << std::min(failures, 6u)), kMaxBackoff);
  }
};

EventPublisher::EventPublisher(PublisherOptions options, events::Outbox& outbox, unsigned reader, spool::Spool& spool)
    : impl_(std::make_unique<Impl>(std::move(options), outbox, reader, spool)) {
  register_nats_metrics();
  impl_->load_cursor();
  impl_->connect();
  Impl* impl = impl_.get();
  impl_->subscription = events::bus().subscribe([impl](const events::Event&) { impl->poke_if_idle(); });
  impl_->thread = std::thread([impl] { impl->run(); });
}

EventPublisher::~EventPublisher() { stop(); }

void EventPublisher::stop() {
  if (impl_->stopping.exchange(true)) return;
  events::bus().unsubscribe(impl_->subscription);
  impl_->poke();
  if (impl_->thread.joinable()) impl_->thread.join();
  jsCtx_Destroy(impl_->js);
  natsConnection_Close(impl_->connection);
  natsConnection_Destroy(impl_->connection);
  impl_->js = nullptr;
  impl_->connection = nullptr;
}

}  // namespace petrel::nats
