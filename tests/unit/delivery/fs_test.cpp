#include "util/fs.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../spool/temp_dir.hpp"

namespace petrel::util {
namespace {

using testing::TempDir;

TEST(MakeDirectories, creates_every_missing_level_and_accepts_existing) {
  TempDir dir;
  EXPECT_FALSE(make_directories(dir / "a/b//c/"));
  EXPECT_TRUE(std::filesystem::is_directory(dir / "a/b/c"));
  EXPECT_FALSE(make_directories(dir / "a/b/c"));
  EXPECT_EQ(std::filesystem::status(dir / "a").permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_all);
}

TEST(MakeDirectories, fails_through_a_regular_file) {
  TempDir dir;
  std::ofstream(dir / "file") << "x";
  EXPECT_EQ(make_directories(dir / "file"), std::make_error_code(std::errc::not_a_directory));
  EXPECT_EQ(make_directories(dir / "file/sub"), std::make_error_code(std::errc::not_a_directory));
}

TEST(SyncDirectory, syncs_a_directory_and_reports_a_missing_one) {
  TempDir dir;
  EXPECT_FALSE(sync_directory(dir.path()));
  EXPECT_EQ(sync_directory(dir / "missing"), std::make_error_code(std::errc::no_such_file_or_directory));
}

}  // namespace
}  // namespace petrel::util
