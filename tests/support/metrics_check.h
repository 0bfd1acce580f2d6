// The project's own check of Prometheus histograms (promtool checks little of
// them): per series, bucket bounds strictly increasing, counts cumulative
// (non-decreasing), the last bucket le="+Inf", and +Inf equal to _count.
// Returns the problems found (empty: fine) and how many histograms it saw.
#pragma once

#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace nautilus::test {

struct HistogramCheck {
  std::vector<std::string> problems;
  int histograms = 0;
};

inline HistogramCheck check_histograms(const std::string& text) {
  HistogramCheck out;
  struct Series {
    std::vector<std::pair<double, double>> buckets;  // (le, cumulative count)
    bool has_count = false;
    double count = 0;
  };
  std::map<std::string, Series> series;  // name{labels without le}
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto brace = line.find('{');
    auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    std::string name = line.substr(0, brace == std::string::npos ? space : brace);
    std::string labels = brace == std::string::npos ? "" : line.substr(brace + 1, line.find('}') - brace - 1);
    double value = std::stod(line.substr(space + 1));
    auto strip_le = [](std::string l, double& le) {
      auto p = l.find("le=\"");
      if (p == std::string::npos) return l;
      auto q = l.find('"', p + 4);
      std::string v = l.substr(p + 4, q - p - 4);
      le = v == "+Inf" ? INFINITY : std::stod(v);
      l.erase(p, q - p + 1);
      if (p > 0 && l[p - 1] == ',') l.erase(p - 1, 1);
      else if (p < l.size() && l[p] == ',') l.erase(p, 1);
      return l;
    };
    if (name.size() > 7 && name.ends_with("_bucket")) {
      double le = NAN;
      std::string key = name.substr(0, name.size() - 7) + "{" + strip_le(labels, le) + "}";
      series[key].buckets.emplace_back(le, value);
    } else if (name.size() > 6 && name.ends_with("_count")) {
      std::string key = name.substr(0, name.size() - 6) + "{" + labels + "}";
      series[key].has_count = true;
      series[key].count = value;
    }
  }
  for (const auto& [key, s] : series) {
    if (s.buckets.empty()) continue;  // a summary or plain counter named *_count
    ++out.histograms;
    for (std::size_t i = 1; i < s.buckets.size(); ++i) {
      if (!(s.buckets[i].first > s.buckets[i - 1].first)) out.problems.push_back(key + ": bucket bounds not sorted");
      if (s.buckets[i].second < s.buckets[i - 1].second) out.problems.push_back(key + ": buckets not cumulative");
    }
    if (!std::isinf(s.buckets.back().first)) out.problems.push_back(key + ": last bucket is not +Inf");
    if (!s.has_count) out.problems.push_back(key + ": no _count");
    else if (s.buckets.back().second != s.count) out.problems.push_back(key + ": +Inf bucket != _count");
  }
  return out;
}

}  // namespace nautilus::test
