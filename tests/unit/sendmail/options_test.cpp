// petrel-sendmail's command line, as its callers write it.
#include <gtest/gtest.h>

#include "sendmail/options.hpp"

namespace petrel::sendmail {
namespace {

Request parse(std::vector<std::string> args, std::string_view program = "sendmail") {
  auto r = parse_options(program, args);
  if (auto* e = std::get_if<UsageError>(&r)) ADD_FAILURE() << e->message;
  return std::get_if<Request>(&r) ? std::get<Request>(r) : Request{};
}

std::string error_of(std::vector<std::string> args) {
  auto r = parse_options("sendmail", args);
  return std::get_if<UsageError>(&r) ? std::get<UsageError>(r).message : "";
}

TEST(SendmailOptions, cron_style_recipients_with_dash_oi) {
  const Request r = parse({"-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"});
  EXPECT_EQ(r.mode, Mode::deliver);
  EXPECT_TRUE(r.ignore_dots);
  EXPECT_EQ(r.full_name, "CronDaemon");
  EXPECT_EQ(r.recipients, std::vector<std::string>{"root"});
}

TEST(SendmailOptions, php_mail_passes_t_and_i_together) {
  const Request r = parse({"-t", "-i"});
  EXPECT_TRUE(r.extract_recipients);
  EXPECT_TRUE(r.ignore_dots);
  const Request clustered = parse({"-ti"});
  EXPECT_TRUE(clustered.extract_recipients);
  EXPECT_TRUE(clustered.ignore_dots);
}

TEST(SendmailOptions, sender_and_name_attached_or_separate) {
  const Request r = parse({"-f", "alice@example.org", "-F", "Alice Liddell", "bob@example.net"});
  EXPECT_EQ(r.sender, "alice@example.org");
  EXPECT_EQ(r.full_name, "Alice Liddell");
  EXPECT_EQ(parse({"-falice@example.org", "bob"}).sender, "alice@example.org");
  EXPECT_EQ(parse({"-r", "<>", "bob"}).sender, "<>");
  EXPECT_EQ(parse({"-oFAlice", "bob"}).full_name, "Alice");
}

TEST(SendmailOptions, noop_options_are_accepted) {
  const Request r = parse({"-odi", "-odb", "-oQ/var/spool", "-om", "-N", "success,failure", "-v", "-x", "-U", "-oem",
                           "-Btype", "-ee", "-h", "5", "-p", "SMTP:x", "bob"});
  EXPECT_TRUE(r.verbose);
  EXPECT_EQ(r.recipients, std::vector<std::string>{"bob"});
}

TEST(SendmailOptions, double_dash_ends_options) {
  const Request r = parse({"-i", "--", "-weird@example.org", "bob"});
  EXPECT_EQ(r.recipients, (std::vector<std::string>{"-weird@example.org", "bob"}));
}

TEST(SendmailOptions, modes) {
  EXPECT_EQ(parse({"-bs"}).mode, Mode::smtp_stdio);
  EXPECT_EQ(parse({"-bp"}).mode, Mode::list_queue);
  EXPECT_EQ(parse({}, "mailq").mode, Mode::list_queue);
  EXPECT_EQ(parse({"-q"}).mode, Mode::flush_queue);
  EXPECT_EQ(parse({"-q30m"}).mode, Mode::flush_queue);
  EXPECT_EQ(parse({"-qRexample.net"}).flush_domain, "example.net");
  EXPECT_EQ(parse({"-bi"}).mode, Mode::no_op);
  EXPECT_EQ(parse({"-bm", "bob"}).mode, Mode::deliver);
}

TEST(SendmailOptions, config_file) {
  EXPECT_EQ(parse({"-C", "/etc/petrel/petreld.toml", "bob"}).config_file, "/etc/petrel/petreld.toml");
  EXPECT_EQ(parse({"--config", "p.toml", "bob"}).config_file, "p.toml");
  EXPECT_EQ(parse({"--config=p.toml", "-bp"}).config_file, "p.toml");
}

TEST(SendmailOptions, mistakes_are_usage_errors) {
  EXPECT_EQ(error_of({"-Z", "bob"}), "unknown option -Z");
  EXPECT_EQ(error_of({"-f"}), "option -f needs an argument");
  EXPECT_EQ(error_of({"-bd"}), "-bd is not supported (only -bm, -bs, -bp, -bi)");
  EXPECT_EQ(error_of({"--frobnicate"}), "unknown option --frobnicate");
  EXPECT_NE(error_of({"-i"}), "");  // no recipients, no -t
  EXPECT_EQ(error_of({"-t"}), "");
}

}  // namespace
}  // namespace petrel::sendmail
