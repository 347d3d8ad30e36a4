// The recipient list of petrel campaign send read from a file a chunk at
// a time: rows in order, the file's hash, errors naming the file and line.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "cli/campaign_list.hpp"

namespace petrel::cli {
namespace {

TEST(CampaignList, rows_come_from_the_file_in_order_and_the_hash_is_the_files) {
  const auto path = std::filesystem::temp_directory_path() / ("petrel-list-" + std::to_string(::getpid()) + ".csv");
  std::string text = "\xEF\xBB\xBF" "Email,Name,code\r\n";
  for (int i = 0; i < 5000; ++i) text += "u" + std::to_string(i) + "@x.test,\"User, " + std::to_string(i) + "\",C" + std::to_string(i) + "\r\n";
  text += "\r\nbroken,,\r\n";
  std::ofstream(path, std::ios::binary) << text;
  const ListInfo info = scan_list(path.string());
  EXPECT_EQ(info.rows, 5001u);
  EXPECT_EQ(info.invalid, 1u);
  EXPECT_EQ(info.size, text.size());
  EXPECT_EQ(info.sha256, sha256_hex(text));
  ListReader reader(path.string());
  auto first = reader.next();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->email, "u0@x.test");
  EXPECT_EQ(first->name, "User, 0");
  EXPECT_EQ(first->line, 2u);
  std::filesystem::remove(path);
}

TEST(CampaignList, a_list_without_an_email_column_names_the_file_and_line) {
  const auto path = std::filesystem::temp_directory_path() / ("petrel-list-bad-" + std::to_string(::getpid()) + ".csv");
  std::ofstream(path) << "\nmail,name\nann@x.test,Ann\n";
  try {
    ListReader reader(path.string());
    ADD_FAILURE() << "accepted";
  } catch (const CampaignInputError& e) {
    EXPECT_EQ(std::string(e.what()).find(path.string() + " line 2: the header row has no 'email' column"), 0u) << e.what();
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace petrel::cli
