// The routes over a Maildir in a temporary directory: the list newest
// first with its verdicts, one message with its report card, the raw file,
// and ids that try to leave the Maildir.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "catch_web/api_json.hpp"
#include "catch_web/routes.hpp"
#include "catch_web/store.hpp"

namespace petrel::catchweb {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class RoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::remove_all(dir_);
    for (const char* sub : {"new", "cur", "tmp", "reports"}) fs::create_directories(dir_ / sub);
    write("new/100.P1M1R0.host", "Subject: first\r\nFrom: a@x.test\r\n\r\none\r\n");
    write("cur/200.P1M2R0.host:2,S", "Subject: second\r\nFrom: a@x.test\r\n\r\ntwo\r\n");
    write("new/300.P1M3R0.host", "Subject: third\r\n\r\nthree\r\n");
    // Arrival order by modification time, not by name.
    set_mtime("new/100.P1M1R0.host", 100);
    set_mtime("cur/200.P1M2R0.host:2,S", 200);
    set_mtime("new/300.P1M3R0.host", 300);
    write("reports/20261207T110000Z-1-1.json",
          json{{"client", "127.0.0.1:1"},
               {"verdict", "fail"},
               {"messages", json::array({json{{"from", "<a@x.test>"}, {"to", {"<b@y.test>"}}, {"file", nullptr}},
                                         json{{"from", "<a@x.test>"}, {"to", {"<b@y.test>"}}, {"file", "new/100.P1M1R0.host"}}})},
               {"findings", json::array({json{{"id", "bare-lf"}, {"level", "fail"}, {"text", "line 3"}, {"count", 2}},
                                         json{{"id", "pipelining-used"}, {"level", "info"}, {"text", "yes"}, {"count", 1}}})}}
              .dump());
    write("reports/20261207T110001Z-1-2.json.tmp", "{");  // not a report
    write("secret", "not a message");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& name, const std::string& content) { std::ofstream(dir_ / name, std::ios::binary) << content; }
  void set_mtime(const std::string& name, int seconds) {
    fs::last_write_time(dir_ / name, fs::file_time_type::clock::now() - std::chrono::hours(1) + std::chrono::seconds(seconds));
  }

  http::Response get(const std::string& target) {
    http::Request r;
    r.method = "GET";
    const auto q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = target.substr(q + 1);
    return routes_.handle(r);
  }

  static std::string header(const http::Response& r, const std::string& name) {
    for (const auto& h : r.headers) {
      if (h.first == name) return h.second;
    }
    return "";
  }

  static fs::path test_dir() {
    return fs::temp_directory_path() / ("catch_web_test." + std::to_string(::getpid()) + "." +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }

  fs::path dir_ = test_dir();
  Store store_{dir_};
  Routes routes_{store_};
};

TEST_F(RoutesTest, list_newest_first_with_verdicts) {
  const auto r = get("/api/v1/caught");
  ASSERT_EQ(r.status, 200u) << r.body;
  const json doc = json::parse(r.body);
  EXPECT_EQ(doc["total"], 3);
  ASSERT_EQ(doc["messages"].size(), 3u);
  EXPECT_EQ(doc["messages"][0]["subject"], "third");
  EXPECT_EQ(doc["messages"][1]["subject"], "second");
  EXPECT_EQ(doc["messages"][1]["id"], "200.P1M2R0.host");
  EXPECT_EQ(doc["messages"][1]["folder"], "cur");
  EXPECT_EQ(doc["messages"][2]["verdict"], "fail");
  EXPECT_EQ(doc["messages"][2]["session"], "20261207T110000Z-1-1");
  EXPECT_TRUE(doc["messages"][0]["verdict"].is_null());  // its session has no report yet
  EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff");
  EXPECT_NE(header(r, "Content-Security-Policy").find("frame-ancestors 'none'"), std::string::npos);
}

TEST_F(RoutesTest, paging) {
  json doc = json::parse(get("/api/v1/caught?limit=1&offset=1").body);
  ASSERT_EQ(doc["messages"].size(), 1u);
  EXPECT_EQ(doc["messages"][0]["subject"], "second");
  doc = json::parse(get("/api/v1/caught?offset=10").body);
  EXPECT_EQ(doc["messages"].size(), 0u);
  const auto bad = get("/api/v1/caught?limit=zero");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_EQ(json::parse(bad.body)["pointer"], "/limit");
}

TEST_F(RoutesTest, one_message_with_its_report_card) {
  const auto r = get("/api/v1/caught/100.P1M1R0.host");
  ASSERT_EQ(r.status, 200u) << r.body;
  const json doc = json::parse(r.body);
  EXPECT_EQ(doc["subject"], "first");
  EXPECT_EQ(doc["envelope"]["to"][0], "<b@y.test>");
  EXPECT_EQ(doc["report"]["message_index"], 1);
  EXPECT_EQ(doc["parts"][0]["text"], "one\r\n");
  EXPECT_EQ(doc["raw_url"], "/api/v1/caught/100.P1M1R0.host/raw");
  const json& card = doc["report"]["card"];
  bool bare_lf = false, pass = false, info = false;
  for (const auto& row : card) {
    if (row["id"] == "bare-lf") bare_lf = row["level"] == "fail" && row["count"] == 2 && row["detail"] == "line 3";
    if (row["id"] == "no-quit") pass = row["level"] == "pass" && row["detail"].is_null();
    if (row["id"] == "pipelining-used") info = row["level"] == "info";
  }
  EXPECT_TRUE(bare_lf && pass && info) << card.dump();
}

TEST_F(RoutesTest, a_message_moved_to_cur_keeps_its_id) {
  EXPECT_EQ(get("/api/v1/caught/200.P1M2R0.host").status, 200u);
  EXPECT_EQ(get("/api/v1/caught/200.P1M2R0.host:2,S").status, 404u);
}

TEST_F(RoutesTest, raw_is_the_file_as_an_attachment) {
  const auto r = get("/api/v1/caught/300.P1M3R0.host/raw");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.content_type, "message/rfc822");
  EXPECT_EQ(fs::path(r.file), dir_ / "new/300.P1M3R0.host");
  EXPECT_EQ(header(r, "Content-Disposition"), "attachment; filename=\"300.P1M3R0.host.eml\"");
}

TEST_F(RoutesTest, ids_that_leave_the_maildir_are_not_found) {
  for (const char* target : {"/api/v1/caught/..%2Fsecret", "/api/v1/caught/%2E%2E", "/api/v1/caught/../secret",
                             "/api/v1/caught/..", "/api/v1/caught/secret", "/api/v1/caught/nope",
                             "/api/v1/caught/%2e%2e%2fsecret/raw", "/api/v1/caught/reports", "/api/v1/caught/%zz"}) {
    const auto r = get(target);
    EXPECT_EQ(r.status, 404u) << target;
    EXPECT_EQ(r.file, "") << target;
  }
}

TEST_F(RoutesTest, html_part_is_sandboxed_and_frameable_only_by_the_page) {
  write("new/400.P1M4R0.host",
        "Subject: html\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<script>parent.x=1</script><p>hi</p>\r\n");
  const auto r = get("/api/v1/caught/400.P1M4R0.host/parts/0");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_TRUE(header(r, "Content-Security-Policy").starts_with("sandbox;"));
  EXPECT_EQ(header(r, "X-Frame-Options"), "SAMEORIGIN");
  EXPECT_EQ(get("/api/v1/caught/400.P1M4R0.host/parts/1").status, 404u);
  EXPECT_EQ(get("/api/v1/caught/400.P1M4R0.host/parts/-1").status, 404u);
}

TEST_F(RoutesTest, page_and_methods) {
  const auto page = get("/");
  EXPECT_EQ(page.status, 200u);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(get("/static/app.js").status, 200u);
  EXPECT_EQ(get("/static/../secret").status, 404u);
  http::Request post;
  post.method = "POST";
  post.path = "/api/v1/caught";
  EXPECT_EQ(routes_.handle(post).status, 405u);
}

}  // namespace
}  // namespace petrel::catchweb
