// Delivery to an alias's command or mbox file (docs/aliases.md).
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "delivery/alias_delivery.hpp"

namespace petrel::delivery {
namespace {

using Kind = AliasOutcome::Kind;

const CommandEnvironment kEnv{"sender@example.org", "team@example.com", "rfc822;team@example.com"};

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(UnixText, CrlfBecomesLfAndBareCrStays) { EXPECT_EQ(unix_text("a\r\nb\rc\r\n"), "a\nb\rc\n"); }

TEST(Mbox, FromLineAndMboxrdQuoting) {
  EXPECT_EQ(mbox_from_line("", 0), "From MAILER-DAEMON  Thu Jan  1 00:00:00 1970\n");
  EXPECT_EQ(mbox_from_line("a@b", 86400 * 40), "From a@b  Tue Feb 10 00:00:00 1970\n");
  EXPECT_EQ(mbox_quoted("S: x\n\nFrom me\n>From you\n>>From them\nFromage\n"),
            "S: x\n\n>From me\n>>From you\n>>>From them\nFromage\n\n");
  EXPECT_EQ(mbox_quoted("no final newline"), "no final newline\n\n");
}

TEST(Sysexits, OnlyTempfailIsTemporary) {
  EXPECT_EQ(sysexit_status(75), (std::pair<std::string, std::string>{"4.3.0", "EX_TEMPFAIL"}));
  EXPECT_EQ(sysexit_status(67).first, "5.1.1");
  EXPECT_EQ(sysexit_status(71).first[0], '5');
  EXPECT_EQ(sysexit_status(1), (std::pair<std::string, std::string>{"5.3.0", ""}));
}

class Command : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() / ("petrel-alias-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::filesystem::path dir;
  CommandLimits limits;
};

TEST_F(Command, GetsTheMessageOnStdinAndItsEnvironment) {
  const auto out = dir / "out";
  const std::string cmd = "cat > " + out.string() + "; printf '%s|%s|%s|%s|%s' \"$SENDER\" \"$RECIPIENT\" "
                          "\"$ORIGINAL_RECIPIENT\" \"$LOCAL\" \"$DOMAIN\" > " + (dir / "env").string();
  const AliasOutcome o = run_command(cmd, "Subject: x\n\nbody\n", kEnv, limits);
  EXPECT_EQ(o.kind, Kind::delivered) << o.reply;
  EXPECT_EQ(read(out), "Subject: x\n\nbody\n");
  EXPECT_EQ(read(dir / "env"), "sender@example.org|team@example.com|rfc822;team@example.com|team|example.com");
}

TEST_F(Command, ExitStatusDecides) {
  EXPECT_EQ(run_command("cat >/dev/null; exit 75", "x\n", kEnv, limits).kind, Kind::deferred);
  const AliasOutcome nouser = run_command("echo 'no such list'; exit 67", "x\n", kEnv, limits);
  EXPECT_EQ(nouser.kind, Kind::failed);
  EXPECT_EQ(nouser.reply, "550 5.1.1 command exited with status 67 (EX_NOUSER): no such list");
  EXPECT_EQ(run_command("exit 1", "x\n", kEnv, limits).reply, "550 5.3.0 command exited with status 1");
  EXPECT_EQ(run_command("kill -9 $$", "x\n", kEnv, limits).reply, "550 5.3.0 command killed by signal 9");
}

TEST_F(Command, ACommandThatDoesNotReadStillEnds) {
  // More than a pipe holds, to a command that never reads it.
  const std::string big(1 << 20, 'x');
  EXPECT_EQ(run_command("exit 0", big, kEnv, limits).kind, Kind::delivered);
}

TEST_F(Command, OutputIsBoundedAndTimeIsLimited) {
  limits.output_limit = 10;
  const AliasOutcome chatty = run_command("yes 0123456789 | head -c 100000; exit 1", "", kEnv, limits);
  EXPECT_EQ(chatty.reply, "550 5.3.0 command exited with status 1: 0123456789");
  limits.timeout = std::chrono::milliseconds(200);
  const AliasOutcome slow = run_command("sleep 30", "", kEnv, limits);
  EXPECT_EQ(slow.kind, Kind::failed);
  EXPECT_EQ(slow.reply, "550 5.3.0 command time limit exceeded ([local] command_timeout)");
}

TEST_F(Command, FileAppendsUnderQuotingAndRefusesSymlinks) {
  const auto mbox = dir / "box";
  EXPECT_EQ(append_to_mbox(mbox.string(), "a@b", "S: 1\n\nFrom x\n", 0).kind, Kind::delivered);
  EXPECT_EQ(append_to_mbox(mbox.string(), "", "S: 2\n", 0).kind, Kind::delivered);
  EXPECT_EQ(read(mbox),
            "From a@b  Thu Jan  1 00:00:00 1970\nS: 1\n\n>From x\n\n"
            "From MAILER-DAEMON  Thu Jan  1 00:00:00 1970\nS: 2\n\n");
  EXPECT_EQ(std::filesystem::status(mbox).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::filesystem::create_symlink(mbox, dir / "link");
  const AliasOutcome linked = append_to_mbox((dir / "link").string(), "", "x\n", 0);
  EXPECT_EQ(linked.kind, Kind::failed);
  EXPECT_EQ(append_to_mbox(dir.string(), "", "x\n", 0).kind, Kind::failed);
  EXPECT_EQ(append_to_mbox((dir / "no" / "such").string(), "", "x\n", 0).kind, Kind::deferred);
}

}  // namespace
}  // namespace petrel::delivery
