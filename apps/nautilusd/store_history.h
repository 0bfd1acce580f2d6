// The daemon's history store as the hub's first stop for history: market
// rows recorded from marketdata.real_time.<type>.<symbol> become the hub's
// data points again, so history asked through the hub comes from the store
// before any source is called.
#pragma once

#include "marketdata/history_reader.h"
#include "store/store.h"

namespace nautilus::daemon {

class StoreHistoryReader final : public md::HistoryReader {
 public:
  explicit StoreHistoryReader(store::Store& store) : store_(store) {}
  std::string describe() const override { return store_.describe(); }
  std::vector<md::DataPtr> read(const md::HistoryRequest& request) override;

 private:
  store::Store& store_;
};

}  // namespace nautilus::daemon
