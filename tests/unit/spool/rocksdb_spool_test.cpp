#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "sample_message.hpp"
#include "spool/spool.hpp"
#include "temp_dir.hpp"

namespace petrel::spool {
namespace {

using testing::sample_message;
using testing::TempDir;

std::unique_ptr<Spool> open_spool(const TempDir& dir) {
  return open_rocksdb_spool({.directory = dir / "spool"});
}

// Stores and waits for the acknowledgement.
std::error_code store_and_wait(Spool& spool, std::shared_ptr<const SpooledMessage> m) {
  std::promise<std::error_code> stored;
  spool.store(std::move(m), [&](std::error_code ec) { stored.set_value(ec); });
  return stored.get_future().get();
}

std::map<std::string, std::shared_ptr<SpooledMessage>> by_id(
    const std::vector<std::shared_ptr<SpooledMessage>>& messages) {
  std::map<std::string, std::shared_ptr<SpooledMessage>> out;
  for (const auto& m : messages) out[m->id.value] = m;
  return out;
}

TEST(RocksDbSpool, stored_message_survives_reopen) {
  TempDir dir;
  auto original = sample_message("Subject: one\r\n\r\nbody\x01\x00\xff\r\n");
  original->content += std::string("\0binary", 7);
  {
    auto spool = open_spool(dir);
    ASSERT_FALSE(store_and_wait(*spool, original));
    EXPECT_EQ(spool->size(), 1u);
  }
  auto spool = open_spool(dir);
  EXPECT_EQ(spool->size(), 1u);
  const auto loaded = spool->load_all();
  ASSERT_EQ(loaded.size(), 1u);
  const SpooledMessage& m = *loaded[0];
  EXPECT_EQ(m.id, original->id);
  EXPECT_EQ(m.content, original->content);
  EXPECT_EQ(m.arrival_unix_seconds, original->arrival_unix_seconds);
  EXPECT_EQ(m.envelope.reverse_path.mailbox, original->envelope.reverse_path.mailbox);
  ASSERT_EQ(m.envelope.recipients.size(), 2u);
  EXPECT_EQ(m.envelope.recipients[0].orcpt, "rfc822;alice@example.org");
  EXPECT_EQ(m.envelope.helo_name, "client.example.net");
}

TEST(RocksDbSpool, large_message_round_trips) {
  TempDir dir;
  std::string big(20u << 20, 'x');
  for (std::size_t i = 0; i < big.size(); i += 997) big[i] = static_cast<char>(i & 0xff);
  auto original = sample_message(big);
  {
    auto spool = open_spool(dir);
    ASSERT_FALSE(store_and_wait(*spool, original));
  }
  auto loaded = open_spool(dir)->load_all();
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_TRUE(loaded[0]->content == big);
}

TEST(RocksDbSpool, concurrent_stores_are_each_acknowledged_once_and_kept) {
  TempDir dir;
  constexpr int threads = 8;
  constexpr int per_thread = 200;
  std::mutex mutex;
  std::map<std::string, int> acknowledgements;
  std::set<std::string> sent;
  std::atomic<int> failures{0};
  {
    auto spool = open_spool(dir);
    std::vector<std::thread> clients;
    for (int t = 0; t < threads; ++t) {
      clients.emplace_back([&] {
        for (int i = 0; i < per_thread; ++i) {
          auto m = sample_message("message " + std::to_string(i) + "\r\n");
          {
            std::lock_guard lock(mutex);
            sent.insert(m->id.value);
          }
          const std::string id = m->id.value;
          auto acked = std::make_shared<std::promise<void>>();
          auto acked_future = acked->get_future();
          spool->store(m, [&, id, acked](std::error_code ec) {
            if (ec) ++failures;
            {
              std::lock_guard lock(mutex);
              ++acknowledgements[id];
            }
            acked->set_value();
          });
          // Half the clients wait like a session does; the others pile up.
          if (i % 2 == 0) acked_future.wait();
        }
      });
    }
    for (auto& c : clients) c.join();
  }  // the destructor drains what is still queued
  EXPECT_EQ(failures.load(), 0);
  ASSERT_EQ(acknowledgements.size(), static_cast<std::size_t>(threads * per_thread));
  for (const auto& [id, count] : acknowledgements) EXPECT_EQ(count, 1) << id;

  auto spool = open_spool(dir);
  EXPECT_EQ(spool->size(), sent.size());
  const auto loaded = by_id(spool->load_all());
  ASSERT_EQ(loaded.size(), sent.size());
  for (const auto& id : sent) EXPECT_TRUE(loaded.count(id)) << id;
}

TEST(RocksDbSpool, destructor_acknowledges_pending_stores) {
  TempDir dir;
  std::atomic<int> acknowledged{0};
  {
    auto spool = open_spool(dir);
    for (int i = 0; i < 100; ++i) {
      spool->store(sample_message(), [&](std::error_code ec) {
        EXPECT_FALSE(ec);
        ++acknowledged;
      });
    }
  }
  EXPECT_EQ(acknowledged.load(), 100);
  EXPECT_EQ(open_spool(dir)->load_all().size(), 100u);
}

TEST(RocksDbSpool, removed_messages_are_gone_after_reopen) {
  TempDir dir;
  auto keep = sample_message();
  auto drop1 = sample_message();
  auto drop2 = sample_message();
  {
    auto spool = open_spool(dir);
    for (const auto& m : {keep, drop1, drop2}) ASSERT_FALSE(store_and_wait(*spool, m));
    EXPECT_EQ(spool->size(), 3u);
    spool->remove({drop1->id, drop2->id, make_queue_id()});  // an unknown ID is ignored
    EXPECT_EQ(spool->size(), 1u);
    spool->remove({drop1->id});  // twice is harmless
    EXPECT_EQ(spool->size(), 1u);
  }
  auto spool = open_spool(dir);
  EXPECT_EQ(spool->size(), 1u);
  const auto loaded = spool->load_all();
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0]->id, keep->id);
}

TEST(RocksDbSpool, progress_is_kept_and_the_content_untouched) {
  TempDir dir;
  auto m = sample_message();
  ASSERT_GE(m->envelope.recipients.size(), 2u);
  {
    auto spool = open_spool(dir);
    ASSERT_FALSE(store_and_wait(*spool, m));
    SpooledMessage progress = *m;
    progress.content.clear();  // an envelope-only copy, as the queue keeps it
    progress.attempts = 3;
    progress.states = {SpooledMessage::RecipientState::delivered, SpooledMessage::RecipientState::failed};
    progress.next_attempt_unix_seconds = 1795400000;
    progress.last_error = "451 4.7.1 try later";
    spool->record_progress(progress, /*durable=*/true);
    SpooledMessage unknown = progress;
    unknown.id = make_queue_id();
    spool->record_progress(unknown, /*durable=*/false);  // unknown: nothing happens
    EXPECT_EQ(spool->size(), 1u);
  }
  const auto loaded = open_spool(dir)->load_all();
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0]->attempts, 3u);
  EXPECT_EQ(loaded[0]->state(0), SpooledMessage::RecipientState::delivered);
  EXPECT_EQ(loaded[0]->state(1), SpooledMessage::RecipientState::failed);
  EXPECT_EQ(loaded[0]->next_attempt_unix_seconds, 1795400000);
  EXPECT_EQ(loaded[0]->last_error, "451 4.7.1 try later");
  EXPECT_EQ(loaded[0]->content, m->content);
}

TEST(RocksDbSpool, open_failure_names_the_path) {
  TempDir dir;
  std::ofstream(dir / "file") << "not a directory";
  const std::string path = dir / "file/spool";
  try {
    open_rocksdb_spool({.directory = path});
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(RocksDbSpool, missing_parent_directories_are_created) {
  TempDir dir;
  auto spool = open_rocksdb_spool({.directory = dir / "var/spool/petrel"});
  EXPECT_EQ(spool->size(), 0u);
  EXPECT_TRUE(spool->load_all().empty());
}

TEST(RocksDbSpool, second_open_of_the_same_directory_fails) {
  TempDir dir;
  auto first = open_spool(dir);
  EXPECT_THROW(open_spool(dir), std::runtime_error);
}

}  // namespace
}  // namespace petrel::spool

namespace petrel::spool {
namespace {

TEST(RocksDbSpoolLoad, envelopes_only_leaves_the_content_for_load_content) {
  TempDir dir;
  auto spool = open_rocksdb_spool({.directory = dir.path() + "/spool"});
  auto m = sample_message("Subject: kept\r\n\r\nbody\r\n");
  std::promise<std::error_code> done;
  spool->store(m, [&](std::error_code ec) { done.set_value(ec); });
  ASSERT_FALSE(done.get_future().get());
  const auto loaded = spool->load_all(Spool::Load::envelopes_only);
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_TRUE(loaded[0]->content.empty());
  EXPECT_EQ(loaded[0]->envelope.recipients.size(), m->envelope.recipients.size());
  EXPECT_EQ(spool->load_content(m->id), m->content);
  spool->remove({m->id});
  EXPECT_EQ(spool->load_content(m->id), std::nullopt);
}

}  // namespace
}  // namespace petrel::spool

namespace petrel::spool {
namespace {

std::error_code group_and_wait(Spool& spool, std::vector<std::shared_ptr<const SpooledMessage>> messages,
                               std::vector<Spool::Record> records) {
  std::promise<std::error_code> stored;
  spool.store_group(std::move(messages), std::move(records), [&](std::error_code ec) { stored.set_value(ec); });
  return stored.get_future().get();
}

TEST(RocksDbSpoolRecords, a_group_stores_messages_and_records_together_and_both_survive_reopen) {
  TempDir dir;
  auto a = sample_message("Subject: a\r\n\r\na\r\n");
  auto b = sample_message("Subject: b\r\n\r\nb\r\n");
  {
    auto spool = open_spool(dir);
    ASSERT_FALSE(group_and_wait(*spool, {a, b}, {{"i/key1", "reply"}, {"s/t/x@y.test", "unsubscribe"}}));
    EXPECT_EQ(spool->size(), 2u);
  }
  auto spool = open_spool(dir);
  EXPECT_EQ(spool->size(), 2u);  // records are not messages
  std::string value;
  std::error_code ec;
  ASSERT_TRUE(spool->read_record("i/key1", value, ec));
  EXPECT_EQ(value, "reply");
  EXPECT_FALSE(spool->read_record("i/nope", value, ec));
  EXPECT_FALSE(ec);
  EXPECT_EQ(spool->load_all().size(), 2u);
}

TEST(RocksDbSpoolRecords, scans_by_prefix_in_key_order_from_a_key_and_deletes) {
  TempDir dir;
  auto spool = open_spool(dir);
  ASSERT_FALSE(group_and_wait(*spool, {}, {{"s/t1/b", "2"}, {"s/t1/a", "1"}, {"s/t2/c", "3"}, {"s/t1/c", "4"}}));
  std::vector<std::string> keys;
  const auto collect = [&](std::string_view key, std::string_view) {
    keys.emplace_back(key);
    return true;
  };
  ASSERT_FALSE(spool->scan_records("s/t1/", "", collect));
  EXPECT_EQ(keys, (std::vector<std::string>{"s/t1/a", "s/t1/b", "s/t1/c"}));
  keys.clear();
  ASSERT_FALSE(spool->scan_records("s/t1/", "s/t1/a", collect));
  EXPECT_EQ(keys, (std::vector<std::string>{"s/t1/b", "s/t1/c"}));
  ASSERT_FALSE(group_and_wait(*spool, {}, {{"s/t1/b", std::nullopt}}));
  keys.clear();
  ASSERT_FALSE(spool->scan_records("s/", "", collect));
  EXPECT_EQ(keys, (std::vector<std::string>{"s/t1/a", "s/t1/c", "s/t2/c"}));
  EXPECT_EQ(spool->size(), 0u);
  EXPECT_EQ(spool->load_all().size(), 0u);  // records are not envelopes
}

}  // namespace
}  // namespace petrel::spool
