// What a benchmark reports beside its figures so a reader can tell the
// machine's limits from the design's: CPU time of a process (this one, or a
// server such as redis-server by pid, from /proc/<pid>/stat) and the load
// average. Linux only, as the benches are.
#pragma once

#include <sys/types.h>

#include <string>

namespace nautilus::cli {

// User + system CPU seconds `pid` has used so far; negative when it cannot
// be read (no such process, not Linux).
double process_cpu_seconds(pid_t pid);

// "/proc/loadavg"'s first three fields ("1.20 0.80 0.50"), empty if unreadable.
std::string load_average();

}  // namespace nautilus::cli
