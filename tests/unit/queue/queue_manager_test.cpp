#include "queue/queue_manager.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "../spool/sample_message.hpp"
#include "../spool/temp_dir.hpp"
#include "delivery/maildir.hpp"

namespace petrel::queue {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::recipient;
using testing::TempDir;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

// The spool's sample, without its NOTIFY=SUCCESS (which would queue a
// success report for every delivery; tested on its own).
template <typename... Args>
std::shared_ptr<spool::SpooledMessage> sample_message(Args&&... args) {
  auto m = testing::sample_message(std::forward<Args>(args)...);
  for (auto& r : m->envelope.recipients) r.notify = smtp::notify_unspecified;
  return m;
}

// Polls until done() holds or the deadline passes.
template <typename Condition>
bool eventually(Condition done, std::chrono::milliseconds deadline = 10s) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

class QueueManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    spool_ = spool::open_rocksdb_spool({.directory = dir_ / "spool"});
  }
  void TearDown() override { spdlog::set_level(spdlog::level::info); }

  QueueOptions options(std::vector<std::chrono::milliseconds> retry = {1h}) {
    QueueOptions o;
    o.routing = {.local_domains = {"example.org"}, .maildir_root = dir_ / "mail", .recipient_delimiter = "+"};
    o.hostname = "mx.test";
    o.retry_intervals = std::move(retry);
    o.max_queue_lifetime = std::chrono::hours(24 * 365 * 100);  // the sample messages are from 2023
    o.delay_warning = 0ms;
    return o;
  }

  std::shared_ptr<spool::SpooledMessage> stored(std::shared_ptr<spool::SpooledMessage> m) {
    std::promise<std::error_code> done;
    spool_->store(m, [&](std::error_code ec) { done.set_value(ec); });
    EXPECT_FALSE(done.get_future().get());
    return m;
  }

  std::string delivered_path(const spool::SpooledMessage& m, std::size_t rcpt, const std::string& user) {
    return dir_ / ("mail/example.org/" + user + "/new/" +
                   delivery::unique_name(m.arrival_unix_seconds, m.id.value, rcpt, "mx.test"));
  }

  // The attempt count the spool holds for m (0 when it is not there).
  std::uint32_t attempts_of(const spool::SpooledMessage& m) {
    for (const auto& stored : spool_->load_all()) {
      if (stored->id == m.id) return stored->attempts;
    }
    return 0;
  }

  TempDir dir_;
  std::unique_ptr<spool::Spool> spool_;
};

TEST_F(QueueManagerTest, submitted_messages_reach_their_maildirs_and_leave_the_spool) {
  QueueManager manager(*spool_, options());
  manager.start();
  std::vector<std::shared_ptr<spool::SpooledMessage>> messages;
  for (int i = 0; i < 50; ++i) {
    messages.push_back(stored(sample_message("Subject: " + std::to_string(i) + "\r\n\r\nbody\r\n")));
    manager.submit(messages.back());
  }
  ASSERT_TRUE(eventually([&] { return spool_->size() == 0 && manager.pending() == 0; }));
  for (const auto& m : messages) {
    EXPECT_EQ(read_file(delivered_path(*m, 0, "alice")),
              "Return-Path: <sender@example.net>\r\nDelivered-To: alice@example.org\r\n" + m->content);
    EXPECT_EQ(read_file(delivered_path(*m, 1, "bob")),
              "Return-Path: <sender@example.net>\r\nDelivered-To: bob@example.org\r\n" + m->content);
  }
}

TEST_F(QueueManagerTest, a_backlog_over_the_memory_cap_is_read_back_from_the_spool) {
  QueueOptions o = options();
  o.max_content_in_memory = 0;  // every content stays in the spool until its turn
  QueueManager manager(*spool_, o);
  manager.start();
  std::vector<std::shared_ptr<spool::SpooledMessage>> messages;
  for (int i = 0; i < 20; ++i) {
    messages.push_back(stored(sample_message("Subject: " + std::to_string(i) + "\r\n\r\nbody\r\n")));
    manager.submit(messages.back());
  }
  ASSERT_TRUE(eventually([&] { return spool_->size() == 0 && manager.pending() == 0; }));
  for (const auto& m : messages) {
    EXPECT_EQ(read_file(delivered_path(*m, 0, "alice")),
              "Return-Path: <sender@example.net>\r\nDelivered-To: alice@example.org\r\n" + m->content);
  }
}

TEST_F(QueueManagerTest, messages_in_the_spool_at_start_are_delivered) {
  auto m1 = stored(sample_message());
  auto m2 = stored(sample_message());
  QueueManager manager(*spool_, options());
  manager.start();
  ASSERT_TRUE(eventually([&] { return spool_->size() == 0; }));
  EXPECT_TRUE(fs::exists(delivered_path(*m1, 0, "alice")));
  EXPECT_TRUE(fs::exists(delivered_path(*m2, 1, "bob")));
  EXPECT_TRUE(eventually([&] { return manager.pending() == 0; }));
}

TEST_F(QueueManagerTest, null_sender_and_bare_postmaster_headers) {
  auto m = sample_message();
  m->envelope.reverse_path.mailbox.reset();
  m->envelope.recipients = {recipient("Postmaster", ""), recipient("Alice+list", "EXAMPLE.org")};
  QueueManager manager(*spool_, options());
  manager.start();
  manager.submit(stored(m));
  ASSERT_TRUE(eventually([&] { return spool_->size() == 0; }));
  EXPECT_EQ(read_file(delivered_path(*m, 0, "postmaster")),
            "Return-Path: <>\r\nDelivered-To: Postmaster@example.org\r\n" + m->content);
  EXPECT_EQ(read_file(delivered_path(*m, 1, "alice")),
            "Return-Path: <>\r\nDelivered-To: Alice+list@EXAMPLE.org\r\n" + m->content);
}

TEST_F(QueueManagerTest, failed_delivery_is_retried_and_then_completes) {
  // A regular file where bob's mailbox directory should be: ENOTDIR.
  fs::create_directories(dir_ / "mail/example.org");
  std::ofstream(dir_ / "mail/example.org/bob") << "in the way";
  QueueManager manager(*spool_, options({50ms}));
  manager.start();
  auto m = stored(sample_message());
  manager.submit(m);
  ASSERT_TRUE(eventually([&] { return fs::exists(delivered_path(*m, 0, "alice")); }));
  // alice got hers; bob's is waiting; the spool keeps the message.
  ASSERT_TRUE(eventually([&] { return attempts_of(*m) >= 2; }));
  EXPECT_EQ(spool_->size(), 1u);
  EXPECT_EQ(manager.pending(), 1u);

  fs::remove(dir_ / "mail/example.org/bob");
  ASSERT_TRUE(eventually([&] { return spool_->size() == 0 && manager.pending() == 0; }));
  EXPECT_TRUE(fs::exists(delivered_path(*m, 1, "bob")));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ / "mail/example.org/alice/new"),
                          fs::directory_iterator()),
            1);
}

TEST_F(QueueManagerTest, non_local_recipient_stays_in_the_spool_without_busy_retries) {
  auto m = sample_message();
  m->envelope.recipients = {recipient("carol", "elsewhere.example"), recipient("alice", "example.org")};
  QueueManager manager(*spool_, options({1h}));
  manager.start();
  manager.submit(stored(m));
  ASSERT_TRUE(eventually([&] { return attempts_of(*m) == 1; }));
  EXPECT_TRUE(fs::exists(delivered_path(*m, 1, "alice")));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(spool_->size(), 1u);
  EXPECT_EQ(manager.pending(), 1u);
  EXPECT_EQ(attempts_of(*m), 1u);  // one attempt, then the normal schedule
}

TEST_F(QueueManagerTest, stop_does_not_wait_for_a_pending_retry) {
  auto m = sample_message();
  m->envelope.recipients = {recipient("carol", "elsewhere.example")};
  QueueManager manager(*spool_, options({1h}));
  manager.start();
  manager.submit(stored(m));
  ASSERT_TRUE(eventually([&] { return attempts_of(*m) == 1; }));
  const auto before = std::chrono::steady_clock::now();
  manager.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 1s);
  EXPECT_EQ(spool_->size(), 1u);  // undelivered messages stay in the spool
}

TEST_F(QueueManagerTest, an_expired_message_is_bounced_to_its_sender_and_removed) {
  auto m = sample_message();  // arrived in 2023
  m->envelope.recipients = {recipient("carol", "elsewhere.example"), recipient("alice", "example.org")};
  auto o = options({1h});
  o.max_queue_lifetime = std::chrono::hours(24 * 5);
  QueueManager manager(*spool_, o);
  manager.start();
  manager.submit(stored(m));
  // alice's copy is delivered, carol's expires; the bounce goes to the
  // sender (sender@example.net, not local: it waits as the only message).
  std::vector<std::shared_ptr<spool::SpooledMessage>> left;
  ASSERT_TRUE(eventually([&] {
    left = spool_->load_all();
    return left.size() == 1 && left[0]->id.value != m->id.value;
  }));
  EXPECT_TRUE(fs::exists(delivered_path(*m, 1, "alice")));
  EXPECT_TRUE(left[0]->envelope.reverse_path.is_null());
  ASSERT_EQ(left[0]->envelope.recipients.size(), 1u);
  EXPECT_EQ(left[0]->envelope.recipients[0].forward_path.str(), m->envelope.reverse_path.mailbox->str());
  EXPECT_NE(left[0]->content.find("report-type=delivery-status"), std::string::npos);
  EXPECT_NE(left[0]->content.find("Status: 4.4.7"), std::string::npos);
  EXPECT_NE(left[0]->content.find("carol@elsewhere.example"), std::string::npos);
}

TEST_F(QueueManagerTest, a_bounce_that_fails_is_never_bounced) {
  auto m = sample_message();
  m->envelope.reverse_path = smtp::Path{};  // <>: it is a bounce itself
  m->envelope.recipients = {recipient("carol", "elsewhere.example")};
  auto o = options({1h});
  o.max_queue_lifetime = std::chrono::hours(1);
  QueueManager manager(*spool_, o);
  manager.start();
  manager.submit(stored(m));
  ASSERT_TRUE(eventually([&] { return manager.pending() == 0 && spool_->size() == 0; }));
}

TEST_F(QueueManagerTest, notify_success_queues_a_success_report_to_the_sender) {
  auto m = sample_message();
  m->envelope.recipients = {recipient("alice", "example.org")};
  m->envelope.recipients[0].notify = smtp::notify_success;
  m->envelope.reverse_path.mailbox = smtp::Address{"bob", "example.org"};
  QueueManager manager(*spool_, options());
  manager.start();
  manager.submit(stored(m));
  ASSERT_TRUE(eventually([&] { return fs::exists(dir_ / "mail/example.org/bob/new") && spool_->size() == 0; }));
  const auto reports = fs::directory_iterator(dir_ / "mail/example.org/bob/new");
  const std::string report = read_file(reports->path());
  EXPECT_NE(report.find("Action: delivered"), std::string::npos);
  EXPECT_NE(report.find("Final-Recipient: rfc822; alice@example.org"), std::string::npos);
}

TEST_F(QueueManagerTest, a_delayed_message_warns_its_sender_once) {
  auto m = sample_message();  // arrived in 2023: long past any delay_warning
  m->envelope.recipients = {recipient("carol", "elsewhere.example")};
  m->envelope.reverse_path.mailbox = smtp::Address{"bob", "example.org"};
  auto o = options({20ms});
  o.delay_warning = 1h;
  QueueManager manager(*spool_, o);
  manager.start();
  manager.submit(stored(m));
  ASSERT_TRUE(eventually([&] { return attempts_of(*m) >= 3; }));  // retried, and warned only once
  ASSERT_TRUE(eventually([&] { return fs::exists(dir_ / "mail/example.org/bob/new"); }));
  const auto count = std::distance(fs::directory_iterator(dir_ / "mail/example.org/bob/new"), fs::directory_iterator());
  EXPECT_EQ(count, 1);
  const std::string report = read_file(fs::directory_iterator(dir_ / "mail/example.org/bob/new")->path());
  EXPECT_NE(report.find("Action: delayed"), std::string::npos);
  EXPECT_NE(report.find("Will-Retry-Until:"), std::string::npos);
  const auto left = spool_->load_all();
  ASSERT_FALSE(left.empty());
  EXPECT_TRUE(left.front()->delay_warned);
}

TEST_F(QueueManagerTest, a_message_both_recovered_and_submitted_counts_once) {
  auto m = stored(sample_message());
  QueueManager manager(*spool_, options());
  manager.submit(m);  // before start: queued, then found again by recovery
  EXPECT_EQ(manager.pending(), 1u);
  manager.start();
  EXPECT_TRUE(eventually([&] { return manager.pending() == 0 && spool_->size() == 0; }));
}

}  // namespace
}  // namespace petrel::queue
