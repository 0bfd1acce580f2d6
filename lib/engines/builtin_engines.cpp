#include "engines/analytics/analytics_engine.h"
#include "engines/collateral/collateral_engine.h"
#include "engines/external/external_engine.h"
#include "engines/factor/factor_engine.h"
#include "engines/features/features_engine.h"
#include "engines/heartbeat/heartbeat_engine.h"
#include "engines/ml/ml_engine.h"
#include "engines/portfolio/portfolio_engine.h"
#include "engines/registry.h"
#include "engines/risk/risk_engine.h"
#include "engines/strategy/strategy_engine.h"
#include "engines/vpin/vpin_engine.h"

namespace nautilus {

// One line per engine kind that ships with nautilus.
void register_builtin_engines(EngineRegistry& registry) {
  registry.add({"analytics", "performance of the portfolio and each strategy (returns, Sharpe, Sortino, drawdown, VaR, CVaR, win rate, turnover); Brinson-Fachler attribution by sector and strategy",
                make_analytics_engine});
  registry.add({"collateral", "margin accounts: Reg T / FINRA 4210 equity requirements, futures and FX by leverage, utilisation, call prices, margin calls",
                make_collateral_engine});
  registry.add({"external", "an engine in another process (any language) on the buses: health from its heartbeats on system.heartbeat.<name>",
                make_external_engine});
  registry.add({"factor", "cross-sectional factor model over the universe: momentum, value, size, sectors; factor returns and residuals",
                make_factor_engine});
  registry.add({"features", "streaming technical indicators per symbol and bar interval (SMA, EMA, RSI, MACD, Bollinger, ATR, realized volatility, VWAP)",
                make_features_engine});
  registry.add({"heartbeat", "publishes system_health on system.heartbeat.<name> at a fixed interval",
                make_heartbeat_engine});
  registry.add({"ml", "online market regime detection (bull/bear/high_vol) per symbol: Markov-switching filter, EM refits, predictions",
                make_ml_engine});
  registry.add({"portfolio", "paper execution of approved orders, average-cost positions and P&L, rebalancing, optimization (min variance, max Sharpe, efficient risk, risk parity)",
                make_portfolio_engine});
  registry.add({"risk", "dynamic risk limits, breach alerts, trading state ACTIVE/REDUCING/HALTED, pre-trade checks",
                make_risk_engine});
  registry.add({"strategy", "signal strategies (ma_crossover, mean_reversion, momentum) gated by the ml regime; stop on risk halts",
                make_strategy_engine});
  registry.add({"vpin", "VPIN flow toxicity per symbol (volume buckets, bulk volume classification); flash crash warnings",
                make_vpin_engine});
}

}  // namespace nautilus
