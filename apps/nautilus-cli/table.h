// Aligned text tables for people at a terminal. Numbers are right-aligned.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace nautilus::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void add_row(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(std::ostream& out, bool color) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

std::string format_count(double v);        // 1234567 -> "1,234,567"
std::string format_fixed(double v, int digits);

}  // namespace nautilus::cli
