// Seeded mutations of a valid document, for differential tests against a
// reference parser: 1-4 edits, each an insert, delete or overwrite of one
// character drawn from `alphabet`.
#pragma once

#include <random>
#include <string>
#include <string_view>

namespace nautilus::testing {

inline std::string mutate(std::string s, std::mt19937& rng, std::string_view alphabet) {
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    const std::size_t pos = rng() % (s.size() + 1);
    switch (rng() % 3) {
      case 0:
        s.insert(pos, 1, alphabet[rng() % alphabet.size()]);
        break;
      case 1:
        if (pos < s.size()) s.erase(pos, 1);
        break;
      default:
        if (pos < s.size()) s[pos] = alphabet[rng() % alphabet.size()];
    }
  }
  return s;
}

}  // namespace nautilus::testing
