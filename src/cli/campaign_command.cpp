// `petrel campaign send`: checks the flags and inputs (the template, the
// token, one whole pass over the list), opens the state file, hands the
// run to the API or the SMTP sender, then writes the report from the state
// file and says how it went.
#include "cli/campaign_command.hpp"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/campaign_api.hpp"
#include "cli/campaign_input.hpp"
#include "cli/campaign_smtp.hpp"
#include "cli/terminal.hpp"

namespace petrel::cli {
namespace {

using nlohmann::json;

// A command line that cannot work: exit 2, nothing sent.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void warn(const std::string& text) {
  std::fprintf(stderr, "petrel campaign send: %s %s\n", paint("warning:", Colour::yellow, stderr).c_str(), text.c_str());
}

void check_flags(const CampaignFlags& f) {
  if (f.api.empty() == f.server.empty()) {
    throw UsageError("give --api URL (petreld's HTTP API) or --server HOST[:PORT] (SMTP), one of them");
  }
  if (!f.api.empty() && f.token_file.empty()) throw UsageError("--api needs --token-file FILE (the bearer token)");
  if (!f.api.empty() && (f.tls || f.starttls || !f.auth_user.empty() || !f.helo.empty())) {
    throw UsageError("--tls, --starttls, --auth and --helo are for --server (SMTP); with --api the URL says http or https");
  }
  if (!f.server.empty() && (!f.token_file.empty() || f.insecure)) {
    throw UsageError("--token-file and --insecure are for --api");
  }
  if (!f.auth_user.empty() && f.password_file.empty()) throw UsageError("--auth needs --password-file FILE");
}

CampaignRun prepare(const CampaignFlags& flags) {
  CampaignRun run;
  run.flags = flags;
  const bool api = !flags.api.empty();
  run.message = load_template(flags, api);
  if (!flags.rate.empty() && !(run.rate = parse_rate(flags.rate))) {
    throw UsageError("--rate '" + flags.rate + "': expected a number per second, minute or hour: 200/s, 1000/m, 50000/h");
  }
  run.list = scan_list(flags.recipients);
  const json& r = run.message.request;
  run.identity = {api ? "api" : "smtp",  r.value("campaign", std::string()), r.value("tenant", std::string()),
                  run.list.path,         run.list.size,                      run.list.sha256,
                  run.message.path,      run.message.sha256,                 flags.batch,
                  run.list.rows};
  run.state = flags.state.empty() ? StateFile::temporary(run.identity) : StateFile::open(flags.state, run.identity);
  run.progress = flags.quiet ? Progress::Style::none
                 : ::isatty(::fileno(stderr)) != 0 ? Progress::Style::bar
                                                   : Progress::Style::lines;
  return run;
}

SmtpSetup smtp_setup(const CampaignFlags& f) {
  SmtpSetup s;
  s.endpoints = server_endpoints(f.server, f.tls);
  delivery::DeliveryOptions& o = s.options;
  char host[256] = {};
  o.client.helo_name = !f.helo.empty() ? f.helo : gethostname(host, sizeof host - 1) == 0 && host[0] ? host : "localhost";
  o.client.tls = f.starttls || !f.ca_file.empty() ? smtp::TlsPolicy::encrypt : smtp::TlsPolicy::may;
  if (!f.auth_user.empty()) {
    std::string warning;
    o.client.credentials = smtp::Credentials{f.auth_user, read_secret(f.password_file, "password", warning, false)};
    if (!warning.empty()) warn(warning);
  }
  o.implicit_tls = f.tls;
  o.verify_certificate = !f.ca_file.empty();
  o.ca_file = f.ca_file;
  const auto t = std::chrono::milliseconds(static_cast<long long>(f.timeout * 1000));
  o.timeouts = {t, t, t, t, t, t, t, t, t};
  return s;
}

void write_report(const CampaignRun& run, const CampaignOutcome& outcome) {
  ReportWriter report(run.flags.report);
  run.state->for_each([&report](const RecipientResult& r) { report.add(r); });
  for (const auto& r : outcome.unrecorded) report.add(r);
  report.commit();
}

int exit_status(const CampaignOutcome& o) {
  if (o.signal != 0) return 128 + o.signal;
  return o.error.empty() && o.unrecorded.empty() ? kCampaignDone : kCampaignFailed;
}

json tally_json(const Tally& t) {
  return {{"accepted", t.accepted}, {"rejected", t.rejected},   {"suppressed", t.suppressed},
          {"invalid", t.invalid},   {"deferred", t.deferred}, {"done", t.finished()}};
}

void print_json(const CampaignRun& run, const CampaignOutcome& o) {
  json j = tally_json(o.all);
  j["campaign"] = run.identity.campaign;
  j["mode"] = run.identity.mode;
  j["rows"] = run.list.rows;
  j["not_done"] = run.list.rows - o.all.finished();
  j["this_run"] = tally_json(o.run);
  j["resumed"] = run.state->resumed();
  j["seconds"] = o.seconds;
  j["exit_code"] = exit_status(o);
  j["error"] = o.error.empty() ? json(nullptr) : json(o.error);
  j["interrupted"] = o.signal != 0;
  j["report"] = run.flags.report.empty() ? json(nullptr) : json(run.flags.report);
  j["state"] = run.flags.state.empty() ? json(nullptr) : json(run.flags.state);
  if (run.identity.mode == "smtp") {
    j["extensions"] = o.extensions;
    j["max_recipients_per_transaction"] = o.max_recipients;
  }
  std::cout << j.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
}

void print_extensions(const CampaignOutcome& o) {
  Table table({"extension", "offered", "used"});
  for (const auto& row : o.extensions) {
    const bool offered = row["offered"].get<bool>(), used = row["used"].get<bool>();
    table.add_row({row["extension"].get<std::string>(), offered ? "yes" : "no",
                   used ? paint("yes", Colour::green) : offered ? paint("no", Colour::yellow) : "no"});
  }
  std::printf("\n");
  table.print();
  std::printf("recipients per transaction: up to %zu%s\n", o.max_recipients,
              o.max_recipients > 1 ? "" : " (one message per recipient: the template has variables)");
}

// "0.4s" for a short run, "1:02" for a longer one.
std::string took(double seconds) {
  if (seconds >= 10) return format_duration(seconds);
  char text[16];
  std::snprintf(text, sizeof text, "%.1fs", seconds);
  return text;
}

void print_summary(const CampaignRun& run, const CampaignOutcome& o) {
  const Tally& t = o.all;
  const std::string name = run.identity.campaign.empty() ? "Campaign" : "Campaign " + run.identity.campaign;
  std::printf("%s: %llu of %llu recipients done in %s", paint(name, Colour::bold).c_str(),
              static_cast<unsigned long long>(t.finished()), static_cast<unsigned long long>(run.list.rows),
              took(o.seconds).c_str());
  if (run.state->resumed()) std::printf(" (%llu in earlier runs)", static_cast<unsigned long long>(run.state->earlier().finished()));
  std::printf("\n  accepted %s  rejected %llu  suppressed %llu  invalid %llu",
              paint(std::to_string(t.accepted), Colour::green).c_str(), static_cast<unsigned long long>(t.rejected),
              static_cast<unsigned long long>(t.suppressed), static_cast<unsigned long long>(t.invalid));
  if (o.run.deferred > 0) std::printf("  deferred %llu", static_cast<unsigned long long>(o.run.deferred));
  std::printf("\n");
  if (!run.flags.report.empty()) std::printf("  report: %s\n", run.flags.report.c_str());
  if (run.identity.mode == "smtp") print_extensions(o);
}

// What is left to do, on stderr: the error, the interruption, the deferrals.
void print_outcome_notes(const CampaignRun& run, const CampaignOutcome& o) {
  const std::uint64_t left = run.list.rows - o.all.finished();
  const std::string resume = run.flags.state.empty()
                                 ? "a rerun starts from the beginning (use --state FILE to resume next time)"
                                 : "run the same command again to resume from " + run.flags.state;
  if (!o.error.empty()) std::fprintf(stderr, "petrel campaign send: %s %s\n", paint("error:", Colour::red, stderr).c_str(), o.error.c_str());
  if (o.signal != 0 || (!o.error.empty() && left > 0)) {
    std::fprintf(stderr, "petrel campaign send: %s; %llu recipients not done: %s\n", o.signal ? "interrupted" : "stopped",
                 static_cast<unsigned long long>(left), resume.c_str());
  } else if (o.run.deferred > 0) {
    std::fprintf(stderr, "petrel campaign send: %llu recipients deferred (temporary failures): %s\n",
                 static_cast<unsigned long long>(o.run.deferred), resume.c_str());
  }
}

int run(const CampaignFlags& flags) {
  check_flags(flags);
  std::optional<http::Url> url;
  std::string token;
  if (!flags.api.empty()) {
    std::string error, warning;
    if (!(url = parse_api_url(flags.api, error))) throw UsageError("--api " + error);
    token = read_secret(flags.token_file, "token", warning, true);
    if (!warning.empty()) warn(warning);
  }
  CampaignRun run = prepare(flags);
  if (run.state->resumed()) {
    std::fprintf(stderr, "petrel campaign send: resuming from %s: %llu of %llu recipients done already\n",
                 flags.state.c_str(), static_cast<unsigned long long>(run.state->earlier().finished()),
                 static_cast<unsigned long long>(run.list.rows));
  }
  const CampaignOutcome outcome = url ? run_api_campaign(run, *url, token) : run_smtp_campaign(run, smtp_setup(flags));
  if (!flags.report.empty()) write_report(run, outcome);
  if (flags.json) {
    print_json(run, outcome);
  } else {
    print_summary(run, outcome);
  }
  print_outcome_notes(run, outcome);
  return exit_status(outcome);
}

void add_flags(CLI::App& send, CampaignFlags& f) {
  send.add_option("--api", f.api, "Send through petreld's HTTP API at URL (http://127.0.0.1:8025, https://...)")->type_name("URL");
  send.add_option("--server", f.server, "Send over SMTP to this server instead (any server, port 25 by default)")->type_name("HOST[:PORT]");
  send.add_option("--token-file", f.token_file, "File holding the API's bearer token (mode 600)")->type_name("FILE");
  send.add_option("--recipients", f.recipients, "CSV list with a header row: an email column, an optional name, "
                  "other columns become template variables")->required()->type_name("FILE.csv");
  send.add_option("--template", f.template_file, "msg.json (the API request body without recipients) or msg.eml "
                  "(a whole message, Mustache tags allowed)")->required()->type_name("FILE");
  send.add_option("--campaign", f.campaign, "Campaign name (required with --api; names the idempotency keys)")->type_name("NAME");
  send.add_option("--tenant", f.tenant, "Tenant to send for (API)")->type_name("NAME");
  send.add_option("--envelope-sender", f.envelope_sender, "MAIL FROM address (required with msg.eml; overrides msg.json's)")->type_name("ADDR");
  send.add_option("--rate", f.rate, "At most this many recipients per second, minute or hour (default: no limit)")->type_name("N/s|N/m|N/h");
  send.add_option("--concurrency", f.concurrency, "Batches in flight (API) or connections (SMTP); default 8")
      ->check(CLI::Range(1, 64))->type_name("N");
  send.add_option("--batch", f.batch, "Recipients per API request (default 500, at most the server's max_recipients)")
      ->check(CLI::Range(1, 10000))->type_name("N");
  send.add_option("--retries", f.retries, "Tries after a network error or 5xx before a batch fails (default 5)")
      ->check(CLI::Range(0, 100))->type_name("N");
  send.add_option("--timeout", f.timeout, "Seconds to wait for each step: connect, TLS, a reply (default 60)")
      ->check(CLI::Range(0.1, 3600.0))->type_name("SECONDS");
  send.add_option("--state", f.state, "Record finished batches in FILE; the same command with the same FILE resumes")->type_name("FILE");
  send.add_option("--report", f.report, "Write one line per recipient: CSV (email,status,queue_id,reason), or JSON "
                  "when FILE ends in .json (.jsonl: JSON lines)")->type_name("FILE");
  send.add_flag("--json", f.json, "Print the summary as one JSON document on stdout");
  send.add_flag("--quiet,-q", f.quiet, "No progress display");
  send.add_flag("--insecure", f.insecure, "HTTPS without checking the server's certificate (self-signed test servers)");
  send.add_option("--ca-file", f.ca_file, "Check the server's certificate against the CA(s) in FILE (SMTP: and require STARTTLS)")->type_name("FILE");
  auto* tls = send.add_flag("--tls", f.tls, "SMTP: implicit TLS from the first byte (port 465)");
  auto* starttls = send.add_flag("--starttls", f.starttls, "SMTP: require STARTTLS (default: use it when offered)");
  tls->excludes(starttls);
  send.add_option("--auth", f.auth_user, "SMTP: authenticate as USER (AUTH PLAIN or LOGIN, over TLS)")->type_name("USER");
  send.add_option("--password-file", f.password_file, "SMTP: file holding the password for --auth")->type_name("FILE");
  send.add_option("--helo", f.helo, "SMTP: name to give in EHLO (default: this host's name)")->type_name("NAME");
  send.add_option("--messages-per-connection", f.per_connection, "SMTP: QUIT and reconnect after this many messages (default 100)")
      ->check(CLI::Range(1, 100000))->type_name("N");
}

}  // namespace

void add_campaign_command(CLI::App& app, int& exit_code) {
  CLI::App* campaign = app.add_subcommand("campaign", "Send a list: a CSV of recipients and a template, through petreld's API or over SMTP");
  campaign->require_subcommand(1);
  auto flags = std::make_shared<CampaignFlags>();
  CLI::App* send = campaign->add_subcommand(
      "send", "Send a template to every recipient of a CSV list, in batches through petreld's HTTP API (--api) or "
              "over SMTP (--server), with a progress display, a state file to resume from and a report. Exit status: "
              "0 all done (some recipients may be rejected), 1 a batch failed for good (or, SMTP, recipients deferred), "
              "2 bad usage or input, 130 interrupted. Manual: docs/campaign.md");
  add_flags(*send, *flags);
  send->callback([flags, &exit_code] {
    try {
      exit_code = run(*flags);
    } catch (const UsageError& e) {
      std::fprintf(stderr, "petrel campaign send: %s\n", e.what());
      exit_code = kCampaignUsage;
    } catch (const CampaignInputError& e) {
      std::fprintf(stderr, "petrel campaign send: %s\n", e.what());
      exit_code = kCampaignUsage;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "petrel campaign send: %s\n", e.what());
      exit_code = kCampaignFailed;
    }
  });
}

}  // namespace petrel::cli
