#include "util/idn.hpp"

#include <idn2.h>

#include <algorithm>
#include <cstdlib>

namespace petrel::util {
namespace {

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

std::string ascii_domain(std::string_view domain) {
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  const bool ascii = std::all_of(domain.begin(), domain.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) return ascii_lower(domain);
  const std::string input(domain);
  char* converted = nullptr;
  // NFC first: the same name may arrive composed or decomposed.
  if (idn2_to_ascii_8z(input.c_str(), &converted, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) != IDN2_OK) {
    return ascii_lower(domain);
  }
  std::string out = ascii_lower(converted);
  std::free(converted);
  return out;
}

}  // namespace petrel::util
