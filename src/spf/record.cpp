#include "spf/record.hpp"

#include <algorithm>
#include <array>

#include "spf/macro.hpp"

namespace petrel::spf {
namespace {

constexpr std::string_view kVersion = "v=spf1";

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

bool fail(std::string& error, std::string message) {
  error = std::move(message);
  return false;
}

// Built with append: GCC 12's -Wrestrict misfires on "literal" + std::string&&.
std::string quoted(std::string_view term) {
  std::string out = "\"";
  out.append(term.substr(0, 60)).append("\"");
  return out;
}

// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
bool is_toplabel(std::string_view label) {
  if (label.empty() || !std::all_of(label.begin(), label.end(), [](char c) { return is_alnum(c) || c == '-'; })) {
    return false;
  }
  if (label.find('-') == std::string_view::npos) return std::any_of(label.begin(), label.end(), is_alpha);
  return is_alnum(label.front()) && is_alnum(label.back());
}

// domain-spec = macro-string domain-end; domain-end = ( "." toplabel [ "." ] ) / macro-expand
bool check_domain_spec(std::string_view spec, std::string& error) {
  if (spec.empty()) {
    error = "a domain is missing";
    return false;
  }
  if (!check_macro_string(spec, MacroUse::domain_spec, error)) return false;
  if (spec.back() == '}') return true;
  // "%%", "%_" and "%-" are macro-expands too, though no name ends in them.
  if (spec.size() >= 2 && spec[spec.size() - 2] == '%') return true;
  std::string_view name = spec;
  if (name.back() == '.') name.remove_suffix(1);
  const std::size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || !is_toplabel(name.substr(dot + 1))) {
    error = quoted(spec) + " does not end in a top-level domain (RFC 7208 §7.1)";
    return false;
  }
  return true;
}

// "/" ( "0" / %x31-39 0*2DIGIT ), at most `max`.
std::optional<unsigned> cidr_length(std::string_view digits, unsigned max) {
  if (digits.empty() || digits.size() > 3 || !std::all_of(digits.begin(), digits.end(), is_digit)) return std::nullopt;
  if (digits.size() > 1 && digits.front() == '0') return std::nullopt;
  unsigned value = 0;
  for (const char c : digits) value = value * 10 + (c - '0');
  if (value > max) return std::nullopt;
  return value;
}

// Takes the dual-cidr-length ("/24", "//64", "/24//64") off the end of `arg`.
bool take_dual_cidr(std::string_view& arg, Mechanism& m, std::string& error) {
  const auto trailing = [&arg](std::string_view prefix) -> std::optional<std::string_view> {
    const std::size_t slash = arg.rfind(prefix);
    if (slash == std::string_view::npos) return std::nullopt;
    const std::string_view digits = arg.substr(slash + prefix.size());
    if (!std::all_of(digits.begin(), digits.end(), is_digit)) return std::nullopt;
    arg = arg.substr(0, slash);
    return digits;
  };
  if (const auto v6 = trailing("//")) {
    const auto length = cidr_length(*v6, 128);
    if (!length) return fail(error, "bad IPv6 prefix length in " + quoted(m.text));
    m.cidr6 = *length;
  }
  if (const auto v4 = trailing("/")) {
    const auto length = cidr_length(*v4, 32);
    if (!length) return fail(error, "bad IPv4 prefix length in " + quoted(m.text));
    m.cidr4 = *length;
  }
  return true;
}

bool read_network(std::string_view arg, Mechanism& m, std::string& error) {
  const bool v6 = m.kind == Mechanism::Kind::ip6;
  const std::size_t slash = arg.find('/');
  const auto network = dns::IpAddress::parse(arg.substr(0, slash));
  if (!network || network->is_v6() != v6) {
    error = quoted(m.text) + " is not an " + (v6 ? "IPv6" : "IPv4") + " network";
    return false;
  }
  m.network = network;
  if (slash == std::string_view::npos) return true;
  const auto length = cidr_length(arg.substr(slash + 1), v6 ? 128 : 32);
  if (!length) {
    error = "bad prefix length in " + quoted(m.text);
    return false;
  }
  (v6 ? m.cidr6 : m.cidr4) = *length;
  return true;
}

struct MechanismName {
  std::string_view name;
  Mechanism::Kind kind;
};
constexpr std::array<MechanismName, 8> kMechanisms{{{"all", Mechanism::Kind::all},
                                                    {"include", Mechanism::Kind::include},
                                                    {"a", Mechanism::Kind::a},
                                                    {"mx", Mechanism::Kind::mx},
                                                    {"ptr", Mechanism::Kind::ptr},
                                                    {"ip4", Mechanism::Kind::ip4},
                                                    {"ip6", Mechanism::Kind::ip6},
                                                    {"exists", Mechanism::Kind::exists}}};

// The argument after the name: ":domain-spec" and/or "/cidr" by kind (§5).
bool read_argument(std::string_view rest, Mechanism& m, std::string& error) {
  using Kind = Mechanism::Kind;
  const bool has_domain = !rest.empty() && rest.front() == ':';
  if (m.kind == Kind::all) {
    if (!rest.empty()) return fail(error, quoted(m.text) + ": \"all\" takes no argument");
    return true;
  }
  if (m.kind == Kind::ip4 || m.kind == Kind::ip6) {
    if (!has_domain) return fail(error, quoted(m.text) + " needs a network");
    return read_network(rest.substr(1), m, error);
  }
  if (m.kind == Kind::a || m.kind == Kind::mx) {
    if (!take_dual_cidr(rest, m, error)) return false;
  }
  if (!has_domain) {
    if (!rest.empty() || m.kind == Kind::include || m.kind == Kind::exists) {
      return fail(error, quoted(m.text) + " is not a valid mechanism (RFC 7208 §5)");
    }
    return true;
  }
  m.domain_spec = std::string(rest.substr(1));
  if (!check_domain_spec(m.domain_spec, error)) return fail(error, quoted(m.text) + ": " + error);
  return true;
}

std::optional<Mechanism> read_mechanism(std::string_view term, std::string& error) {
  Mechanism m;
  m.text = std::string(term);
  if (const std::size_t q = std::string_view("+-~?").find(term.front()); q != std::string_view::npos) {
    m.qualifier = static_cast<Qualifier>(q);
    term.remove_prefix(1);
  }
  const std::size_t end = std::min(term.find_first_of(":/"), term.size());
  const auto known = std::find_if(kMechanisms.begin(), kMechanisms.end(),
                                  [&](const MechanismName& n) { return iequals(n.name, term.substr(0, end)); });
  if (known == kMechanisms.end()) {
    error = quoted(m.text) + " is not a mechanism (RFC 7208 §5)";
    return std::nullopt;
  }
  m.kind = known->kind;
  if (!read_argument(term.substr(end), m, error)) return std::nullopt;
  return m;
}

// name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ), followed by "=".
std::size_t modifier_name_length(std::string_view term) {
  if (term.empty() || !is_alpha(term.front())) return 0;
  std::size_t i = 1;
  while (i < term.size() && (is_alnum(term[i]) || term[i] == '-' || term[i] == '_' || term[i] == '.')) ++i;
  return i < term.size() && term[i] == '=' ? i : 0;
}

bool read_modifier(std::string_view term, std::size_t name_length, Record& record, std::string& error) {
  const std::string_view name = term.substr(0, name_length);
  const std::string_view value = term.substr(name_length + 1);
  const bool redirect = iequals(name, "redirect");
  if (!redirect && !iequals(name, "exp")) {
    if (!check_macro_string(value, MacroUse::unknown_modifier, error)) return fail(error, quoted(term) + ": " + error);
    return true;  // §6: unknown modifiers are ignored
  }
  std::optional<std::string>& slot = redirect ? record.redirect : record.explanation;
  if (slot) return fail(error, std::string(name) + "= is given twice (RFC 7208 §6)");
  if (!check_domain_spec(value, error)) return fail(error, quoted(term) + ": " + error);
  slot = std::string(value);
  return true;
}

}  // namespace

bool Mechanism::queries_dns() const {
  return kind == Kind::include || kind == Kind::a || kind == Kind::mx || kind == Kind::ptr || kind == Kind::exists;
}

bool Record::has_all() const {
  return std::any_of(mechanisms.begin(), mechanisms.end(), [](const Mechanism& m) { return m.kind == Mechanism::Kind::all; });
}

bool is_spf_record(std::string_view text) {
  return text.size() >= kVersion.size() && iequals(text.substr(0, kVersion.size()), kVersion) &&
         (text.size() == kVersion.size() || text[kVersion.size()] == ' ');
}

std::optional<Record> parse_record(std::string_view text, std::string& error) {
  if (!is_spf_record(text)) {
    error = "the record does not start with \"v=spf1\"";
    return std::nullopt;
  }
  Record record;
  text.remove_prefix(kVersion.size());
  while (!text.empty()) {
    // terms = *( 1*SP ( directive / modifier ) ); only SP separates them.
    const std::size_t start = text.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    text.remove_prefix(start);
    const std::string_view term = text.substr(0, text.find(' '));
    text.remove_prefix(term.size());
    if (const std::size_t name_length = modifier_name_length(term)) {
      if (!read_modifier(term, name_length, record, error)) return std::nullopt;
      continue;
    }
    auto mechanism = read_mechanism(term, error);
    if (!mechanism) return std::nullopt;
    record.mechanisms.push_back(std::move(*mechanism));
  }
  return record;
}

Selection select_record(const std::vector<dns::TxtRecord>& records) {
  Selection selection;
  for (const dns::TxtRecord& record : records) {
    std::string text = record.joined();
    if (!is_spf_record(text)) continue;
    if (selection.state != Selection::State::none) {
      selection.state = Selection::State::several;
      selection.text.clear();
      return selection;
    }
    selection.state = Selection::State::one;
    selection.text = std::move(text);
  }
  return selection;
}

}  // namespace petrel::spf
