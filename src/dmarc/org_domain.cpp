#include "dmarc/org_domain.hpp"

#include <libpsl.h>

#include <algorithm>
#include <stdexcept>

namespace petrel::dmarc {
namespace {

constexpr const char* kDebianList = "/usr/share/publicsuffix/public_suffix_list.dat";

std::string lowered(std::string_view domain) {
  std::string out(domain);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; });
  return out;
}

// psl_latest() takes the newer of Debian's file (psl_dist_filename(), the
// publicsuffix package's .dafsa) and the copy built into libpsl from it.
psl_ctx_t* load_system_list() {
  if (psl_ctx_t* latest = psl_latest(nullptr)) return latest;
  return psl_load_file(kDebianList);
}

}  // namespace

const PublicSuffixList& PublicSuffixList::system() {
  static const PublicSuffixList list = [] {
    psl_ctx_t* context = load_system_list();
    if (!context) throw std::runtime_error("cannot load the Public Suffix List (install the publicsuffix package)");
    return PublicSuffixList(context);
  }();
  return list;
}

PublicSuffixList::PublicSuffixList(const std::string& file) : context_(psl_load_file(file.c_str())) {
  if (!context_) throw std::runtime_error("cannot read the Public Suffix List " + file);
}

PublicSuffixList::~PublicSuffixList() { psl_free(context_); }

std::string PublicSuffixList::organizational_domain(std::string_view domain) const {
  std::string name = lowered(domain);
  // Not a domain name (an empty label, a NUL that would cut the C string
  // libpsl reads): it shares an organization with nothing but itself.
  if (name.empty() || name.front() == '.' || name.find("..") != std::string::npos ||
      name.find('\0') != std::string::npos) {
    return name;
  }
  if (name.back() == '.') name.pop_back();
  // The shortest registrable name: a pointer into `name`, or null when the
  // name is itself a public suffix.
  const char* registrable = psl_registrable_domain(context_, name.c_str());
  return registrable ? std::string(registrable) : name;
}

}  // namespace petrel::dmarc
