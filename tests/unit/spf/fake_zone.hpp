// A DNS zone as a table, and a synchronous driver that answers
// spf::Evaluator's lookups from it: what petreld's coroutine does with
// the resolver, minus the network.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "spf/evaluator.hpp"

namespace petrel::spf::testing {

class Zone {
 public:
  Zone& txt(const std::string& name, std::vector<std::string> strings) {
    txt_[key(name)].push_back(dns::TxtRecord{std::move(strings)});
    return own(name);
  }
  Zone& txt(const std::string& name, const std::string& text) { return txt(name, std::vector<std::string>{text}); }
  // An A or an AAAA record, by the address's form.
  Zone& address(const std::string& name, const std::string& text) {
    const auto ip = dns::IpAddress::parse(text);
    EXPECT_TRUE(ip) << text;
    (ip->is_v6() ? aaaa_ : a_)[key(name)].push_back(*ip);
    return own(name);
  }
  Zone& mx(const std::string& name, std::uint16_t preference, const std::string& host) {
    mx_[key(name)].push_back(dns::MxRecord{preference, host});
    return own(name);
  }
  Zone& ptr(const std::string& address, const std::string& host) {
    const std::string name = dns::reverse_name(*dns::IpAddress::parse(address));
    ptr_[name].push_back(host);
    return own(name);
  }
  // The lookup ends in SERVFAIL.
  Zone& servfail(Lookup::Kind kind, const std::string& name) {
    failing_.emplace(kind, key(name));
    return *this;
  }

  template <class Record>
  dns::Answer<Record> answer(const std::map<std::string, std::vector<Record>>& table, const Lookup& lookup) const {
    dns::Answer<Record> answer;
    if (failing_.count({lookup.kind, key(lookup.name)})) {
      answer.error = "SERVFAIL";
      return answer;  // temporary_failure
    }
    if (const auto it = table.find(key(lookup.name)); it != table.end()) {
      answer.outcome = dns::Outcome::ok;
      answer.records = it->second;
      return answer;
    }
    answer.outcome = names_.count(key(lookup.name)) ? dns::Outcome::nodata : dns::Outcome::nxdomain;
    return answer;
  }

  void feed(Evaluator& evaluator, const Lookup& lookup) const {
    switch (lookup.kind) {
      case Lookup::Kind::txt: evaluator.feed(answer(txt_, lookup)); break;
      case Lookup::Kind::a: evaluator.feed(answer(a_, lookup)); break;
      case Lookup::Kind::aaaa: evaluator.feed(answer(aaaa_, lookup)); break;
      case Lookup::Kind::mx: evaluator.feed(answer(mx_, lookup)); break;
      case Lookup::Kind::ptr: evaluator.feed(answer(ptr_, lookup)); break;
    }
  }

 private:
  static std::string key(std::string name) {
    std::transform(name.begin(), name.end(), name.begin(), [](char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; });
    return name;
  }
  Zone& own(const std::string& name) {
    // Every name above an owner exists too (empty non-terminals answer NODATA).
    for (std::string n = key(name);; n = n.substr(n.find('.') + 1)) {
      names_.insert(n);
      if (n.find('.') == std::string::npos) break;
    }
    return *this;
  }

  std::map<std::string, std::vector<dns::TxtRecord>> txt_;
  std::map<std::string, std::vector<dns::IpAddress>> a_, aaaa_;
  std::map<std::string, std::vector<dns::MxRecord>> mx_;
  std::map<std::string, std::vector<std::string>> ptr_;
  std::set<std::pair<Lookup::Kind, std::string>> failing_;
  std::set<std::string> names_;
};

struct Run {
  Outcome outcome;
  std::vector<Lookup> lookups;  // in the order asked
  std::string asked(std::size_t i) const {
    return i < lookups.size() ? std::string(to_string(lookups[i].kind)) + " " + lookups[i].name : "(none)";
  }
};

inline Run check(const Zone& zone, Input input) {
  Run run;
  Evaluator evaluator(std::move(input));
  while (const auto lookup = evaluator.next_lookup()) {
    EXPECT_FALSE(lookup->name.ends_with(".")) << lookup->name;
    run.lookups.push_back(*lookup);
    if (run.lookups.size() > 200) {
      ADD_FAILURE() << "the evaluation does not end";
      break;
    }
    zone.feed(evaluator, *lookup);
  }
  EXPECT_TRUE(evaluator.done());
  run.outcome = evaluator.outcome();
  return run;
}

// MAIL FROM `sender` from `client`: the domain checked is the sender's.
inline Input mail_from(const std::string& client, const std::string& sender) {
  Input input;
  input.client = *dns::IpAddress::parse(client);
  input.sender = sender;
  input.helo = "mail.example.net";
  input.domain = sender.substr(sender.rfind('@') + 1);
  input.receiver = "mx.petrel.test";
  input.now = 1700000000;
  return input;
}

inline Result result(const Zone& zone, const std::string& client, const std::string& sender) {
  return check(zone, mail_from(client, sender)).outcome.result;
}

}  // namespace petrel::spf::testing
