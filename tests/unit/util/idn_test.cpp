#include "util/idn.hpp"

#include <gtest/gtest.h>

namespace petrel::util {
namespace {

TEST(AsciiDomain, ascii_is_lower_cased_without_trailing_dot) {
  EXPECT_EQ(ascii_domain("Mail.Example.ORG."), "mail.example.org");
  EXPECT_EQ(ascii_domain("localhost"), "localhost");
}

TEST(AsciiDomain, u_labels_become_a_labels) {
  EXPECT_EQ(ascii_domain("bücher.example"), "xn--bcher-kva.example");
  EXPECT_EQ(ascii_domain("BÜCHER.example."), "xn--bcher-kva.example");
  EXPECT_EQ(ascii_domain("XN--BCHER-KVA.example"), "xn--bcher-kva.example");
}

TEST(AsciiDomain, decomposed_and_composed_forms_are_one_domain) {
  EXPECT_EQ(ascii_domain("bu\xcc\x88" "cher.example"), "xn--bcher-kva.example");  // u + combining diaeresis
}

TEST(AsciiDomain, invalid_names_stay_unconverted) {
  EXPECT_EQ(ascii_domain("\xff\xfe.example"), "\xff\xfe.example");
}

}  // namespace
}  // namespace petrel::util
