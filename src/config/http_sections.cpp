// The keys of [http]: the HTTP listener of the injection API and of the
// unsubscribe links; docs/config.md and docs/api.md.
#include <arpa/inet.h>

#include "config/reading.hpp"

namespace petrel::config::detail {
namespace {

std::vector<std::string> read_listen(const Field& f) {
  if (f.value.is_string()) {
    const std::string one = read_string(f, f.value, valid_listen, "\"ADDR:PORT\" such as \"127.0.0.1:8025\"");
    return {one};
  }
  return read_listen_list(f);
}

// http:// or https:// and a host, without a trailing slash.
bool valid_public_url(std::string_view s) {
  const bool scheme = s.starts_with("https://") || s.starts_with("http://");
  const std::size_t host = s.find("://") + 3;
  return scheme && s.size() > host && !s.ends_with("/") && s.find_first_of(" \t\r\n\"<>") == std::string_view::npos;
}

const Key kHttpKeys[] = {
    {"listen", [](const Field& f, Config& c) { c.http.listen = read_listen(f); }},
    {"tls", [](const Field& f, Config& c) { c.http.tls = read_bool(f); }},
    {"api_tokens_file", [](const Field& f, Config& c) { c.http.api_tokens_file = read_path(f); }},
    {"public_url",
     [](const Field& f, Config& c) {
       c.http.public_url = read_string(f, f.value, valid_public_url,
                                       "a URL such as \"https://mail.example.org\" (no trailing slash)");
     }},
    {"max_request_size", [](const Field& f, Config& c) { c.http.max_request_size = read_size(f, 1024); }},
    {"max_recipients", [](const Field& f, Config& c) { c.http.max_recipients = read_count(f, 1, 1'000'000); }},
    {"max_connections", [](const Field& f, Config& c) { c.http.max_connections = read_count(f, 1, 100'000); }},
    {"request_timeout", [](const Field& f, Config& c) { c.http.request_timeout = read_duration(f, f.value); }},
    {"max_queued", [](const Field& f, Config& c) { c.http.max_queued = read_count(f, 1); }},
    {"threads", [](const Field& f, Config& c) { c.http.threads = static_cast<unsigned>(read_count(f, 0, 256)); }},
    {"metrics_public", [](const Field& f, Config& c) { c.http.metrics_public = read_bool(f); }},
    {"metrics_max_sites", [](const Field& f, Config& c) { c.http.metrics_max_sites = read_count(f, 1, 10'000); }},
};

const Key kUnsubscribeKeys[] = {
    {"campaigns",
     [](const Field& f, Config& c) {
       c.unsubscribe.campaigns = read_array<std::string>(f, "campaign names", true, [&](const toml::node& n) {
         return read_string(f, n, non_empty, "a campaign name, or \"*\" for all");
       });
     }},
    {"mailto", [](const Field& f, Config& c) { c.unsubscribe.mailto = read_bool(f); }},
    {"link_lifetime",
     [](const Field& f, Config& c) {
       c.unsubscribe.link_lifetime = read_duration(f, f.value);
       if (c.unsubscribe.link_lifetime < std::chrono::hours(24 * 30)) {
         f.fail("at least \"30d\" (a link must work for 30 days after the message: CAN-SPAM)");
       }
     }},
    {"mailto_domain",
     [](const Field& f, Config& c) { c.unsubscribe.mailto_domain = read_string(f, f.value, valid_domain, "a domain name"); }},
};

const Key kBouncesKeys[] = {
    {"rules_file", [](const Field& f, Config& c) { c.bounces.rules_file = read_path(f); }},
    {"complaints_address",
     [](const Field& f, Config& c) {
       c.bounces.complaints_address = read_string(f, f.value, [](std::string_view s) {
         const auto at = s.rfind('@');
         return at != std::string_view::npos && at > 0 && valid_domain(s.substr(at + 1)) &&
                s.find_first_of(" <>\"") == std::string_view::npos;
       }, "an address such as \"fbl@mail.example.org\"");
     }},
    {"suppress",
     [](const Field& f, Config& c) {
       // The names are checked against the classifier's at start (petreld).
       c.bounces.suppress = read_array<std::string>(f, "bounce classes", true, [&](const toml::node& n) {
         return read_string(f, n, non_empty, "a bounce class such as \"invalid_recipient\"");
       });
     }},
};

bool loopback(std::string_view listen) {
  const std::string addr(listen.substr(0, listen.rfind(':')));
  if (addr == "localhost" || addr == "[::1]") return true;
  in_addr v4{};
  return inet_pton(AF_INET, addr.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

}  // namespace

std::span<const Key> http_keys() { return kHttpKeys; }
std::span<const Key> unsubscribe_keys() { return kUnsubscribeKeys; }
std::span<const Key> bounces_keys() { return kBouncesKeys; }

void validate_http(const Config& c, const std::string& name) {
  auto fail = [&](const std::string& message) { throw ConfigError(name, 0, message); };
  for (const std::string& l : c.http.listen) {
    if (!valid_listen(l)) fail("[http] listen entries must be \"ADDR:PORT\", got \"" + l + "\"");
    // API tokens travel in every request: never in clear text across a network.
    if (!c.http.tls && !loopback(l)) {
      fail("[http] listen \"" + l + "\" is not a loopback address: set [http] tls = true (API tokens must not "
           "cross a network in clear text), or listen on 127.0.0.1 behind a TLS proxy");
    }
  }
  if (c.http.tls && (c.tls.certificate.cert.empty() || c.tls.certificate.key.empty())) {
    fail("[http] tls = true needs [tls] cert_file and key_file");
  }
  if (c.http.request_timeout.count() <= 0) fail("[http] request_timeout must be > 0");
}

}  // namespace petrel::config::detail
