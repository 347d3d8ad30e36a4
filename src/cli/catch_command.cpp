#include "cli/catch_command.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <unistd.h>

#include "cli/catch_http.hpp"
#include "cli/catch_server.hpp"
#include "tls/self_signed.hpp"
#include "util/ascii.hpp"

namespace petrel::cli {
namespace {

struct CatchFlags {
  std::string listen = "127.0.0.1:2525";
  std::string maildir = "./caught";
  std::string hostname = "localhost";
  std::string tls_cert;
  std::string tls_key;
  bool self_signed = false;
  std::vector<std::string> auth;
  std::string offer;
  std::string script;
  bool once = false;
  bool json = false;
  std::string resolver;
  std::string http;  // --http ADDR:PORT: the web view
};

using util::ascii_upper;

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// "127.0.0.1:2525", "[::1]:2525", "localhost:25".
bool parse_listen(const std::string& text, CatchSettings& settings) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  try {
    const unsigned long port = std::stoul(text.substr(colon + 1));
    if (port > 65535) return false;
    settings.listen_port = static_cast<std::uint16_t>(port);
  } catch (const std::exception&) {
    return false;
  }
  settings.listen_host = host;
  return true;
}

// A throwaway certificate for --self-signed, in a private directory.
bool make_self_signed(CatchSettings& settings) {
  char dir_template[] = "/tmp/petrel-catch-XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) return false;
  settings.tls_cert = std::string(dir_template) + "/cert.pem";
  settings.tls_key = std::string(dir_template) + "/key.pem";
  tls::write_self_signed(settings.tls_cert, settings.tls_key, settings.hostname);
  return true;
}

int run(const CatchFlags& flags) {
  CatchSettings settings;
  if (!parse_listen(flags.listen, settings)) {
    std::fprintf(stderr, "petrel catch: --listen %s: expected ADDR:PORT\n", flags.listen.c_str());
    return kCatchCannotListen;
  }
  std::string error;
  const auto offer = parse_offer(flags.offer, error);
  if (!offer) {
    std::fprintf(stderr, "petrel catch: --offer: %s\n", error.c_str());
    return kCatchCannotListen;
  }
  settings.offer = *offer;
  settings.maildir = flags.maildir;
  settings.hostname = flags.hostname;
  settings.once = flags.once;
  settings.json = flags.json;
  settings.resolver = flags.resolver;
  settings.script = flags.script;
  for (const auto& user_pass : flags.auth) {
    const auto colon = user_pass.find(':');
    if (colon == std::string::npos || colon == 0) {
      std::fprintf(stderr, "petrel catch: --auth %s: expected USER:PASS\n", user_pass.c_str());
      return kCatchCannotListen;
    }
    settings.users[user_pass.substr(0, colon)] = user_pass.substr(colon + 1);
  }
  if (flags.tls_cert.empty() != flags.tls_key.empty()) {
    std::fprintf(stderr, "petrel catch: --tls-cert and --tls-key go together\n");
    return kCatchCannotListen;
  }
  settings.tls_cert = flags.tls_cert;
  settings.tls_key = flags.tls_key;
  std::shared_ptr<catchweb::WebServer> web;  // on threads of its own, until run_catch returns
  if (!flags.http.empty() && !(web = start_catch_http(flags.http, settings.maildir))) return kCatchCannotListen;
  try {
    if (flags.self_signed && settings.tls_cert.empty() && !make_self_signed(settings)) {
      std::fprintf(stderr, "petrel catch: cannot make a directory for the self-signed certificate\n");
      return kCatchCannotListen;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "petrel catch: %s\n", e.what());
    return kCatchCannotListen;
  }
  const int status = run_catch(settings);
  if (flags.self_signed && flags.tls_cert.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(std::filesystem::path(settings.tls_cert).parent_path(), ec);
  }
  return status;
}

}  // namespace

const std::vector<std::string>& catch_keywords() {
  static const std::vector<std::string> keywords{"PIPELINING", "SIZE", "8BITMIME",   "SMTPUTF8", "CHUNKING",
                                                 "BINARYMIME", "DSN",  "STARTTLS",   "AUTH",     "ENHANCEDSTATUSCODES"};
  return keywords;
}

std::optional<CatchOffer> parse_offer(std::string_view text, std::string& error) {
  CatchOffer offer;
  if (trim(text).empty()) {
    offer.keywords = catch_keywords();
    return offer;
  }
  if (ascii_upper(trim(text)) == "NONE") {
    offer.esmtp = false;
    return offer;
  }
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string keyword = ascii_upper(trim(text.substr(0, comma)));
    text.remove_prefix(comma == std::string_view::npos ? text.size() : comma + 1);
    if (keyword.empty()) continue;
    const auto& known = catch_keywords();
    if (std::find(known.begin(), known.end(), keyword) == known.end()) {
      error = "unknown keyword " + keyword + " (known: PIPELINING, SIZE, 8BITMIME, SMTPUTF8, CHUNKING, BINARYMIME, "
              "DSN, STARTTLS, AUTH, ENHANCEDSTATUSCODES, or none)";
      return std::nullopt;
    }
    if (std::find(offer.keywords.begin(), offer.keywords.end(), keyword) == offer.keywords.end()) {
      offer.keywords.push_back(keyword);
    }
  }
  return offer;
}

void add_catch_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<CatchFlags>();
  CLI::App* cmd = app.add_subcommand(
      "catch",
      "Run an SMTP server for tests: keep every message in a Maildir, relay nothing, and grade how each client "
      "spoke. Exit status with --once: 0 no warnings or failures, 1 warnings, 2 failures; 3 cannot listen.");
  cmd->add_option("--listen", flags->listen, "Address and port to listen on (default 127.0.0.1:2525)")
      ->type_name("ADDR:PORT");
  cmd->add_option("--maildir", flags->maildir, "Maildir for caught messages, reports in its reports/ (default ./caught)")
      ->type_name("DIR");
  cmd->add_option("--hostname", flags->hostname, "Name in the greeting and EHLO reply (default localhost)");
  cmd->add_option("--tls-cert", flags->tls_cert, "PEM certificate (chain): offer STARTTLS")->check(CLI::ExistingFile);
  cmd->add_option("--tls-key", flags->tls_key, "PEM private key of --tls-cert")->check(CLI::ExistingFile);
  cmd->add_flag("--self-signed", flags->self_signed, "Offer STARTTLS with a throwaway self-signed certificate");
  cmd->add_option("--auth", flags->auth, "Accept AUTH PLAIN/LOGIN for this user, before or after STARTTLS (repeatable)")
      ->type_name("USER:PASS");
  cmd->add_option("--offer", flags->offer,
                  "EHLO keywords to advertise, comma-separated (default all: PIPELINING, SIZE, 8BITMIME, SMTPUTF8, "
                  "CHUNKING, BINARYMIME, DSN, STARTTLS, AUTH, ENHANCEDSTATUSCODES); none: refuse EHLO")
      ->type_name("LIST");
  cmd->add_option("--resolver", flags->resolver,
                  "DNS server (ADDR or ADDR:PORT) for the DKIM keys of signed messages (default: /etc/resolv.conf's)");
  cmd->add_option("--script", flags->script,
                  "Scripted faults: a TOML file of [[rule]] tables, or provider-like for a busy big provider "
                  "(docs/petrel-catch.md, SCRIPTED FAULTS)")
      ->type_name("FILE");
  cmd->add_flag("--once", flags->once, "Handle one session, then exit with its verdict");
  cmd->add_flag("--json", flags->json, "Print each session's report as JSON on stdout; the dialogue goes to stderr");
  cmd->add_option("--http", flags->http,
                  "Serve a web page and a JSON API (/api/v1/caught) of the caught messages and their reports here; "
                  "no authentication, so loopback unless you mean it")
      ->type_name("ADDR:PORT");
  cmd->callback([flags, &exit_code] { exit_code = run(*flags); });
}

}  // namespace petrel::cli
