// Events (event.hpp, bus.hpp, event_log.hpp): the JSON line of each event,
// replies split into code, enhanced code and text, the bus, and the log
// file: whole lines, rotation by size, a torn tail cut off at open.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "events/bus.hpp"
#include "events/event.hpp"
#include "events/event_log.hpp"

namespace petrel::events {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<nlohmann::json> lines_of(const fs::path& p) {
  std::vector<nlohmann::json> out;
  std::istringstream in(read_file(p));
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("petrel-events-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

Event delivery() {
  Event e;
  e.type = Type::Delivery;
  e.event_id = "Q1.0.1";
  e.timestamp_ms = 1796612645678;  // 2026-12-07T03:04:05.678Z
  e.queue_id = "HOUGPB0ISL6UDJZ7";
  e.sender = "";
  e.recipient = "ann@example.org";
  e.site = "mx.example.org";
  e.domain = "example.org";
  e.response = parse_response("250 2.0.0 Ok: queued as X");
  e.attempt = 1;
  e.size = 1234;
  e.queue_time_ms = 42;
  return e;
}

TEST(Events, ADeliveryIsOneLineOfJsonWithItsFields) {
  const std::string line = to_json_line(delivery());
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["type"], "Delivery");
  EXPECT_EQ(j["event_id"], "Q1.0.1");
  EXPECT_EQ(j["timestamp"], "2026-12-07T03:04:05.678Z");
  EXPECT_EQ(j["sender"], "");  // the null sender is shown, not left out
  EXPECT_EQ(j["recipient"], "ann@example.org");
  EXPECT_EQ(j["response"]["code"], 250);
  EXPECT_EQ(j["response"]["enhanced_code"], "2.0.0");
  EXPECT_EQ(j["response"]["text"], "Ok: queued as X");
  EXPECT_EQ(j["attempt"], 1);
  EXPECT_EQ(j["size"], 1234);
  EXPECT_EQ(j["queue_time_ms"], 42);
  EXPECT_FALSE(j.contains("campaign"));  // empty fields are left out
  EXPECT_FALSE(j.contains("tls"));
}

TEST(Events, RepliesAreSplitIntoCodeEnhancedCodeAndText) {
  auto r = parse_response("550 5.1.1 <x@y>: no such user");
  EXPECT_EQ(r.code, 550);
  EXPECT_EQ(r.enhanced_code, "5.1.1");
  EXPECT_EQ(r.text, "<x@y>: no such user");
  r = parse_response("421 Service not available");
  EXPECT_EQ(r.code, 421);
  EXPECT_EQ(r.enhanced_code, "");
  EXPECT_EQ(r.text, "Service not available");
  r = parse_response("connection refused");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.text, "connection refused");
}

TEST(Events, TypesHaveTheirDocumentedNames) {
  for (auto t : {Type::Reception, Type::Delivery, Type::TransientFailure, Type::Bounce, Type::Expiration,
                 Type::Suppression, Type::Unsubscribe, Type::Complaint, Type::AdminAction}) {
    EXPECT_EQ(type_named(type_name(t)), t);
  }
  EXPECT_EQ(type_name(Type::TransientFailure), "TransientFailure");
  EXPECT_FALSE(type_named("Delivered").has_value());
}

TEST(Events, InvalidUtf8IsReplacedNotThrown) {
  Event e = delivery();
  e.response = parse_response("550 5.0.0 bad \xff\xfe bytes, good \xc3\xa9");
  const auto j = nlohmann::json::parse(to_json_line(e));
  EXPECT_EQ(j["response"]["text"], "bad \xef\xbf\xbd\xef\xbf\xbd bytes, good \xc3\xa9");
}

TEST(Events, OverlongFormsSurrogatesAndCodePointsPastTheLastAreReplaced) {
  Event e = delivery();
  e.detail = "\xed\xa0\x80|\xe0\x80\x80|\xf4\x90\x80\x80|\xe6\xff\xff|\xf0\x9f\x98\x80";
  const auto j = nlohmann::json::parse(to_json_line(e));  // nlohmann refuses any of them unreplaced
  const std::string d = j["detail"];
  EXPECT_EQ(d.substr(d.size() - 4), "\xf0\x9f\x98\x80");  // a well-formed 4-octet sequence stays
}

TEST(Events, OnlyCodesOfOneToFiveHundredsAreReplyCodes) {
  EXPECT_EQ(parse_response("007 license").code, 0);
  EXPECT_EQ(parse_response("007 license").text, "007 license");
  EXPECT_EQ(parse_response("599 x").code, 599);
}

TEST(Events, QuotesControlCharactersAndBackslashesAreEscaped) {
  Event e = delivery();
  e.detail = "a \"quote\", a \\ and a\nnewline\x01";
  const std::string line = to_json_line(e);
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // still one line
  EXPECT_EQ(nlohmann::json::parse(line)["detail"], e.detail);
}

TEST(Events, TheBusCallsEverySubscriberUntilUnsubscribed) {
  Bus bus;
  int a = 0, b = 0;
  const auto ha = bus.subscribe([&](const Event&) { ++a; });
  bus.subscribe([&](const Event&) { ++b; });
  bus.emit(delivery());
  bus.unsubscribe(ha);
  bus.emit(delivery());
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 2);
}

using EventLogTest = TempDir;

TEST_F(EventLogTest, EveryRecordedEventIsALineInTheFile) {
  const auto file = dir_ / "log" / "events.jsonl";  // its directory is made
  {
    EventLog log({.file = file.string()});
    for (int i = 0; i < 100; ++i) {
      Event e = delivery();
      e.event_id = "id" + std::to_string(i);
      log.record(e);
    }
  }  // the destructor writes what is queued
  const auto lines = lines_of(file);
  ASSERT_EQ(lines.size(), 100u);
  EXPECT_EQ(lines[0]["event_id"], "id0");
  EXPECT_EQ(lines[99]["event_id"], "id99");
}

TEST_F(EventLogTest, TheFileIsRotatedBySizeKeepingTheNewestOldOnes) {
  const auto file = dir_ / "events.jsonl";
  const std::size_t line = to_json_line(delivery()).size();
  EventLog log({.file = file.string(), .max_size = line * 10, .keep = 2});
  for (int i = 0; i < 45; ++i) {
    log.record(delivery());
    log.flush();  // one line per write, so rotation is exact
  }
  EXPECT_TRUE(fs::exists(file));
  EXPECT_TRUE(fs::exists(dir_ / "events.jsonl.1"));
  EXPECT_TRUE(fs::exists(dir_ / "events.jsonl.2"));
  EXPECT_FALSE(fs::exists(dir_ / "events.jsonl.3"));
  EXPECT_LE(fs::file_size(file), line * 10);
  EXPECT_EQ(lines_of(dir_ / "events.jsonl.1").size(), 10u);
  EXPECT_EQ(lines_of(file).size(), 5u);
}

TEST_F(EventLogTest, ATornLastLineIsCutOffWhenTheLogIsOpened) {
  const auto file = dir_ / "events.jsonl";
  const std::string whole = to_json_line(delivery());
  {
    std::ofstream out(file, std::ios::binary);
    out << whole << whole.substr(0, whole.size() / 2);  // a crash in the middle of a write
  }
  {
    EventLog log({.file = file.string()});
    log.record(delivery());
  }
  const auto lines = lines_of(file);  // every line parses
  EXPECT_EQ(lines.size(), 2u);
  EXPECT_EQ(cut_torn_tail(file.string()), 0u);
}

TEST_F(EventLogTest, AFileThatIsOneTornLineIsEmptied) {
  const auto file = dir_ / "events.jsonl";
  {
    std::ofstream out(file, std::ios::binary);
    out << "{\"type\":\"Deliv";
  }
  EXPECT_EQ(cut_torn_tail(file.string()), 14u);
  EXPECT_EQ(fs::file_size(file), 0u);
}

TEST_F(EventLogTest, AnUnwritableFileIsAnErrorNamingIt) {
  const auto file = dir_ / "events.jsonl";
  fs::create_directories(file);  // a directory where the file should be
  try {
    EventLog log({.file = file.string()});
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos);
  }
}

}  // namespace
}  // namespace petrel::events
