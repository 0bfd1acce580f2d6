#include "store_history.h"

#include <stdexcept>

namespace nautilus::daemon {

std::vector<md::DataPtr> StoreHistoryReader::read(const md::HistoryRequest& request) {
  // The hub's type names are the bus message types of the same data.
  auto type = parse_message_type(md::to_string(request.type));
  if (!type) throw std::logic_error("no message type for " + std::string(md::to_string(request.type)));
  store::MarketQuery q;
  q.symbol = request.symbol;
  q.type = *type;
  q.from_ns = request.from_ns;
  q.to_ns = request.to_ns;
  q.limit = request.limit;
  q.newest_first = true;  // the newest `limit`, turned oldest first below
  std::vector<store::Record> rows = store_.market(q);
  std::vector<md::DataPtr> out;
  out.reserve(rows.size());
  for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
    auto d = std::make_shared<md::DataPoint>();
    d->symbol = it->symbol;
    d->type = request.type;
    d->source = it->source;
    d->as_of_ns = it->ts_ns;
    d->payload = std::move(it->payload);
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace nautilus::daemon
