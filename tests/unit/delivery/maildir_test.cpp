#include "delivery/maildir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../spool/temp_dir.hpp"

namespace petrel::delivery {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

std::size_t entries(const std::string& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

TEST(MaildirName, has_arrival_queue_id_index_and_host) {
  EXPECT_EQ(unique_name(1700000000, "0123456789ABCDEF", 2, "mx.example.org"),
            "1700000000.P0123456789ABCDEFR2.mx.example.org");
}

TEST(MaildirName, escapes_slash_and_colon_in_host) {
  EXPECT_EQ(unique_name(1, "Q", 0, "a/b:c"), "1.PQR0.a\\057b\\072c");
}

TEST(Maildir, batch_creates_mailboxes_and_files_with_exact_content) {
  TempDir dir;
  const std::string content = "Subject: hi\r\n\r\nbody\r\n";
  std::vector<MaildirFile> files = {
      {dir / "example.org/alice", "1.PAR0.host", "Return-Path: <s@x>\r\n", &content},
      {dir / "example.org/bob", "1.PAR1.host", "Return-Path: <>\r\n", &content},
      {dir / "example.org/alice", "2.PBR0.host", "", &content},
  };
  deliver_batch(files);
  for (const auto& f : files) EXPECT_FALSE(f.result) << f.file_name << ": " << f.result.message();

  EXPECT_EQ(read_file(dir / "example.org/alice/new/1.PAR0.host"), "Return-Path: <s@x>\r\n" + content);
  EXPECT_EQ(read_file(dir / "example.org/bob/new/1.PAR1.host"), "Return-Path: <>\r\n" + content);
  EXPECT_EQ(read_file(dir / "example.org/alice/new/2.PBR0.host"), content);
  for (const char* box : {"example.org/alice", "example.org/bob"}) {
    EXPECT_EQ(entries(dir / (std::string(box) + "/tmp")), 0u) << box;
    EXPECT_TRUE(fs::is_directory(dir / (std::string(box) + "/cur"))) << box;
  }
  struct stat st {};
  ASSERT_EQ(::stat((dir / "example.org/alice/new/1.PAR0.host").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(Maildir, existing_names_in_new_or_cur_are_not_written_again) {
  TempDir dir;
  const std::string box = dir / "box";
  const std::string content = "new content";
  std::vector<MaildirFile> first = {{box, "in-new", "", &content}, {box, "in-cur", "", &content}};
  deliver_batch(first);
  fs::rename(box + "/new/in-cur", box + "/cur/in-cur:2,");
  std::ofstream(box + "/new/in-new", std::ios::trunc) << "as the user left it";

  std::vector<MaildirFile> again = {{box, "in-new", "", &content},
                                    {box, "in-cur", "", &content},
                                    {box, "fresh", "", &content}};
  deliver_batch(again);
  for (const auto& f : again) EXPECT_FALSE(f.result) << f.file_name;
  EXPECT_EQ(read_file(box + "/new/in-new"), "as the user left it");
  EXPECT_FALSE(fs::exists(box + "/new/in-cur"));
  EXPECT_EQ(read_file(box + "/cur/in-cur:2,"), content);
  EXPECT_EQ(read_file(box + "/new/fresh"), content);
}

TEST(Maildir, one_failing_mailbox_does_not_stop_the_others) {
  TempDir dir;
  std::ofstream(dir / "regular-file") << "x";
  const std::string content = "hello";
  std::vector<MaildirFile> files = {
      {dir / "ok1", "a", "", &content},
      {dir / "regular-file/box", "b", "", &content},  // ENOTDIR: cannot exist
      {dir / "ok2", "c", "", &content},
  };
  deliver_batch(files);
  EXPECT_FALSE(files[0].result);
  EXPECT_EQ(files[1].result, std::make_error_code(std::errc::not_a_directory));
  EXPECT_FALSE(files[2].result);
  EXPECT_EQ(read_file(dir / "ok1/new/a"), content);
  EXPECT_EQ(read_file(dir / "ok2/new/c"), content);
}

TEST(Maildir, a_name_taken_by_something_else_fails_that_file_only_and_leaves_no_litter) {
  TempDir dir;
  const std::string box = dir / "box";
  const std::string content = "hello";
  std::vector<MaildirFile> setup = {{box, "first", "", &content}};
  deliver_batch(setup);
  // A directory where the message should go: not a delivery of ours.
  fs::create_directory(box + "/new/blocked");
  std::vector<MaildirFile> files = {{box, "blocked", "", &content}, {box, "fine", "", &content}};
  deliver_batch(files);
  EXPECT_TRUE(files[0].result);
  EXPECT_TRUE(fs::is_directory(box + "/new/blocked"));
  EXPECT_TRUE(fs::is_empty(box + "/tmp"));
  EXPECT_FALSE(files[1].result);
  EXPECT_EQ(read_file(box + "/new/fine"), content);
}

TEST(Maildir, same_file_twice_in_a_batch_is_written_once) {
  TempDir dir;
  const std::string content = "hello";
  std::vector<MaildirFile> files = {{dir / "box", "same", "", &content},
                                    {dir / "box", "same", "", &content}};
  deliver_batch(files);
  EXPECT_FALSE(files[0].result);
  EXPECT_FALSE(files[1].result);
  EXPECT_EQ(read_file(dir / "box/new/same"), content);
  EXPECT_EQ(entries(dir / "box/new"), 1u);
}

TEST(Maildir, large_content_is_written_completely) {
  TempDir dir;
  std::string content(8u << 20, 'm');
  content.back() = '!';
  std::vector<MaildirFile> files = {{dir / "box", "big", "Header: x\r\n", &content}};
  deliver_batch(files);
  ASSERT_FALSE(files[0].result);
  EXPECT_TRUE(read_file(dir / "box/new/big") == "Header: x\r\n" + content);
}

}  // namespace
}  // namespace petrel::delivery
