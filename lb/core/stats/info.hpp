#pragma once
// HAProxy 2.6.12's `show info` (src/stats.c info_fields[], stats_fill_info): the process's fields in
// HAProxy's order, plain ("Name: lb"), typed ("0.Name.1:POS:str:lb") or JSON, with lb's values
// (what lb does not have, such as SSL or compression, is 0).
#include <string>
#include <string_view>
#include <vector>

namespace lb::core::stats {

// What `show info` calls the version and `show version`/`show proc` print.
inline constexpr std::string_view kVersion = "2.6.12 (lb)";

struct ProcessInfo {
  int pid = 0;
  long uptime_s = 0;
  long start_time_s = 0;  // wall clock, seconds since the epoch
  int ulimit_n = 0, maxsock = 0, maxconn = 0;
  int current_connections = 0;
  int listeners = 0;
  // The stats sockets served with their levels, as `show cli sockets` lists them
  // ("unix@/run/lb.sock admin", "ipv4@127.0.0.1:9999 operator", "sockpair@4 admin").
  std::vector<std::string> cli_sockets;
  bool stopping = false;
  std::string node;  // the host name
};

// A field's tags as the typed forms print them ("MGP": origin, nature, scope letters) and as the
// JSON forms spell them out ("Metric", "Gauge", "Process").
struct TagNames {
  std::string_view origin, nature, scope;
};
TagNames tag_names(std::string_view letters);

enum class InfoFormat { Plain, Typed, Json };
std::string show_info(const ProcessInfo& info, InfoFormat format);
// One field's value as `show info` prints it ("Uptime_sec" -> "12"); "0" for the fields lb does
// not have.
std::string info_value(const ProcessInfo& info, std::string_view field);

}  // namespace lb::core::stats
