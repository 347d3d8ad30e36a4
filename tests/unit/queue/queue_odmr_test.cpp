// ATRN's claims (RFC 2645) come from the queue's ODMR index: a claim reads
// the envelopes of its own domains' messages and never scans the spool,
// however much else waits in it.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <thread>

#include "../spool/sample_message.hpp"
#include "../spool/temp_dir.hpp"
#include "queue/queue_manager.hpp"

namespace petrel::queue {
namespace {

using namespace std::chrono_literals;
using testing::recipient;
using testing::TempDir;

template <typename Condition>
bool eventually(Condition done, std::chrono::milliseconds deadline = 10s) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// The RocksDB spool, counting the reads a claim could make.
class CountingSpool : public spool::Spool {
 public:
  explicit CountingSpool(std::unique_ptr<spool::Spool> inner) : inner_(std::move(inner)) {}

  std::atomic<int> scans{0};
  std::atomic<int> envelope_reads{0};

  void store(std::shared_ptr<const spool::SpooledMessage> m, StoreDone done) override {
    inner_->store(std::move(m), std::move(done));
  }
  std::vector<std::shared_ptr<spool::SpooledMessage>> load_all(Load what) override { return inner_->load_all(what); }
  std::optional<std::string> load_content(const spool::QueueId& id) override { return inner_->load_content(id); }
  std::optional<std::string> read_content(const spool::QueueId& id, std::error_code& ec) override {
    return inner_->read_content(id, ec);
  }
  std::optional<std::string> read_head(const spool::QueueId& id, std::error_code& ec) override {
    return inner_->read_head(id, ec);
  }
  std::string tail_path(const spool::QueueId& id) const override { return inner_->tail_path(id); }
  std::string spill_directory() const override { return inner_->spill_directory(); }
  bool read_envelope(const spool::QueueId& id, spool::SpooledMessage& out, std::error_code& ec) override {
    ++envelope_reads;
    return inner_->read_envelope(id, out, ec);
  }
  std::error_code scan_envelopes(std::string_view after, const Visit& visit) override {
    ++scans;
    return inner_->scan_envelopes(after, visit);
  }
  std::error_code record_progress(const spool::SpooledMessage& p, bool durable,
                                  const std::vector<Record>& records) override {
    return inner_->record_progress(p, durable, records);
  }
  std::error_code remove(const std::vector<spool::QueueId>& ids, const std::vector<Record>& records) override {
    return inner_->remove(ids, records);
  }
  std::size_t size() const override { return inner_->size(); }
  bool short_of_space() const override { return inner_->short_of_space(); }
  void store_group(std::vector<std::shared_ptr<const spool::SpooledMessage>> messages, std::vector<Record> records,
                   StoreDone done) override {
    inner_->store_group(std::move(messages), std::move(records), std::move(done));
  }
  std::error_code write_records(const std::vector<Record>& records) override { return inner_->write_records(records); }
  bool read_record(std::string_view key, std::string& value, std::error_code& ec) override {
    return inner_->read_record(key, value, ec);
  }
  std::error_code scan_records(std::string_view prefix, std::string_view after, const VisitRecord& visit) override {
    return inner_->scan_records(prefix, after, visit);
  }

 private:
  std::unique_ptr<spool::Spool> inner_;
};

class QueueOdmrTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    spool_ = std::make_unique<CountingSpool>(spool::open_rocksdb_spool({.directory = dir_ / "spool"}));
  }
  void TearDown() override { spdlog::set_level(spdlog::level::info); }

  QueueOptions options() {
    QueueOptions o;
    o.routing = {.local_domains = {"example.org"}, .maildir_root = dir_ / "mail", .recipient_delimiter = "+"};
    o.hostname = "mx.test";
    o.retry_intervals = {1h};
    o.max_queue_lifetime = std::chrono::hours(24 * 365 * 100);  // the sample messages are from 2023
    o.delay_warning = 0ms;
    delivery::Route odmr;
    odmr.kind = delivery::Route::Kind::odmr;
    o.routes.transports["fetch.test"] = odmr;
    o.routes.transports["other.test"] = odmr;
    return o;
  }

  std::shared_ptr<spool::SpooledMessage> stored(const std::string& user, const std::string& domain) {
    auto m = testing::sample_message();
    m->envelope.recipients = {recipient(user, domain)};
    std::promise<std::error_code> done;
    spool_->store(m, [&](std::error_code ec) { done.set_value(ec); });
    EXPECT_FALSE(done.get_future().get());
    return m;
  }

  // `n` messages for `domain`, submitted to a running manager.
  std::vector<std::string> submit(QueueManager& manager, int n, const std::string& domain) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      auto m = stored("user" + std::to_string(i), domain);
      manager.submit(m);
      ids.push_back(m->id.value);
    }
    return ids;
  }

  // Every message has had its first look (ODMR mail held, the rest with
  // no transport) and waits in the schedule.
  static bool settled(const QueueManager& manager, std::size_t messages) {
    const auto s = manager.stats();
    return s.active == 0 && s.scheduled + s.held >= messages;
  }

  static std::vector<std::string> ids_of(const std::vector<OdmrClaim>& claims) {
    std::vector<std::string> out;
    for (const auto& c : claims) out.push_back(c.message->id.value);
    std::sort(out.begin(), out.end());
    return out;
  }

  static JobResult delivered(const OdmrClaim& claim) {
    JobResult r;
    r.endpoint = "odmr:test";
    r.site = "odmr";
    for (std::size_t rcpt : claim.recipients) {
      r.outcomes.push_back({rcpt, smtp::DeliveryOutcome::delivered, "250 2.0.0 kept", "2.0.0", "customer.test"});
    }
    return r;
  }

  TempDir dir_;
  std::unique_ptr<CountingSpool> spool_;
};

TEST_F(QueueOdmrTest, a_claim_reads_its_domains_messages_and_never_scans_the_spool) {
  QueueManager manager(*spool_, options());
  manager.start();
  submit(manager, 200, "elsewhere.example");  // no transport: they wait
  auto fetched = submit(manager, 3, "fetch.test");
  submit(manager, 2, "other.test");
  std::sort(fetched.begin(), fetched.end());
  ASSERT_TRUE(eventually([&] { return settled(manager, 205); }));
  spool_->scans = 0;
  spool_->envelope_reads = 0;
  const auto claims = manager.claim_odmr({"fetch.test"}, 10);
  EXPECT_EQ(ids_of(claims), fetched);
  EXPECT_EQ(spool_->scans, 0);
  EXPECT_EQ(spool_->envelope_reads, 3);  // one each, under the claim
  for (const auto& c : claims) EXPECT_EQ(c.recipients, std::vector<std::size_t>{0});
  manager.stop();
}

TEST_F(QueueOdmrTest, claimed_mail_is_not_claimed_again_and_delivered_mail_leaves_the_index) {
  QueueManager manager(*spool_, options());
  manager.start();
  submit(manager, 3, "fetch.test");
  ASSERT_TRUE(eventually([&] { return settled(manager, 3); }));
  const auto first = manager.claim_odmr({"fetch.test"}, 2);
  ASSERT_EQ(first.size(), 2u);
  const auto second = manager.claim_odmr({"fetch.test"}, 10);  // another session meanwhile
  ASSERT_EQ(second.size(), 1u);
  for (const auto* claims : {&first, &second}) {
    for (const auto& c : *claims) manager.odmr_done(c.message->id.value, delivered(c));
  }
  ASSERT_TRUE(eventually([&] { return spool_->size() == 0 && manager.pending() == 0; }));
  spool_->envelope_reads = 0;
  EXPECT_TRUE(manager.claim_odmr({"fetch.test"}, 10).empty());
  EXPECT_EQ(spool_->envelope_reads, 0);  // nothing left to read
  manager.stop();
}

TEST_F(QueueOdmrTest, mail_put_off_by_the_client_is_not_offered_again_to_that_session) {
  QueueManager manager(*spool_, options());
  manager.start();
  submit(manager, 2, "fetch.test");
  ASSERT_TRUE(eventually([&] { return settled(manager, 2); }));
  const auto first = manager.claim_odmr({"fetch.test"}, 1);
  ASSERT_EQ(first.size(), 1u);
  const std::string put_off = first[0].message->id.value;
  JobResult later = delivered(first[0]);
  for (auto& o : later.outcomes) {
    o.outcome = smtp::DeliveryOutcome::deferred;
    o.reply = "451 4.3.0 not now";
  }
  manager.odmr_done(put_off, later);
  // Back in the index, but this session has had it: it gets the other one only.
  const std::set<std::string> tried{put_off};
  std::vector<OdmrClaim> next;
  ASSERT_TRUE(eventually([&] {
    next = manager.claim_odmr({"fetch.test"}, 10, tried);
    return !next.empty();
  }));
  ASSERT_EQ(next.size(), 1u);
  EXPECT_NE(next[0].message->id.value, put_off);
  manager.odmr_done(next[0].message->id.value, delivered(next[0]));
  // Another session may have it again.
  EXPECT_TRUE(eventually([&] { return ids_of(manager.claim_odmr({"fetch.test"}, 10)) == std::vector<std::string>{put_off}; }));
  manager.stop();
}

TEST_F(QueueOdmrTest, the_index_is_rebuilt_from_the_spool_at_start) {
  std::vector<std::string> other;
  {
    QueueManager manager(*spool_, options());
    manager.start();
    submit(manager, 2, "fetch.test");
    other = submit(manager, 2, "other.test");
    ASSERT_TRUE(eventually([&] { return settled(manager, 4); }));
    manager.stop();
  }
  std::sort(other.begin(), other.end());
  QueueManager manager(*spool_, options());
  manager.start();
  ASSERT_TRUE(eventually([&] { return settled(manager, 4); }));
  EXPECT_EQ(ids_of(manager.claim_odmr({"other.test"}, 10)), other);
  manager.stop();
}

TEST_F(QueueOdmrTest, an_operators_hold_keeps_a_message_from_atrn_until_released) {
  QueueManager manager(*spool_, options());
  manager.start();
  const auto ids = submit(manager, 2, "fetch.test");
  ASSERT_TRUE(eventually([&] { return settled(manager, 2); }));
  ASSERT_EQ(manager.hold(ids[0]), Outcome::done);
  spool_->envelope_reads = 0;
  EXPECT_EQ(ids_of(manager.claim_odmr({"fetch.test"}, 10)), std::vector<std::string>{ids[1]});
  EXPECT_EQ(spool_->envelope_reads, 1);  // the held one is not even read
  ASSERT_EQ(manager.release(ids[0]), Outcome::done);
  EXPECT_TRUE(eventually([&] { return manager.claim_odmr({"fetch.test"}, 10).size() == 1; }));
  manager.stop();
}

TEST_F(QueueOdmrTest, a_deleted_message_leaves_the_index) {
  QueueManager manager(*spool_, options());
  manager.start();
  const auto ids = submit(manager, 1, "fetch.test");
  ASSERT_TRUE(eventually([&] { return settled(manager, 1); }));
  ASSERT_EQ(manager.remove(ids[0]), Outcome::done);
  spool_->envelope_reads = 0;
  EXPECT_TRUE(manager.claim_odmr({"fetch.test"}, 10).empty());
  EXPECT_EQ(spool_->envelope_reads, 0);
  manager.stop();
}

}  // namespace
}  // namespace petrel::queue
