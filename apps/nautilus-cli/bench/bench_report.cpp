#include "bench/bench_report.h"

#include "table.h"

namespace nautilus::cli {
namespace {

double us(std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

}  // namespace

nlohmann::json latency_json_us(const HistogramSnapshot& h) {
  return {{"p50", us(h.percentile(0.50))},   {"p90", us(h.percentile(0.90))},
          {"p99", us(h.percentile(0.99))},   {"p999", us(h.percentile(0.999))},
          {"max", us(h.max())},              {"mean", h.mean() / 1000.0},
          {"samples", h.count()}};
}

double BenchReport::publish_rate() const {
  double secs = publish_s > 0 ? publish_s : duration_s;
  return secs > 0 ? static_cast<double>(messages) / secs : 0;
}

double BenchReport::delivery_rate() const {
  return duration_s > 0 ? static_cast<double>(delivered) / duration_s : 0;
}

nlohmann::json BenchReport::to_json() const {
  nlohmann::json j = {
      {"scenario", scenario},
      {"backend", backend},
      {"publishers", publishers},
      {"subscribers", subscribers},
      {"payload_bytes", payload_bytes},
      {"target_rate", target_rate},
      {"messages", messages},
      {"delivered", delivered},
      {"duration_s", duration_s},
      {"throughput_msgs_per_s", throughput()},
      {"publish_s", publish_s > 0 ? publish_s : duration_s},
      {"publish_msgs_per_s", publish_rate()},
      {"publish_mb_per_s", publish_mb_per_s()},
      {"delivered_msgs_per_s", delivery_rate()},
      {"delivered_mb_per_s", delivery_mb_per_s()},
      {"latency_us", latency_json_us(latency_ns)},
      {"lost", lost},
      {"duplicated", duplicated},
  };
  nlohmann::json bp = nlohmann::json::object();
  for (Priority p : kAllPriorities) {
    const auto& r = by_priority[lane_of(p)];
    if (r.messages == 0 && r.delivered == 0) continue;
    bp[std::string(to_string(p))] = {{"messages", r.messages},
                                     {"delivered", r.delivered},
                                     {"lost", r.lost},
                                     {"duplicated", r.duplicated},
                                     {"latency_us", latency_json_us(r.latency_ns)}};
  }
  j["by_priority"] = bp;
  for (auto it = extra.begin(); it != extra.end(); ++it) j[it.key()] = it.value();
  if (!notes.empty()) j["notes"] = notes;
  return j;
}

void BenchReport::print_table(std::ostream& out, bool color) const {
  out << "bench " << scenario << " on " << backend << ": " << publishers << " publisher(s) -> "
      << subscribers << " subscriber(s), " << payload_bytes << "-byte payloads";
  if (target_rate > 0) out << ", paced at " << format_count(target_rate) << " msgs/s";
  out << "\n";
  out << "  messages " << format_count(static_cast<double>(messages)) << " in "
      << format_fixed(duration_s, 3) << " s = " << format_count(throughput()) << " msgs/s"
      << "   lost " << lost << "   duplicated " << duplicated << "\n";
  out << "  publish " << format_count(publish_rate()) << " msgs/s = " << format_fixed(publish_mb_per_s(), 1)
      << " MB/s   delivery " << format_count(delivery_rate()) << " msgs/s = " << format_fixed(delivery_mb_per_s(), 1)
      << " MB/s (payload bytes, all subscribers)\n\n";
  Table t({"priority", "messages", "delivered", "lost", "dup", "p50 us", "p90 us", "p99 us",
           "p99.9 us", "max us"});
  auto row = [&](const std::string& name, std::uint64_t msgs, std::uint64_t deliv, std::uint64_t l,
                 std::uint64_t d, const HistogramSnapshot& h) {
    t.add_row({name, format_count(static_cast<double>(msgs)), format_count(static_cast<double>(deliv)),
               std::to_string(l), std::to_string(d), format_fixed(us(h.percentile(0.5)), 1),
               format_fixed(us(h.percentile(0.9)), 1), format_fixed(us(h.percentile(0.99)), 1),
               format_fixed(us(h.percentile(0.999)), 1), format_fixed(us(h.max()), 1)});
  };
  for (Priority p : kAllPriorities) {
    const auto& r = by_priority[lane_of(p)];
    if (r.messages == 0 && r.delivered == 0) continue;
    row(std::string(to_string(p)), r.messages, r.delivered, r.lost, r.duplicated, r.latency_ns);
  }
  row("all", messages, delivered, lost, duplicated, latency_ns);
  t.print(out, color);
  for (auto it = extra.begin(); it != extra.end(); ++it) {
    if (it.key() == "ceiling") continue;
    out << "  " << it.key() << ": " << it.value().dump() << "\n";
  }
  if (auto c = extra.find("ceiling"); c != extra.end()) {
    const auto& pre = (*c)["prebuilt"];
    const auto& built = (*c)["built"];
    out << "  ceiling, same run (" << (*c)["peer"].get<std::string>() << ", " << subscribers << " consumer(s)): "
        << format_count(pre["msgs_per_s"].get<double>()) << " msgs/s with messages built beforehand, "
        << format_count(built["msgs_per_s"].get<double>()) << " msgs/s built per message\n"
        << "  nautilus = " << format_fixed((*c)["ratio_to_prebuilt"].get<double>(), 2) << " x the pre-built ceiling, "
        << format_fixed((*c)["ratio_to_built"].get<double>(), 2) << " x the built one\n";
  }
  for (const auto& n : notes) out << "  note: " << n << "\n";
}

}  // namespace nautilus::cli
