#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"
#include "config_errors.hpp"

namespace petrel::config {
namespace {

using testing::error_of;

TEST(EgressErrors, a_source_without_an_address_is_refused_at_its_table) {
  EXPECT_EQ(error_of("[[egress.source]]\nname = \"a\"\n"), "petreld.toml:1: [[egress.source]] a needs an address");
}

TEST(EgressErrors, a_bad_address_and_an_unknown_key_name_their_line) {
  EXPECT_NE(error_of("[[egress.source]]\nname = \"a\"\naddress = \"mta1\"\n").find("petreld.toml:3:"), std::string::npos);
  EXPECT_NE(error_of("[[egress.source]]\nname = \"a\"\nadress = \"192.0.2.1\"\n").find("did you mean 'address'"),
            std::string::npos);
}

TEST(EgressErrors, a_pool_naming_no_source_is_refused) {
  const std::string e = error_of(
      "[[egress.source]]\nname = \"a\"\naddress = \"192.0.2.1\"\n"
      "[[egress.pool]]\nname = \"p\"\nsources = [{ name = \"b\" }]\n");
  EXPECT_NE(e.find("petreld.toml:6:"), std::string::npos) << e;
}

TEST(EgressErrors, warmup_needs_its_start_and_a_known_provider) {
  EXPECT_NE(error_of("[[egress.source]]\nname = \"a\"\naddress = \"192.0.2.1\"\nwarmup = { default = [10] }\n")
                .find("warmup needs warmup_start"),
            std::string::npos);
  const std::string e = error_of(
      "[[egress.source]]\nname = \"a\"\naddress = \"192.0.2.1\"\nwarmup_start = \"2026-12-01\"\n"
      "warmup = { gmial = [10] }\n[[egress.pool]]\nname = \"p\"\nsources = [{ name = \"a\" }]\n");
  EXPECT_NE(e.find("names no [shaping.provider.gmial]"), std::string::npos) << e;
}

TEST(EgressErrors, shaping_for_an_unknown_source_and_an_unknown_default_pool_are_refused) {
  EXPECT_NE(error_of("[shaping.source.\"x\"]\nconnection_limit = 1\n").find("names no [[egress.source]]"),
            std::string::npos);
  EXPECT_NE(error_of("[egress]\ndefault_pool = \"none\"\n").find("default_pool names no [[egress.pool]]"),
            std::string::npos);
}

}  // namespace
}  // namespace petrel::config
