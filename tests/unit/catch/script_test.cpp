// Scripted faults (--script): the reply and delay syntax, globs, reading
// a script with FILE:LINE errors, the rule engine, and the script at work
// in a caught session.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "catch/script.hpp"
#include "catch/script_file.hpp"
#include "catch/script_hook.hpp"
#include "catch_harness.hpp"

namespace petrel::catcher {
namespace {

using smtp::HookPoint;
using testing::catch_options;
using testing::kHeaders;
using testing::play;

std::string error_of(std::string_view text) {
  try {
    parse_script(text, "s.toml");
  } catch (const ScriptError& e) {
    return e.what();
  }
  return "";
}

double never() { return 0.99; }

TEST(ScriptReplyText, code_enhanced_code_and_text) {
  std::string error;
  const auto r = parse_script_reply("451 4.7.1 try later", error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->code, 451);
  EXPECT_EQ(r->enhanced, "4.7.1");
  EXPECT_EQ(r->text, "try later");
  EXPECT_EQ(r->reply().wire(), "451 4.7.1 try later\r\n");
  const auto plain = parse_script_reply("552 too big", error);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->enhanced, "");
  EXPECT_EQ(plain->str(), "552 too big");
}

TEST(ScriptReplyText, refuses_what_is_not_a_final_reply) {
  std::string error;
  EXPECT_FALSE(parse_script_reply("354 go on", error));
  EXPECT_FALSE(parse_script_reply("150 x", error));
  EXPECT_FALSE(parse_script_reply("45 x", error));
  EXPECT_FALSE(parse_script_reply("491 x", error));
  EXPECT_FALSE(parse_script_reply("451x", error));
  EXPECT_FALSE(parse_script_reply("451", error));
  EXPECT_FALSE(parse_script_reply("451 4.7.1", error));
  EXPECT_FALSE(parse_script_reply("451 5.7.1 wrong class", error));
  EXPECT_NE(error.find("class"), std::string::npos);
  EXPECT_FALSE(parse_script_reply("451 two\r\nlines", error));
}

TEST(ScriptDelay, needs_a_unit_and_stays_bounded) {
  EXPECT_EQ(parse_script_delay("2s"), std::chrono::milliseconds(2000));
  EXPECT_EQ(parse_script_delay("500ms"), std::chrono::milliseconds(500));
  EXPECT_EQ(parse_script_delay("1m"), std::chrono::milliseconds(60'000));
  EXPECT_FALSE(parse_script_delay("2"));
  EXPECT_FALSE(parse_script_delay("s"));
  EXPECT_FALSE(parse_script_delay("-1s"));
  EXPECT_FALSE(parse_script_delay("11m"));
}

TEST(Glob, fnmatch_style_and_case_insensitive) {
  EXPECT_TRUE(glob_match("*@example.com", "Bob@EXAMPLE.com"));
  EXPECT_FALSE(glob_match("*@example.com", "bob@example.org"));
  EXPECT_TRUE(glob_match("b?b@*", "bob@x"));
  EXPECT_TRUE(glob_match("[a-c]*", "Carol@x"));
  EXPECT_FALSE(glob_match("[!a-c]*", "carol@x"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_FALSE(glob_match("?", ""));
  EXPECT_TRUE(glob_match("a\\*b", "a*b"));
  EXPECT_FALSE(glob_match("a\\*b", "axb"));
  EXPECT_TRUE(glob_match("*x*y*z", "aaxbbyccz"));
}

TEST(ScriptFile, reads_rules_with_every_key) {
  const Script s = parse_script(R"(
[[rule]]
command = "rcpt"
rcpt = "*@slow.test"
mail = "*"
nth = 2
after_messages = 1
probability = 0.5
first_attempt_only = true
reply = "451 4.7.1 try later"

[[rule]]
command = "HELO"
delay = "250ms"

[[rule]]
command = "end-of-data"
close = true

[[rule]]
require_tls = true
)",
                                "s.toml");
  ASSERT_EQ(s.rules.size(), 4u);
  EXPECT_EQ(s.rules[0].line, 2u);
  EXPECT_EQ(s.rules[0].command, HookPoint::rcpt);
  EXPECT_EQ(s.rules[0].nth, 2u);
  EXPECT_EQ(s.rules[0].after_messages, 1u);
  EXPECT_EQ(s.rules[0].probability, 0.5);
  EXPECT_TRUE(s.rules[0].first_attempt_only);
  EXPECT_EQ(s.rules[0].action.describe(), "reply 451 4.7.1 try later");
  EXPECT_EQ(s.rules[1].command, HookPoint::ehlo);
  EXPECT_EQ(s.rules[1].action.describe(), "delay 250ms");
  EXPECT_EQ(s.rules[2].action.kind, Action::Kind::close);
  EXPECT_FALSE(s.rules[3].command);
  EXPECT_EQ(s.rules[3].action.kind, Action::Kind::require_tls);
}

TEST(ScriptFile, errors_name_the_file_and_line) {
  EXPECT_EQ(error_of("[[rule]]\ncommand = \"RCPT\"\nreplay = \"451 x\"\n").substr(0, 11), "s.toml:3: [");
  EXPECT_NE(error_of("[[rule]]\ncommand = \"RCPT\"\nreplay = \"451 x\"\n").find("unknown key \"replay\""), std::string::npos);
  EXPECT_EQ(error_of("[[rule]]\ncommand = \"QUIT\"\nclose = true\n").substr(0, 9), "s.toml:2:");
  EXPECT_EQ(error_of("[[rule]]\ncommand = \"RCPT\"\n").substr(0, 9), "s.toml:1:");
  EXPECT_NE(error_of("[[rule]]\ncommand = \"RCPT\"\n").find("no action"), std::string::npos);
  EXPECT_NE(error_of("[[rule]]\nclose = true\nreply = \"451 x\"\n").find("s.toml:3: [[rule]] has more than one action"),
            std::string::npos);
  EXPECT_NE(error_of("[[rule]]\nreply = \"451 5.1.1 x\"\n").find("s.toml:2:"), std::string::npos);
  EXPECT_NE(error_of("[[rule]]\nclose = false\n").find("close = false is no action"), std::string::npos);
  EXPECT_NE(error_of("[[rule]]\nprobability = 1.5\nclose = true\n").find("s.toml:2:"), std::string::npos);
  EXPECT_NE(error_of("[[rule]]\nnth = 0\nclose = true\n").find("s.toml:2:"), std::string::npos);
  EXPECT_NE(error_of("[[rule]]\ndelay = \"2\"\n").find("s.toml:2:"), std::string::npos);
  EXPECT_NE(error_of("[[rule]]\ncommand = \"MAIL\"\nfirst_attempt_only = true\nclose = true\n").find("s.toml:2:"),
            std::string::npos);
  EXPECT_NE(error_of("[[rule]]\ncommand = \"connect\"\nrequire_tls = true\n").find("require_tls"), std::string::npos);
  EXPECT_NE(error_of("[[rule]]\nclose = true\n[rule2]\n").find("s.toml:3: unknown key"), std::string::npos);
  EXPECT_NE(error_of("[[rule]]\nclose = \n").find("s.toml:2:"), std::string::npos);  // TOML syntax
  EXPECT_NE(error_of("# nothing\n").find("no [[rule]]"), std::string::npos);
}

TEST(ScriptFile, provider_like_is_the_documented_three_rules) {
  const Script s = load_script("provider-like");
  ASSERT_EQ(s.rules.size(), 3u);
  EXPECT_TRUE(s.rules[0].first_attempt_only);
  EXPECT_EQ(s.rules[0].action.reply.str(), "451 4.7.1 Greylisted, please try again later");
  EXPECT_EQ(s.rules[1].probability, 0.1);
  EXPECT_EQ(s.rules[2].after_messages, 10u);
  EXPECT_EQ(s.rules[2].action.reply.code, 421);
}

TEST(ScriptFile, the_manual_shows_the_preset_as_it_is) {
  std::ifstream in(std::string(PETREL_SOURCE_DIR) + "/docs/petrel-catch.md");
  std::ostringstream doc;
  doc << in.rdbuf();
  EXPECT_NE(doc.str().find("```toml\n" + std::string(provider_like_toml()) + "```\n"), std::string::npos);
}

TEST(ScriptFile, a_missing_file_is_an_error) {
  EXPECT_THROW(load_script("/nonexistent/script.toml"), ScriptError);
}

TEST(Decide, first_matching_rule_wins_and_conditions_all_hold) {
  const Script s = parse_script(R"(
[[rule]]
command = "RCPT"
rcpt = "*@slow.test"
reply = "451 4.7.1 slow"
[[rule]]
command = "RCPT"
nth = 2
reply = "452 4.5.3 second"
[[rule]]
mail = "spam*"
reply = "550 5.7.1 no"
)",
                                "s.toml");
  Moment m;
  m.point = HookPoint::rcpt;
  m.mail = "alice@x.test";
  m.rcpts = {"bob@SLOW.test"};
  auto d = decide(s, m, never);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->rule, 1u);
  m.rcpts = {"bob@fast.test"};
  EXPECT_FALSE(decide(s, m, never));
  m.nth = 2;
  EXPECT_EQ(decide(s, m, never)->rule, 2u);
  m.nth = 1;
  m.mail = "spammer@x.test";
  EXPECT_EQ(decide(s, m, never)->rule, 3u);
  m.point = HookPoint::ehlo;  // no sender yet
  m.mail.reset();
  EXPECT_FALSE(decide(s, m, never));
}

TEST(Decide, probability_draws_from_the_given_source) {
  const Script s = parse_script("[[rule]]\nprobability = 0.25\nclose = true\n[[rule]]\nprobability = 0\nclose = true\n"
                                "[[rule]]\nprobability = 1\ndelay = \"1s\"\n",
                                "s.toml");
  Moment m;
  int draws = 0;
  auto low = [&draws] { ++draws; return 0.1; };
  EXPECT_EQ(decide(s, m, low)->rule, 1u);
  auto high = [&draws] { ++draws; return 0.5; };
  EXPECT_EQ(decide(s, m, high)->rule, 3u);  // 0 never holds, 1 always does
  EXPECT_EQ(draws, 4);
}

TEST(Decide, after_messages_first_attempt_and_require_tls) {
  const Script s = parse_script("[[rule]]\nafter_messages = 3\nreply = \"421 4.7.0 busy\"\n"
                                "[[rule]]\nfirst_attempt_only = true\nreply = \"451 4.7.1 grey\"\n"
                                "[[rule]]\nrequire_tls = true\n",
                                "s.toml");
  Moment m;
  m.point = HookPoint::mail;
  m.mail = "a@x";
  m.messages = 2;
  EXPECT_EQ(decide(s, m, never)->rule, 3u);  // require_tls: in the clear at MAIL
  m.tls = true;
  EXPECT_FALSE(decide(s, m, never));
  m.messages = 3;
  EXPECT_EQ(decide(s, m, never)->rule, 1u);
  m.messages = 0;
  m.point = HookPoint::rcpt;
  m.first_attempt = true;
  EXPECT_EQ(decide(s, m, never)->rule, 2u);
  m.point = HookPoint::connect;  // first_attempt_only holds at RCPT only, require_tls not at connect
  m.tls = false;
  EXPECT_FALSE(decide(s, m, never));
}

// --- the script at work in a session

struct Scripted {
  Script script;
  ScriptMemory memory;
  explicit Scripted(std::string_view text) : script(parse_script(text, "s.toml")) {}
  ScriptHook hook() { return ScriptHook(script, memory, never); }
};

std::string message(const std::string& rcpt = "b@y.test") {
  return "MAIL FROM:<a@x.test> SIZE=100\r\nRCPT TO:<" + rcpt + ">\r\nDATA\r\n";
}

TEST(ScriptedSession, a_451_to_the_first_rcpt_and_a_retry_in_the_session) {
  Scripted s("[[rule]]\ncommand = \"RCPT\"\nnth = 1\nreply = \"451 4.7.1 try later\"\n");
  ScriptHook hook = s.hook();
  const auto run = play(catch_options(),
                        {"EHLO c.test\r\n", "MAIL FROM:<a@x.test> SIZE=100\r\n", "RCPT TO:<b@y.test>\r\n",
                         "RCPT TO:<b@y.test>\r\n", "DATA\r\n", std::string(kHeaders) + "hi\r\n.\r\n", "QUIT\r\n"},
                        false, &hook);
  EXPECT_NE(run.replies.find("451 4.7.1 try later\r\n"), std::string::npos);
  EXPECT_EQ(run.stored.size(), 1u);
  EXPECT_FALSE(run.has("retry-ignored")) << run.ids();
  ASSERT_EQ(hook.actions().size(), 1u);
  EXPECT_EQ(hook.actions()[0].command, "RCPT");
  EXPECT_EQ(hook.actions()[0].action, "reply 451 4.7.1 try later");
}

TEST(ScriptedSession, a_4xx_not_tried_again_is_retry_ignored) {
  Scripted s("[[rule]]\ncommand = \"RCPT\"\nreply = \"451 4.7.1 try later\"\n");
  ScriptHook hook = s.hook();
  const auto run = play(catch_options(), {"EHLO c.test\r\n", message(), "QUIT\r\n"}, false, &hook);
  ASSERT_TRUE(run.has("retry-ignored")) << run.ids();
  EXPECT_NE(run.find("retry-ignored")->text.find("RCPT TO:<b@y.test> got 451"), std::string::npos);
  EXPECT_EQ(run.find("retry-ignored")->level, Level::warn);
}

TEST(ScriptedSession, a_451_at_end_of_data_keeps_nothing_and_a_new_mail_is_the_retry) {
  Scripted s("[[rule]]\ncommand = \"end-of-data\"\nnth = 1\nreply = \"451 4.3.0 not now\"\n");
  ScriptHook hook = s.hook();
  const std::string body = std::string(kHeaders) + "hi\r\n.\r\n";
  const auto run = play(catch_options(), {"EHLO c.test\r\n", message(), body, message(), body, "QUIT\r\n"}, false, &hook);
  EXPECT_NE(run.replies.find("451 4.3.0 not now\r\n"), std::string::npos);
  EXPECT_EQ(run.stored.size(), 1u);
  EXPECT_FALSE(run.has("retry-ignored")) << run.ids();
}

TEST(ScriptedSession, a_421_after_messages_closes_the_session) {
  Scripted s("[[rule]]\ncommand = \"MAIL\"\nafter_messages = 1\nreply = \"421 4.7.0 [TSS04] busy\"\n");
  ScriptHook hook = s.hook();
  const std::string body = std::string(kHeaders) + "hi\r\n.\r\n";
  const auto run = play(catch_options(), {"EHLO c.test\r\n", message(), body, message(), "QUIT\r\n"}, false, &hook);
  EXPECT_EQ(run.stored.size(), 1u);
  EXPECT_TRUE(run.replies.ends_with("421 4.7.0 [TSS04] busy\r\n")) << run.replies;
  EXPECT_FALSE(run.has("retry-ignored"));  // a 421: only another connection can retry
}

TEST(ScriptedSession, close_ends_the_connection_without_a_reply) {
  Scripted s("[[rule]]\ncommand = \"DATA\"\nclose = true\n");
  ScriptHook hook = s.hook();
  const auto run = play(catch_options(), {"EHLO c.test\r\n", "MAIL FROM:<a@x.test>\r\n", "RCPT TO:<b@y.test>\r\n",
                                          "DATA\r\n", "QUIT\r\n"},
                        false, &hook);
  EXPECT_TRUE(run.replies.ends_with("250 2.1.5 Ok\r\n")) << run.replies;
}

TEST(ScriptedSession, a_refused_greeting_closes) {
  Scripted s("[[rule]]\ncommand = \"connect\"\nreply = \"554 5.7.1 go away\"\n");
  ScriptHook hook = s.hook();
  const auto run = play(catch_options(), {"EHLO c.test\r\n"}, false, &hook);
  EXPECT_EQ(run.replies, "554 5.7.1 go away\r\n");
}

TEST(ScriptedSession, a_2xx_replaces_the_success_reply) {
  Scripted s("[[rule]]\ncommand = \"end-of-data\"\nreply = \"250 2.0.0 Ok: queued as FAKE\"\n");
  ScriptHook hook = s.hook();
  const auto run = play(catch_options(), {"EHLO c.test\r\n", message(), std::string(kHeaders) + "hi\r\n.\r\n", "QUIT\r\n"},
                        false, &hook);
  EXPECT_EQ(run.stored.size(), 1u);
  EXPECT_NE(run.replies.find("250 2.0.0 Ok: queued as FAKE\r\n"), std::string::npos) << run.replies;
}

TEST(ScriptedSession, a_bdat_refusal_follows_the_chunk) {
  Scripted s("[[rule]]\ncommand = \"BDAT\"\nreply = \"452 4.3.1 full\"\n");
  ScriptHook hook = s.hook();
  const std::string chunk = std::string(kHeaders) + "hi\r\n";
  const auto run = play(catch_options(),
                        {"EHLO c.test\r\n", "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\n",
                         "BDAT " + std::to_string(chunk.size()) + " LAST\r\n" + chunk, "QUIT\r\n"},
                        false, &hook);
  EXPECT_TRUE(run.stored.empty());
  EXPECT_NE(run.replies.find("452 4.3.1 full\r\n221"), std::string::npos) << run.replies;
}

TEST(ScriptedSession, require_tls_answers_530_in_the_clear) {
  Scripted s("[[rule]]\ncommand = \"MAIL\"\nrequire_tls = true\n");
  ScriptHook hook = s.hook();
  const auto run = play(catch_options(), {"EHLO c.test\r\n", "MAIL FROM:<a@x.test>\r\n", "QUIT\r\n"}, false, &hook);
  EXPECT_NE(run.replies.find("530 5.7.0 Must issue a STARTTLS command first\r\n"), std::string::npos);
}

TEST(ScriptedSession, greylisting_defers_only_the_first_attempt_of_a_triple) {
  Scripted s(provider_like_toml());
  const std::string body = std::string(kHeaders) + "hi\r\n.\r\n";
  ScriptHook first = s.hook();
  const auto one = play(catch_options(), {"EHLO c.test\r\n", message(), "QUIT\r\n"}, false, &first);
  EXPECT_NE(one.replies.find("451 4.7.1 Greylisted"), std::string::npos);
  ScriptHook second = s.hook();
  const auto two = play(catch_options(), {"EHLO c.test\r\n", message(), body, "QUIT\r\n"}, false, &second);
  EXPECT_EQ(two.stored.size(), 1u) << two.replies;
  ScriptHook other = s.hook();
  const auto three = play(catch_options(), {"EHLO c.test\r\n", message("c@y.test"), "QUIT\r\n"}, false, &other);
  EXPECT_NE(three.replies.find("451 4.7.1 Greylisted"), std::string::npos);
}

TEST(ScriptedSession, a_delay_is_left_to_the_caller) {
  Scripted s("[[rule]]\ncommand = \"EHLO\"\ndelay = \"2s\"\n");
  ScriptHook hook = s.hook();
  testing::AcceptAll policy;
  const smtp::SessionOptions options = catch_options();
  CaughtSession session(options, policy, "127.0.0.1", nullptr, GraderOptions{}, &hook);
  session.greet();
  session.read_started();
  session.feed("EHLO c.test\r\n");
  EXPECT_EQ(session.take_reply_delay(), std::chrono::milliseconds(2000));
  EXPECT_NE(session.take_output().find("250"), std::string::npos);
  const auto transcript = session.take_transcript();
  EXPECT_TRUE(std::any_of(transcript.begin(), transcript.end(), [](const TranscriptLine& l) {
    return l.direction == '*' && l.text == "script: rule 1 (line 1) at EHLO: delay 2000ms";
  }));
}

TEST(ScriptMemoryBound, forgets_the_oldest_past_its_capacity) {
  ScriptMemory memory(2);
  memory.remember("a");
  memory.remember("b");
  memory.remember("c");
  EXPECT_FALSE(memory.seen("a"));
  EXPECT_TRUE(memory.seen("b"));
  EXPECT_TRUE(memory.seen("c"));
}

}  // namespace
}  // namespace petrel::catcher
