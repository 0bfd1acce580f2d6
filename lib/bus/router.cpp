#include "bus/router.h"

#include <stdexcept>

namespace nautilus {

Router::Router(std::unique_ptr<Bus> marketdata, std::unique_ptr<Bus> engine)
    : marketdata_(std::move(marketdata)), engine_(std::move(engine)) {
  if (!marketdata_ || !engine_) throw std::invalid_argument("router: both buses are required");
}

std::unique_ptr<Router> Router::from_urls(std::string_view marketdata_url, std::string_view engine_url,
                                          Clock* clock) {
  BusOptions md;
  md.name = "marketdata";
  md.clock = clock;
  BusOptions en;
  en.name = "engine";
  en.clock = clock;
  return std::make_unique<Router>(make_bus(marketdata_url, md), make_bus(engine_url, en));
}

Bus& Router::bus(BusKind kind) { return kind == BusKind::kMarketData ? *marketdata_ : *engine_; }

Status Router::publish(std::shared_ptr<Message> msg) {
  if (!msg) return Status(StatusCode::kInvalidArgument, "null message");
  return bus(msg->bus()).publish(std::move(msg));
}

Status Router::publish(BusKind kind, std::shared_ptr<Message> msg) { return bus(kind).publish(std::move(msg)); }

SubscriptionPtr Router::subscribe(BusKind kind, std::string_view pattern, Handler handler,
                                  SubscribeOptions options) {
  return bus(kind).subscribe(pattern, std::move(handler), std::move(options));
}

bool Router::drain(std::chrono::milliseconds timeout) {
  bool a = marketdata_->drain(timeout);
  bool b = engine_->drain(timeout);
  return a && b;
}

void Router::close() {
  marketdata_->close();
  engine_->close();
}

}  // namespace nautilus
