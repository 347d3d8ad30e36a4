// The name of the site a set of MX hosts makes up (KumoMTA's "MX rollup"):
// domains served by the same MX hosts share one queue and one set of
// limits, so the name must depend on the set alone.
//
//   {mx1.example.net, mx2.example.net}        -> "(mx1|mx2).example.net"
//   {gmail-smtp-in.l.google.com, alt1.gmail-smtp-in.l.google.com,
//    alt2.gmail-smtp-in.l.google.com}         -> "(alt1|alt2)?.gmail-smtp-in.l.google.com"
//   {mx.a.example, mx.b.example}              -> "mx.a.example,mx.b.example"
#include <map>
#include <set>

#include "shaping/host_name.hpp"
#include "shaping/shaping.hpp"

namespace petrel::shaping {
namespace {

// The hosts of more than one label by what follows their first label:
// "mx1.example.net" is filed as "mx1" under "example.net".
using Groups = std::map<std::string, std::set<std::string>>;

std::string alternatives(const std::set<std::string>& labels) {
  std::string out;
  for (const std::string& label : labels) out += (out.empty() ? "(" : "|") + label;
  return out + ")";
}

}  // namespace

std::string site_name(const std::vector<std::string>& mx_hosts) {
  std::set<std::string> hosts;
  for (const std::string& host : mx_hosts) {
    if (std::string name = detail::normalize_host(host); !name.empty()) hosts.insert(std::move(name));
  }
  Groups groups;
  for (const std::string& host : hosts) {
    if (const std::size_t dot = host.find('.'); dot != std::string::npos) {
      groups[host.substr(dot + 1)].insert(host.substr(0, dot));
    }
  }

  // A host that is itself the parent of a fold, and not part of a fold of
  // its own, is written as the fold's "?": "(alt1|alt2)?.gmail-smtp-in...".
  auto folded_alone = [&](const std::string& host) {
    const std::size_t dot = host.find('.');
    if (dot == std::string::npos) return false;
    auto group = groups.find(host.substr(dot + 1));
    return group != groups.end() && group->second.size() == 1;
  };
  std::set<std::string> absorbed;
  for (const auto& [parent, labels] : groups) {
    if (labels.size() > 1 && hosts.contains(parent) &&
        (parent.find('.') == std::string::npos || folded_alone(parent))) {
      absorbed.insert(parent);
    }
  }

  std::set<std::string> parts;  // sorted: the order of the MX records must not matter
  for (const std::string& host : hosts) {
    if (host.find('.') == std::string::npos && !absorbed.contains(host)) parts.insert(host);
  }
  for (const auto& [parent, labels] : groups) {
    if (labels.size() > 1) {
      parts.insert(alternatives(labels) + (absorbed.contains(parent) ? "?." : ".") + parent);
    } else if (const std::string host = *labels.begin() + "." + parent; !absorbed.contains(host)) {
      parts.insert(host);
    }
  }
  std::string name;
  for (const std::string& part : parts) name += (name.empty() ? "" : ",") + part;
  return name;
}

}  // namespace petrel::shaping
