// `petrel cluster status`: the nodes of the cluster a running petreld is
// part of, as it sees them (docs/petrel-cluster.md). petreld answers from
// Redis through its admin channel: the CLI needs no Redis credentials.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json_fwd.hpp>

#include <cstdio>

namespace petrel::cli {

void add_cluster_command(CLI::App& app, int& exit_code);

// The reply of cluster-status as text: the node's links, then one row per
// node. Pure apart from writing to `out`.
void print_cluster_status(const nlohmann::json& status, std::FILE* out);

}  // namespace petrel::cli
