// Every way [shaping] can be wrong, and the exact "FILE:LINE: message" the
// operator sees for it. A rule that names nothing real is an error: a typo
// must not leave a rule that silently never fires.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "config/config.hpp"

namespace petrel::config {
namespace {

ConfigError error_of(std::string_view text) {
  try {
    load_config_text(text, "petreld.toml");
  } catch (const ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "loaded without error:\n" << text;
  return ConfigError("", 0, "");
}

ConfigError error_of_file(const std::string& path) {
  try {
    load_config_file(path);
  } catch (const ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "loaded without error: " << path;
  return ConfigError("", 0, "");
}

#define EXPECT_CONFIG_ERROR(text, expected_line, expected_what) \
  do {                                                          \
    const ConfigError e_ = error_of(text);                      \
    EXPECT_EQ(e_.file(), "petreld.toml");                       \
    EXPECT_EQ(e_.line(), expected_line);                        \
    EXPECT_EQ(std::string(e_.what()), expected_what);           \
  } while (false)

void expect_rejected_at(std::string_view text, std::size_t line) {
  const ConfigError e = error_of(text);
  EXPECT_EQ(e.line(), line) << text << "\n -> " << e.what();
}

// A directory of files for include tests, removed at the end.
class Files {
 public:
  Files() {
    char path[] = "/tmp/petrel-shaping-test-XXXXXX";
    dir_ = mkdtemp(path);
  }
  ~Files() { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, std::string_view text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

 private:
  std::string dir_;
};

const std::string kYahoo = "[shaping.provider.yahoo]\nmx_suffix = [\".yahoodns.net\"]\n";
const std::string kRuleBody = "match = \"x\"\naction = \"suspend\"\nduration = \"2h\"\n";

// ---- Unknown tables and keys ----

TEST(ShapingUnknown, SectionWithSuggestion) {
  EXPECT_CONFIG_ERROR("[shapping.default]\nconnection_limit = 5\n", 1u,
                      "petreld.toml:1: unknown table [shapping] (did you mean [shaping]?)");
}

TEST(ShapingUnknown, TableWithSuggestion) {
  EXPECT_CONFIG_ERROR("[shaping.domains.\"gmail.com\"]\nconnection_limit = 5\n", 1u,
                      "petreld.toml:1: unknown table [shaping.domains] (did you mean [shaping.domain]?)");
}

TEST(ShapingUnknown, KeyInShaping) {
  EXPECT_CONFIG_ERROR("[shaping]\nincludes = [\"x\"]\n", 2u,
                      "petreld.toml:2: unknown key 'includes' in [shaping] (did you mean 'include'?)");
}

TEST(ShapingUnknown, KeyInDefault) {
  EXPECT_CONFIG_ERROR("[shaping.default]\nconection_limit = 5\n", 2u,
                      "petreld.toml:2: unknown key 'conection_limit' in [shaping.default] (did you mean "
                      "'connection_limit'?)");
}

TEST(ShapingUnknown, KeyInDomainAndSource) {
  EXPECT_CONFIG_ERROR("[shaping.domain.\"gmail.com\"]\nmax_mesage_rate = \"1/s\"\n", 2u,
                      "petreld.toml:2: unknown key 'max_mesage_rate' in [shaping.domain.\"gmail.com\"] (did you "
                      "mean 'max_message_rate'?)");
  EXPECT_CONFIG_ERROR("[shaping.source.ip1]\nlimit = 1\n", 2u,
                      "petreld.toml:2: unknown key 'limit' in [shaping.source.ip1]");
}

TEST(ShapingUnknown, KeyInProvider) {
  EXPECT_CONFIG_ERROR(kYahoo + "mx_sufix = [\".yahoo.com\"]\n", 3u,
                      "petreld.toml:3: unknown key 'mx_sufix' in [shaping.provider.yahoo] (did you mean "
                      "'mx_suffix'?)");
}

TEST(ShapingUnknown, KeyInRule) {
  EXPECT_CONFIG_ERROR("[[shaping.rule]]\n" + kRuleBody + "mach = 1\n", 5u,
                      "petreld.toml:5: unknown key 'mach' in [[shaping.rule]] (did you mean 'match'?)");
}

TEST(ShapingUnknown, KeyInRuleSet) {
  EXPECT_CONFIG_ERROR(
      "[[shaping.rule]]\nmatch = \"x\"\naction = \"set\"\nduration = \"2h\"\n"
      "set = { conection_limit = 1 }\n",
      5u,
      "petreld.toml:5: unknown key 'conection_limit' in [shaping.rule.set] (did you mean "
      "'connection_limit'?)");
}

TEST(ShapingUnknown, BlocksMustBeTables) {
  EXPECT_CONFIG_ERROR("[shaping]\ndefault = 5\n", 2u,
                      "petreld.toml:2: [shaping] default must be a table ([shaping.default]), got 5");
  EXPECT_CONFIG_ERROR("[shaping.domain]\n\"gmail.com\" = 5\n", 2u,
                      "petreld.toml:2: [shaping.domain] gmail.com must be a table of limits, got 5");
  EXPECT_CONFIG_ERROR("[shaping.rule]\nmatch = \"x\"\n", 1u,
                      "petreld.toml:1: [shaping] rule must be an array of tables ([[shaping.rule]]), got a table");
  expect_rejected_at("[shaping]\nrule = [5]\n", 2);
}

// ---- Values ----

TEST(ShapingValues, ConnectionLimitRange) {
  EXPECT_CONFIG_ERROR("[shaping.default]\nconnection_limit = 0\n", 2u,
                      "petreld.toml:2: [shaping.default] connection_limit must be a whole number from 1 to 10000, "
                      "got 0");
  expect_rejected_at("[shaping.default]\nconnection_limit = 10001\n", 2);
  expect_rejected_at("[shaping.default]\nconnection_limit = \"5\"\n", 2);
  expect_rejected_at("[shaping.default]\nmax_deliveries_per_connection = 0\n", 2);
}

TEST(ShapingValues, BadRate) {
  EXPECT_CONFIG_ERROR("[shaping.default]\nmax_message_rate = \"500/minutes\"\n", 2u,
                      "petreld.toml:2: [shaping.default] max_message_rate must be a rate such as \"500/min\", "
                      "\"50/s\", \"10/h\", or \"0\" for no limit, got \"500/minutes\"");
  for (const char* bad : {"500", "\"-1/s\"", "\"1.5/s\"", "\"\"", "\"99999999999999999999/s\"", "true"}) {
    expect_rejected_at(std::string("[shaping.domain.\"a.example\"]\n\nmax_connection_rate = ") + bad + "\n", 3);
  }
}

TEST(ShapingValues, BadDomainNames) {
  EXPECT_CONFIG_ERROR("[shaping.domain.\"exa mple.com\"]\nconnection_limit = 5\n", 1u,
                      "petreld.toml:1: [shaping.domain.\"exa mple.com\"] must be named by a domain such as "
                      "\"example.com\" (A-labels for IDNs)");
  for (const char* bad : {"bücher.example", "-a.com", "a..com", ""}) {
    expect_rejected_at(std::string("[shaping.domain.\"") + bad + "\"]\nconnection_limit = 5\n", 1);
  }
  expect_rejected_at(
      "[shaping.domain.\"gmail.com\"]\nconnection_limit = 1\n[[shaping.rule]]\n"
      "domain = \"gm ail.com\"\n" +
          kRuleBody,
      4);
}

TEST(ShapingValues, BadMxSuffix) {
  EXPECT_CONFIG_ERROR("[shaping.provider.yahoo]\nmx_suffix = [\"yahoo dns.net\"]\n", 2u,
                      "petreld.toml:2: [shaping.provider.yahoo] mx_suffix must be an MX host name ending such as "
                      "\".yahoodns.net\", got \"yahoo dns.net\"");
  expect_rejected_at("[shaping.provider.yahoo]\nmx_suffix = []\n", 2);
  expect_rejected_at("[shaping.provider.yahoo]\nmx_suffix = \".yahoodns.net\"\n", 2);
  expect_rejected_at("[shaping.provider.yahoo]\nmx_suffix = [\".\"]\n", 2);
}

TEST(ShapingValues, ProviderWithoutMxSuffix) {
  EXPECT_CONFIG_ERROR("[shaping.provider.yahoo]\nmax_message_rate = \"1/s\"\n", 1u,
                      "petreld.toml:1: [shaping.provider.yahoo] has no mx_suffix (the endings of its MX host names, "
                      "such as [\".yahoodns.net\"])");
}

TEST(ShapingValues, SourceNameWithSpaces) {
  EXPECT_CONFIG_ERROR("[shaping.source.\"a b\"]\nconnection_limit = 1\n", 1u,
                      "petreld.toml:1: [shaping.source.\"a b\"] must be named without spaces");
}

// ---- Rules ----

TEST(ShapingRules, BadRegex) {
  EXPECT_CONFIG_ERROR(
      "[[shaping.rule]]\nmatch = \"[TSS04\"\naction = \"suspend\"\nduration = \"2h\"\n", 2u,
      std::string("petreld.toml:2: [[shaping.rule]] match must be an ECMAScript regular expression, "
                  "got \"[TSS04\" (") +
          [] {
            try {
              std::regex("[TSS04");
            } catch (const std::regex_error& e) {
              return std::string(e.what());
            }
            return std::string();
          }() +
          ")");
  expect_rejected_at("[[shaping.rule]]\naction = \"suspend\"\nduration = \"2h\"\nmatch = \"(a\"\n", 4);
  expect_rejected_at("[[shaping.rule]]\naction = \"suspend\"\nduration = \"2h\"\nmatch = \"\"\n", 4);
}

TEST(ShapingRules, UnknownProviderSuggestsTheClosest) {
  EXPECT_CONFIG_ERROR(kYahoo + "[[shaping.rule]]\nprovider = \"yahooo\"\n" + kRuleBody, 4u,
                      "petreld.toml:4: [[shaping.rule]] provider \"yahooo\" is not a [shaping.provider] (did you "
                      "mean \"yahoo\"?)");
  EXPECT_CONFIG_ERROR("[[shaping.rule]]\nprovider = \"google\"\n" + kRuleBody, 2u,
                      "petreld.toml:2: [[shaping.rule]] provider \"google\" is not a [shaping.provider]");
}

TEST(ShapingRules, DomainWithoutItsBlock) {
  EXPECT_CONFIG_ERROR(
      "[shaping.domain.\"gmail.com\"]\nconnection_limit = 1\n[[shaping.rule]]\n"
      "domain = \"gmial.com\"\n" +
          kRuleBody,
      4u,
      "petreld.toml:4: [[shaping.rule]] domain \"gmial.com\" has no [shaping.domain.\"gmial.com\"] "
      "block (did you mean \"gmail.com\"?)");
}

TEST(ShapingRules, DomainIsComparedNormalized) {
  EXPECT_NO_THROW(
      load_config_text("[shaping.domain.\"gmail.com\"]\nconnection_limit = 1\n[[shaping.rule]]\n"
                       "domain = \"GMail.com.\"\n" +
                           kRuleBody,
                       "petreld.toml"));
}

TEST(ShapingRules, ProviderAndDomainBoth) {
  EXPECT_CONFIG_ERROR(kYahoo + "[[shaping.rule]]\nprovider = \"yahoo\"\ndomain = \"yahoo.com\"\n" + kRuleBody, 5u,
                      "petreld.toml:5: [[shaping.rule]] names both a provider and a domain; give one (or neither, "
                      "for every site)");
}

TEST(ShapingRules, MissingMatchActionOrDuration) {
  EXPECT_CONFIG_ERROR("[shaping]\n\n[[shaping.rule]]\naction = \"suspend\"\nduration = \"2h\"\n", 3u,
                      "petreld.toml:3: [[shaping.rule]] has no match (a regular expression over the reply, such as "
                      "'\\[TSS04\\]')");
  EXPECT_CONFIG_ERROR("[[shaping.rule]]\nmatch = \"x\"\nduration = \"2h\"\n", 1u,
                      "petreld.toml:1: [[shaping.rule]] has no action (\"suspend\" or \"set\")");
  EXPECT_CONFIG_ERROR("[[shaping.rule]]\nmatch = \"x\"\naction = \"suspend\"\n", 1u,
                      "petreld.toml:1: [[shaping.rule]] has no duration (how long its action lasts, such as \"2h\")");
}

TEST(ShapingRules, SecondRuleIsReportedAtItsOwnLine) {
  expect_rejected_at("[[shaping.rule]]\n" + kRuleBody + "\n[[shaping.rule]]\nmatch = \"x\"\n", 6);
}

TEST(ShapingRules, BadActionAndDuration) {
  EXPECT_CONFIG_ERROR("[[shaping.rule]]\nmatch = \"x\"\naction = \"pause\"\nduration = \"2h\"\n", 3u,
                      "petreld.toml:3: [[shaping.rule]] action must be one of \"suspend\", \"set\", got \"pause\"");
  expect_rejected_at("[[shaping.rule]]\nmatch = \"x\"\naction = \"suspend\"\nduration = \"0s\"\n", 4);
  expect_rejected_at("[[shaping.rule]]\nmatch = \"x\"\naction = \"suspend\"\nduration = \"2 hours\"\n", 4);
}

TEST(ShapingRules, SetWithSuspend) {
  EXPECT_CONFIG_ERROR("[[shaping.rule]]\n" + kRuleBody + "set = { connection_limit = 1 }\n", 5u,
                      "petreld.toml:5: [[shaping.rule]] has set = { ... } with action = \"suspend\"; set is for "
                      "action = \"set\"");
}

TEST(ShapingRules, SetMissingWithActionSet) {
  EXPECT_CONFIG_ERROR("[[shaping.rule]]\nmatch = \"x\"\naction = \"set\"\nduration = \"2h\"\n", 3u,
                      "petreld.toml:3: [[shaping.rule]] has action = \"set\" but no set = { ... } (the limits to "
                      "set)");
}

TEST(ShapingRules, SetThatSetsNothing) {
  EXPECT_CONFIG_ERROR("[[shaping.rule]]\nmatch = \"x\"\naction = \"set\"\nduration = \"2h\"\nset = {}\n", 5u,
                      "petreld.toml:5: [[shaping.rule]] set = {} sets no limit; give at least one of "
                      "connection_limit, max_connection_rate, max_deliveries_per_connection, max_message_rate");
  expect_rejected_at(
      "[[shaping.rule]]\nmatch = \"x\"\naction = \"set\"\nduration = \"2h\"\nset = { connection_limit = 0 }\n", 5);
}

TEST(ShapingRules, BadTrigger) {
  EXPECT_CONFIG_ERROR("[[shaping.rule]]\n" + kRuleBody + "trigger = \"2/fortnight\"\n", 5u,
                      "petreld.toml:5: [[shaping.rule]] trigger must be a rate such as \"500/min\", \"50/s\", "
                      "\"10/h\", or \"0\" for no limit, got \"2/fortnight\"");
}

// ---- Included files ----

TEST(ShapingInclude, MustBeAnArrayOfNames) {
  EXPECT_CONFIG_ERROR("[shaping]\ninclude = \"x.toml\"\n", 2u,
                      "petreld.toml:2: [shaping] include must be an array of file names such as [\"shaping.toml\"], "
                      "got \"x.toml\"");
  expect_rejected_at("[shaping]\ninclude = [\n\"\"]\n", 3);
}

TEST(ShapingInclude, MissingFileIsReportedWhereItIsIncluded) {
  Files files;
  const std::string main = files.write("petreld.toml", "[shaping]\ninclude = [\n  \"missing.toml\",\n]\n");
  const ConfigError e = error_of_file(main);
  EXPECT_EQ(e.file(), main);
  EXPECT_EQ(e.line(), 3u);
  const std::string missing = std::filesystem::path(main).parent_path().string() + "/missing.toml";
  EXPECT_EQ(std::string(e.what()),
            main + ":3: [shaping] include: cannot read " + missing + ": No such file or directory");
}

TEST(ShapingInclude, OnlyRegularFiles) {
  EXPECT_CONFIG_ERROR("[shaping]\ninclude = [\"/dev/null\"]\n", 2u,
                      "petreld.toml:2: [shaping] include: /dev/null is not a regular file");
  EXPECT_CONFIG_ERROR("[shaping]\ninclude = [\"/tmp\"]\n", 2u,
                      "petreld.toml:2: [shaping] include: /tmp is not a regular file");
}

TEST(ShapingInclude, LoopIsAnError) {
  Files files;
  const std::string a = files.write("a.toml", "[shaping]\ninclude = [\"b.toml\"]\n");
  const std::string b =
      files.write("b.toml", "[shaping.default]\nconnection_limit = 1\n\n[shaping]\ninclude = [\"a.toml\"]\n");
  const ConfigError e = error_of_file(files.write("petreld.toml", "[shaping]\ninclude = [\"a.toml\"]\n"));
  EXPECT_EQ(e.file(), b);
  EXPECT_EQ(e.line(), 5u);
  EXPECT_EQ(std::string(e.what()),
            b + ":5: [shaping] include of \"a.toml\" is a loop: " + a + " is already being read");
}

TEST(ShapingInclude, FileIncludingItselfIsALoop) {
  Files files;
  const std::string main = files.write("petreld.toml", "[shaping]\ninclude = [\"./petreld.toml\"]\n");
  const ConfigError e = error_of_file(main);
  EXPECT_EQ(e.line(), 2u);
  EXPECT_NE(std::string(e.what()).find("is a loop"), std::string::npos) << e.what();
}

TEST(ShapingInclude, SameFileTwiceIsNotALoop) {
  Files files;
  files.write("base.toml", "[shaping.default]\nconnection_limit = 1\n");
  const Config c =
      load_config_file(files.write("petreld.toml", "[shaping]\ninclude = [\"base.toml\", \"base.toml\"]\n"));
  EXPECT_EQ(c.shaping.defaults.connection_limit, 1u);
}

TEST(ShapingInclude, ErrorsInsideAnIncludedFileNameThatFile) {
  Files files;
  const std::string inner = files.write("inner.toml", "[shaping.default]\n\nconnection_limit = 0\n");
  const ConfigError e = error_of_file(files.write("petreld.toml", "[shaping]\ninclude = [\"inner.toml\"]\n"));
  EXPECT_EQ(e.file(), inner);
  EXPECT_EQ(e.line(), 3u);
  EXPECT_EQ(std::string(e.what()),
            inner + ":3: [shaping.default] connection_limit must be a whole number from 1 to 10000, got 0");
}

TEST(ShapingInclude, SyntaxErrorInsideAnIncludedFile) {
  Files files;
  const std::string inner = files.write("inner.toml", "[shaping.default]\nconnection_limit = = 3\n");
  const ConfigError e = error_of_file(files.write("petreld.toml", "[shaping]\ninclude = [\"inner.toml\"]\n"));
  EXPECT_EQ(e.file(), inner);
  EXPECT_EQ(e.line(), 2u);
}

TEST(ShapingInclude, IncludedFileHoldsOnlyShaping) {
  Files files;
  const std::string inner =
      files.write("inner.toml", "[shaping.default]\nconnection_limit = 3\n[server]\nthreads = 1\n");
  const ConfigError e = error_of_file(files.write("petreld.toml", "[shaping]\ninclude = [\"inner.toml\"]\n"));
  EXPECT_EQ(e.file(), inner);
  EXPECT_EQ(e.line(), 3u);
  EXPECT_EQ(std::string(e.what()), inner + ":3: a file included by [shaping] holds only [shaping], not 'server'");
}

TEST(ShapingInclude, RuleInAnIncludedFileNamingAnUnknownProvider) {
  Files files;
  const std::string inner = files.write("inner.toml", "[[shaping.rule]]\nprovider = \"yaho\"\n" + kRuleBody);
  const ConfigError e = error_of_file(files.write("petreld.toml", "[shaping]\ninclude = [\"inner.toml\"]\n" + kYahoo));
  EXPECT_EQ(std::string(e.what()),
            inner + ":2: [[shaping.rule]] provider \"yaho\" is not a [shaping.provider] (did you mean \"yahoo\"?)");
}

}  // namespace
}  // namespace petrel::config
