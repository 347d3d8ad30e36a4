// petrel: the command line of the Petrel MTA and SMTP toolkit: test any
// mail server (mx, probe, shell, send), test a client (catch), send a list (campaign) and look
// after a Petrel one (queue).
// docs/petrel.md is its manual.
#include <CLI/CLI.hpp>

#include "cli/campaign_command.hpp"
#include "cli/catch_command.hpp"
#include "cli/dkim_command.hpp"
#include "cli/events_command.hpp"
#include "cli/mx_command.hpp"
#include "cli/probe_command.hpp"
#include "cli/cluster_command.hpp"
#include "cli/queue_command.hpp"
#include "cli/suppress_command.hpp"
#include "cli/send_command.hpp"
#include "cli/shell_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{"petrel: test any mail server (mx, probe, shell, send) and look after a Petrel one (queue)"};
  app.set_version_flag("--version", "petrel " PETREL_VERSION);
  app.require_subcommand(1);
  int exit_code = 0;
  petrel::cli::add_campaign_command(app, exit_code);
  petrel::cli::add_cluster_command(app, exit_code);
  petrel::cli::add_catch_command(app, exit_code);
  petrel::cli::add_dkim_command(app, exit_code);
  petrel::cli::add_mx_command(app, exit_code);
  petrel::cli::add_probe_command(app, exit_code);
  petrel::cli::add_queue_command(app, exit_code);
  petrel::cli::add_suppress_command(app, exit_code);
  petrel::cli::add_events_command(app, exit_code);
  petrel::cli::add_send_command(app, exit_code);
  petrel::cli::add_shell_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int status = app.exit(e);
    return status == 0 ? 0 : 2;
  }
  return exit_code;
}
