#include "bench/proc_usage.h"

#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>

namespace nautilus::cli {

double process_cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  const std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces: count fields after its ')'.
  const auto name_end = stat.rfind(')');
  if (name_end == std::string::npos) return -1;
  std::istringstream fields(stat.substr(name_end + 2));  // field 3 onwards
  std::string skip;
  for (int field = 3; field < 14 && fields >> skip; ++field) {
  }
  long long utime = 0, stime = 0;  // fields 14 and 15, in clock ticks
  if (!(fields >> utime >> stime)) return -1;
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  if (!(in >> one >> five >> fifteen)) return "";
  return one + " " + five + " " + fifteen;
}

}  // namespace nautilus::cli
