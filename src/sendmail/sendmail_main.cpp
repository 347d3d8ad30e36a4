// petrel-sendmail: the sendmail(8) command line for Petrel (installed as
// /usr/sbin/sendmail, and as mailq). Local mail goes to petreld through the
// maildrop, whether petreld is running or not; -bp and -q talk to petreld's
// admin channel. docs/petrel-sendmail.md.
#include <pwd.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/admin_client.hpp"
#include "config/config.hpp"
#include "sendmail/mailq.hpp"
#include "sendmail/options.hpp"
#include "sendmail/smtp_stdio.hpp"
#include "sendmail/submission.hpp"

namespace {

using namespace petrel::sendmail;
using nlohmann::json;

constexpr const char* kDefaultConfig = "/etc/petrel/petreld.toml";
constexpr const char* kUsage =
    "usage: petrel-sendmail [-t] [-i] [-f sender] [-F name] [-C config] [-bm|-bs|-bp|-q] [--] [recipient ...]\n";

std::string program_name(const char* argv0) {
  std::string name = argv0 ? argv0 : "sendmail";
  const auto slash = name.rfind('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

// -C, then $PETREL_CONFIG, then /etc/petrel/petreld.toml if there is one,
// else petreld's embedded defaults (spool ./var/spool).
petrel::config::Config load_config(const std::string& flag, std::string& used) {
  used = flag;
  if (used.empty()) {
    if (const char* env = std::getenv("PETREL_CONFIG"); env && *env) used = env;
  }
  struct stat st {};
  if (used.empty() && ::stat(kDefaultConfig, &st) == 0) used = kDefaultConfig;
  if (used.empty()) return petrel::config::default_config();
  auto config = petrel::config::load_config_file(used);
  petrel::config::validate(config, used);
  return config;
}

Identity identify(const petrel::config::Config& config) {
  Identity who;
  who.uid = ::getuid();
  if (const passwd* pw = ::getpwuid(who.uid)) {
    who.login = pw->pw_name;
    std::string gecos = pw->pw_gecos ? pw->pw_gecos : "";
    who.gecos_name = gecos.substr(0, gecos.find(','));
  }
  uid_t daemon_uid = static_cast<uid_t>(-1);
  if (!config.user.empty()) {
    if (const passwd* pw = ::getpwnam(config.user.c_str())) daemon_uid = pw->pw_uid;
  }
  who.privileged = who.uid == 0 || who.uid == daemon_uid;
  return who;
}

json ask(const petrel::config::Config& config, const json& request) {
  return petrel::cli::admin_ask(config.remote.admin, config.spool_dir, request);
}

// -bp: every page of the queue, then one listing.
int list_queue(const petrel::config::Config& config, const std::string& me) {
  try {
    json all = json::array();
    json request = {{"command", "list"}, {"limit", 1000}};
    for (;;) {
      const json page = ask(config, request);
      for (auto m : page["messages"]) {
        // The listing keeps no contents in memory (size 0): `show` reads one.
        if (m.value("size", std::size_t{0}) == 0) {
          try {
            m["size"] = ask(config, {{"command", "show"}, {"id", m["id"]}})["message"].value("size", std::size_t{0});
          } catch (const std::exception&) {
            // delivered meanwhile: listed with the size unknown
          }
        }
        all.push_back(std::move(m));
      }
      if (page["next"].is_null()) break;
      request["after"] = page["next"];
    }
    std::fputs(format_mailq(all).c_str(), stdout);
    return EX_OK;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: queue report unavailable: %s\n", me.c_str(), e.what());
    return EX_UNAVAILABLE;
  }
}

// -q: retry now what waits (all of it, or one domain with -qRdomain).
int flush_queue(const petrel::config::Config& config, const Request& request, const std::string& me) {
  try {
    const json reply = ask(config, {{"command", "flush"}, {"domain", request.flush_domain}});
    if (request.verbose) std::fprintf(stderr, "%s: %zu message(s) to be tried now\n", me.c_str(),
                                      reply.value("flushed", std::size_t{0}));
    return EX_OK;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: cannot flush the queue: %s\n", me.c_str(), e.what());
    return EX_UNAVAILABLE;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string me = program_name(argc > 0 ? argv[0] : nullptr);
  const std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  auto parsed = parse_options(me, args);
  if (auto* error = std::get_if<UsageError>(&parsed)) {
    std::fprintf(stderr, "%s: %s\n%s", me.c_str(), error->message.c_str(), kUsage);
    return EX_USAGE;
  }
  const Request& request = std::get<Request>(parsed);
  if (request.mode == Mode::no_op) return EX_OK;
  petrel::config::Config config;
  std::string config_file;
  try {
    config = load_config(request.config_file, config_file);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", me.c_str(), e.what());
    return EX_CONFIG;
  }
  if (request.mode == Mode::list_queue) return list_queue(config, me);
  if (request.mode == Mode::flush_queue) return flush_queue(config, request, me);
  const Identity who = identify(config);
  if (who.login.empty()) {
    std::fprintf(stderr, "%s: uid %u has no passwd entry: cannot tell who sends\n", me.c_str(), who.uid);
    return EX_OSERR;
  }
  const Settings settings = settings_from(config);
  if (request.mode == Mode::smtp_stdio) return serve_smtp_stdio(config, settings, who);
  const Outcome out = deliver_from_stdin(request, settings, who);
  if (out.exit_code != EX_OK) {
    std::fprintf(stderr, "%s: %s\n", me.c_str(), out.message.c_str());
  } else if (request.verbose) {
    std::fprintf(stderr, "%s: queued in the maildrop %s as %s\n", me.c_str(), settings.maildrop.c_str(),
                 out.message.c_str());
  }
  return out.exit_code;
}
