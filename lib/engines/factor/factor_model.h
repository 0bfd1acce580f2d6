// A cross-sectional equity factor model in the manner of toraniko
// (github.com/0xfdf/toraniko): style scores, sector one-hot exposures, and per
// period the factor returns by weighted least squares. Pure computation: no
// bus, no clock. The factor engine (factor_engine.h) feeds it one cross
// section per interval.
//
// Styles (each then winsorised at `style_winsor` and standardised across the
// universe, mean 0 and sample standard deviation 1):
//   momentum  toraniko's factor_mom: with w_j = exp(−ln2·j/half_life), j = 0
//             for the newest return in the window,
//               mom = Π_{j=0..trailing−1} (1 + w_j · r_{t−lag−j}) − 1,
//             i.e. the lagged window's returns exponentially weighted, then
//             compounded. Needs trailing + lag returns; an asset with fewer
//             gets score 0 (the cross-sectional mean) and is counted in a note;
//             with fewer than half the assets scored the style is left out.
//   value     book-to-price, book value / market cap.
//   size      log market cap (large = positive; toraniko negates it for SMB and
//             masks the middle quantiles, which this model does not).
// Returns are winsorised at `return_winsor` before the regression (toraniko's
// estimate_factor_returns does the same, 5 % by default).
//
// Factor returns (toraniko's _factor_returns, residualised styles), W =
// diag(√market cap):
//   1. Market + sectors with Σ sectors = 0: B = [1 | S] (n × (1+m)), the change
//      of variables R = [I_m ; (0, −1, …, −1)] gives B·R = [1 | s_j − s_m]; solve
//      g = pinv((BR)ᵀW(BR)) (BR)ᵀW r, then (market, sectors) = R·g, so the last
//      sector is −Σ of the others and the constraint holds exactly.
//   2. Styles on the sector residuals e = r − BR·g: f = pinv(XᵀWX) XᵀW e.
//   3. Residuals ε = e − X·f.
// pinv is the Moore–Penrose inverse from a symmetric eigendecomposition with
// numpy lstsq's cut-off (eigenvalues below k·ε_mach·λ_max are zero), so
// rank-deficient input has the minimum-norm answer, as toraniko's lstsq.
// Rank deficiency this model recognises itself, with a note each:
//   - a sector with no assets: return 0, left out of the regression;
//   - a sector with one asset: its return fits that asset exactly (residual 0);
//   - a style with zero variance across the universe: scores 0, return 0;
//   - any remaining collinearity: the minimum-norm solution, and the rank.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace nautilus::factor {

struct MomentumParams {
  int trailing = 504;  // returns in the window (two years of days)
  int half_life = 126;
  int lag = 20;        // skip the last month (short-term reversal)
  std::size_t required() const { return static_cast<std::size_t>(trailing + lag); }
};

// w_j for j = 0 (newest) .. trailing − 1, computed once per set of params.
std::vector<double> momentum_weights(const MomentumParams& params);
// `returns` oldest first; nullopt with fewer than trailing + lag of them.
std::optional<double> momentum_score(std::span<const double> returns, const MomentumParams& params,
                                     std::span<const double> weights);
std::optional<double> momentum_score(std::span<const double> returns, const MomentumParams& params);

// Clips to the p and 1−p percentiles (linear interpolation, numpy's default).
// p = 0 leaves the data as it is.
void winsorize(std::vector<double>& values, double p);
// (x − mean) / sample std; false (and all zeros) when the std is 0 or n < 2.
bool standardize(std::vector<double>& values);

// The cross section of one period, assets in a fixed order.
struct CrossSection {
  std::vector<double> returns;      // over the period
  std::vector<double> market_caps;  // > 0, at the start of the period
  std::vector<int> sectors;         // index into sector_names
  std::vector<std::string> sector_names;
  std::vector<std::vector<double>> styles;  // one column (n scores) per style
  std::vector<std::string> style_names;
};

struct FactorReturns {
  double market = 0;
  std::vector<double> sectors;  // per sector_names; Σ = 0 exactly
  std::vector<double> styles;   // per style_names
  std::vector<double> residuals;  // per asset
  std::vector<double> sector_residuals;  // after step 1, per asset
  std::vector<bool> sector_used, style_used;
  int sector_rank = 0, style_rank = 0;
  double r_squared = 0;  // weighted, of the full model
  std::vector<std::string> notes;  // what was rank deficient and how it was answered
};

// Throws std::invalid_argument on inconsistent sizes, a non-positive market cap
// or a sector index out of range (a caller's bug, not data).
FactorReturns estimate_factor_returns(const CrossSection& cs);

// The minimum-norm solution of A x = b for a symmetric positive semi-definite
// A (k × k, row-major), numpy lstsq's cut-off; `rank` receives the rank used.
std::vector<double> solve_symmetric_pinv(std::vector<double> a, std::span<const double> b, std::size_t k, int* rank);

// One period's raw inputs per asset, before scoring.
struct AssetInput {
  double period_return = 0;
  double market_cap = 0;   // start of the period
  double book_value = 0;
  int sector = 0;
  std::optional<double> momentum;  // momentum_score(), if enough history
};

struct ModelOptions {
  double style_winsor = 0.01;
  double return_winsor = 0.05;
};

struct ScoredPeriod {
  CrossSection cross_section;  // standardised styles, winsorised returns
  FactorReturns factors;
};

// Scores the styles (momentum, value, size) and estimates the factor returns.
ScoredPeriod factor_step(std::span<const AssetInput> assets, const std::vector<std::string>& sector_names,
                         const ModelOptions& options);

}  // namespace nautilus::factor
