// Talking to petreld's admin channel: one JSON request, one JSON reply.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <string>

namespace petrel::cli {

// `where`: "unix:PATH" or "ADDR:PORT" (then `token_file` supplies the
// token). Returns the reply line; throws std::runtime_error saying what
// went wrong (no server, refused, timeout) in words for the user.
std::string admin_request(const std::string& where, const std::string& token_file, const std::string& request);

// One request to petreld at `admin` ("": unix:SPOOL/admin.sock, with the
// token file in the spool): its reply when "ok", else std::runtime_error
// with petreld's error.
nlohmann::json admin_ask(const std::string& admin, const std::string& spool, const nlohmann::json& request);

// Runs a `petrel queue` command's body and sets exit_code to what it
// returns; a failure (petreld unreachable, a refused request) is printed
// and is exit status 1.
void run_admin_command(int& exit_code, const std::function<int()>& body);

}  // namespace petrel::cli
