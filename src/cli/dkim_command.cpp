#include "cli/dkim_command.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <utility>  // Boost 1.74's Asio headers need std::exchange declared first

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>

#include "cli/dkim_report.hpp"
#include "dkim/signer.hpp"
#include "dns/unbound_resolver.hpp"
#include "util/idn.hpp"

namespace petrel::cli {
namespace {

constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kUsage = 2;

struct KeygenFlags {
  std::string domain;
  std::string selector;
  std::string algorithm = "rsa";  // checked: parse_algorithm() takes it
  int bits = 0;  // 0: not given (kRecommendedRsaBits)
  std::string out_dir;
  bool force = false;
};

struct CheckFlags {
  std::string domain;
  std::string selector;
  std::string key_file;
  std::string resolver;
  double timeout_seconds = 5.0;
  bool json = false;
};

struct SignFlags {
  std::string key_file;
  std::string domain;
  std::string selector;
  std::string headers;  // "from:to:subject"; empty: the default list
  std::string message_file = "-";
};

// The domain as DNS and d= want it (A-labels, lower case), or "" with a
// message on stderr.
std::string usable_domain(const char* command, const std::string& domain, const std::string& selector) {
  std::string ascii = util::ascii_domain(domain);
  if (!dkim::valid_dns_name(ascii)) {
    std::fprintf(stderr, "petrel dkim %s: \"%s\" is not a domain name\n", command, domain.c_str());
    return {};
  }
  if (!dkim::valid_dns_name(selector)) {
    std::fprintf(stderr, "petrel dkim %s: \"%s\" is not a selector (letters, digits, '-', '_', dots)\n", command,
                 selector.c_str());
    return {};
  }
  return ascii;
}

// Writes `text` to `path` with mode 0600, all or nothing: a temporary file
// in the same directory, then linked to its name (which fails if the name
// exists) or, with `replace`, renamed over it. "" or what went wrong.
std::string write_private_file(const std::string& path, const std::string& text, bool replace) {
  std::string temporary = path + ".XXXXXX";
  const int fd = ::mkstemp(temporary.data());  // mode 0600
  if (fd < 0) return std::strerror(errno);
  std::string error;
  if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()) || ::fsync(fd) != 0) {
    error = std::strerror(errno);
  }
  ::close(fd);
  if (error.empty() && (replace ? ::rename(temporary.c_str(), path.c_str()) : ::link(temporary.c_str(), path.c_str())) != 0) {
    error = errno == EEXIST ? "the file exists (--force replaces it)" : std::strerror(errno);
  }
  ::unlink(temporary.c_str());  // after link(); after rename() it is gone already
  return error;
}

int run_keygen(const KeygenFlags& f) {
  const std::string domain = usable_domain("keygen", f.domain, f.selector);
  if (domain.empty()) return kUsage;
  const dkim::Algorithm algorithm = dkim::parse_algorithm(f.algorithm).value_or(dkim::Algorithm::rsa_sha256);
  if (f.bits != 0 && algorithm != dkim::Algorithm::rsa_sha256) {
    std::fprintf(stderr, "petrel dkim keygen: --bits is for RSA keys; Ed25519 keys have 256 bits\n");
    return kUsage;
  }
  const std::string path = (f.out_dir.ends_with('/') ? f.out_dir : f.out_dir + "/") + f.selector + "." + domain + ".key";
  const dkim::Key key = dkim::generate_key(algorithm, f.bits != 0 ? f.bits : dkim::kRecommendedRsaBits);
  if (const std::string error = write_private_file(path, key.private_key_pem(), f.force); !error.empty()) {
    std::fprintf(stderr, "petrel dkim keygen: cannot write %s: %s\n", path.c_str(), error.c_str());
    return kFailed;
  }
  std::printf("%s\n", dkim_zone_line(domain, f.selector, key.dns_record()).c_str());
  std::printf("Wrote %s (%s, %d bits, mode 0600). Publish the TXT record above, then: petrel dkim check %s %s --key %s\n",
              path.c_str(), std::string(dkim::key_type(key.algorithm())).c_str(), key.bits(), domain.c_str(),
              f.selector.c_str(), path.c_str());
  return kOk;
}

// The TXT answer at `name`, from one UnboundResolver as `petrel mx` uses it.
dns::TxtAnswer look_up_txt(const std::string& name, const CheckFlags& f, bool& validating) {
  dns::ResolverOptions options;
  options.upstream = f.resolver;
  options.query_timeout = std::chrono::milliseconds(static_cast<long>(f.timeout_seconds * 1000));
  // As petrel mx: a chosen server is asked about test., example. and
  // invalid. too, and a forwarder rarely passes DNSSEC records on.
  options.dnssec = f.resolver.empty() ? dns::DnssecMode::if_trust_anchor : dns::DnssecMode::off;
  if (!f.resolver.empty()) options.zones_from_upstream = {"test.", "invalid.", "example."};
  boost::asio::io_context io;
  dns::UnboundResolver resolver(io, options);
  validating = resolver.validating();
  std::optional<dns::TxtAnswer> answer;
  resolver.lookup_txt(name, [&answer](dns::TxtAnswer a) { answer = std::move(a); });
  // The query ends by its own timer; this bound is only a backstop.
  const auto deadline = std::chrono::steady_clock::now() + options.query_timeout + std::chrono::seconds(2);
  while (!answer && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(100));
    io.restart();
  }
  if (answer) return *answer;
  dns::TxtAnswer timed_out;
  timed_out.error = "timed out";
  return timed_out;
}

int run_check(const CheckFlags& f) {
  const std::string domain = usable_domain("check", f.domain, f.selector);
  if (domain.empty()) return kUsage;
  std::optional<dkim::Key> key;
  if (!f.key_file.empty()) {
    std::string error;
    key = dkim::load_key_file(f.key_file, std::nullopt, error);
    if (!key) {
      std::fprintf(stderr, "petrel dkim check: %s\n", error.c_str());
      return kUsage;
    }
  }
  const std::string name = dkim_record_name(domain, f.selector);
  bool validating = false;
  dns::TxtAnswer answer;
  try {
    answer = look_up_txt(name, f, validating);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "petrel dkim check: cannot start the resolver: %s\n", e.what());
    return kUsage;
  }
  const DkimCheck check = judge_dkim_record(name, answer, key ? &*key : nullptr, f.key_file);
  if (f.json) {
    std::cout << dkim_check_json(check, validating) << "\n";
  } else {
    print_dkim_check(check, validating, stdout);
  }
  return dkim_check_exit_status(check);
}

// The message with every line ending CRLF, as it goes over SMTP.
std::string crlf_lines(const std::string& text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
    out += text[i];
  }
  return out;
}

int run_sign(const SignFlags& f) {
  const std::string domain = usable_domain("sign", f.domain, f.selector);
  if (domain.empty()) return kUsage;
  std::string error;
  const std::optional<dkim::Key> key = dkim::load_key_file(f.key_file, std::nullopt, error);
  if (!key) {
    std::fprintf(stderr, "petrel dkim sign: %s\n", error.c_str());
    return kUsage;
  }
  std::string text;
  if (f.message_file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::FILE* in = std::fopen(f.message_file.c_str(), "rb");
    if (!in) {
      std::fprintf(stderr, "petrel dkim sign: cannot read %s: %s\n", f.message_file.c_str(), std::strerror(errno));
      return kFailed;
    }
    char buffer[8192];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, in)) > 0;) text.append(buffer, n);
    std::fclose(in);
  }
  dkim::SignerConfig config;
  config.domain = domain;
  config.selector = f.selector;
  config.algorithm = key->algorithm();
  if (!f.headers.empty()) {
    config.headers.clear();
    for (std::size_t start = 0; start <= f.headers.size();) {
      const std::size_t colon = std::min(f.headers.find(':', start), f.headers.size());
      if (colon > start) config.headers.push_back(f.headers.substr(start, colon - start));
      start = colon + 1;
    }
  }
  const std::string message = crlf_lines(text);
  try {
    const std::string field = dkim::sign(*key, config, message, static_cast<std::int64_t>(std::time(nullptr)));
    std::fwrite(field.data(), 1, field.size(), stdout);
    std::fwrite(message.data(), 1, message.size(), stdout);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "petrel dkim sign: %s\n", e.what());
    return kUsage;
  }
  return kOk;
}

void add_keygen(CLI::App& dkim, int& exit_code) {
  auto flags = std::make_shared<KeygenFlags>();
  CLI::App* keygen = dkim.add_subcommand("keygen", "Make a DKIM key (PKCS#8 PEM, mode 0600) and print its DNS record");
  keygen->add_option("--domain", flags->domain, "The signing domain (d=)")->required()->type_name("DOMAIN");
  keygen->add_option("--selector", flags->selector, "The selector (s=), e.g. 2025a")->required()->type_name("SELECTOR");
  keygen->add_option("--algorithm", flags->algorithm, "rsa (rsa-sha256, the default: every receiver verifies it) or ed25519")
      ->check(CLI::IsMember({"rsa", "rsa-sha256", "ed25519", "ed25519-sha256"}, CLI::ignore_case).description(""))
      ->type_name("rsa|ed25519");
  keygen->add_option("--bits", flags->bits, "RSA key size, 1024 to 4096 (default 2048)")
      ->check(CLI::Range(dkim::kMinRsaBits, dkim::kMaxRsaBits).description(""))
      ->type_name("BITS");
  keygen->add_option("--out", flags->out_dir, "Directory for the key file SELECTOR.DOMAIN.key")
      ->required()
      ->check(CLI::ExistingDirectory)
      ->type_name("DIR");
  keygen->add_flag("--force", flags->force, "Replace an existing key file");
  keygen->callback([flags, &exit_code] { exit_code = run_keygen(*flags); });
}

void add_check(CLI::App& dkim, int& exit_code) {
  auto flags = std::make_shared<CheckFlags>();
  CLI::App* check = dkim.add_subcommand("check", "Look up and judge the key record at SELECTOR._domainkey.DOMAIN");
  check->footer("Exit status: 0 a usable key (that matches --key), 1 not found, revoked, unusable, another key or a "
                "DNS failure, 2 bad usage or an unreadable --key.");
  check->add_option("domain", flags->domain, "The signing domain (d=)")->required()->type_name("DOMAIN");
  check->add_option("selector", flags->selector, "The selector (s=)")->required()->type_name("SELECTOR");
  check->add_option("--key", flags->key_file, "A private key file: does the record publish its public key?")
      ->type_name("FILE");
  check->add_option("--resolver", flags->resolver,
                    "DNS server to ask, e.g. 127.0.0.1:5353 (default: the servers of /etc/resolv.conf)")
      ->type_name("IP[:PORT]");
  check->add_option("--timeout", flags->timeout_seconds, "Seconds to wait for the answer, 0.1 to 120 (default 5)")
      ->check(CLI::Range(0.1, 120.0).description(""))
      ->type_name("SECONDS");
  check->add_flag("--json", flags->json, "Print one JSON document (fields in docs/dkim.md)");
  check->callback([flags, &exit_code] { exit_code = run_check(*flags); });
}

void add_sign(CLI::App& dkim, int& exit_code) {
  auto flags = std::make_shared<SignFlags>();
  CLI::App* sign = dkim.add_subcommand("sign", "Sign a message as petreld would and print it with its DKIM-Signature");
  sign->add_option("--key", flags->key_file, "The private key file (its type gives the algorithm)")
      ->required()
      ->type_name("FILE");
  sign->add_option("--domain", flags->domain, "The signing domain (d=)")->required()->type_name("DOMAIN");
  sign->add_option("--selector", flags->selector, "The selector (s=)")->required()->type_name("SELECTOR");
  sign->add_option("--headers", flags->headers, "Header fields to sign, colon-separated (default: docs/dkim.md)")
      ->type_name("NAME:NAME...");
  sign->add_option("message", flags->message_file, "The message file, or - for standard input (the default)")
      ->type_name("FILE");
  sign->callback([flags, &exit_code] { exit_code = run_sign(*flags); });
}

}  // namespace

void add_dkim_command(CLI::App& app, int& exit_code) {
  CLI::App* dkim = app.add_subcommand("dkim", "DKIM keys: make one and its DNS record, check what a domain publishes");
  dkim->require_subcommand(1);
  add_keygen(*dkim, exit_code);
  add_check(*dkim, exit_code);
  add_sign(*dkim, exit_code);
}

}  // namespace petrel::cli
