// Each command family registers its subcommands on the app. A family lives in
// its own file (or folder) and adds one line to main.cpp.
#pragma once

#include <CLI/CLI.hpp>

#include "cli_context.h"

namespace nautilus::cli {

void add_analytics_commands(CLI::App& app, GlobalOptions& global); // analytics report
void add_backtest_commands(CLI::App& app, GlobalOptions& global); // backtest run|sweep|replay
void add_bench_commands(CLI::App& app, GlobalOptions& global);
void add_collateral_commands(CLI::App& app, GlobalOptions& global); // collateral show
void add_cluster_commands(CLI::App& app, GlobalOptions& global);     // cluster status
void add_control_commands(CLI::App& app, GlobalOptions& global);  // status, engine
void add_bus_commands(CLI::App& app, GlobalOptions& global);      // bus publish|subscribe
void add_data_commands(CLI::App& app, GlobalOptions& global);     // data get|sources|stats
void add_history_commands(CLI::App& app, GlobalOptions& global); // data history, events (after add_data_commands)
void add_hub_bench_command(CLI::App& app, GlobalOptions& global); // bench hub (after add_bench_commands)
void add_portfolio_commands(CLI::App& app, GlobalOptions& global); // portfolio show|positions|pnl|optimize|rebalance
void add_risk_commands(CLI::App& app, GlobalOptions& global);     // risk check|state|halt|resume
void add_strategy_commands(CLI::App& app, GlobalOptions& global); // strategy list|stop|resume
void add_token_commands(CLI::App& app, GlobalOptions& global);    // token create|list|revoke
void add_top_command(CLI::App& app, GlobalOptions& global);       // top
void add_completion_helper(CLI::App& app, GlobalOptions& global); // hidden: names for shell completion

}  // namespace nautilus::cli
