#pragma once
// HAProxy 2.6.12's proxy statistics (src/stats.c): one row of 128 fields per frontend, server and
// backend, filled as stats_fill_fe_stats / stats_fill_sv_stats / stats_fill_be_stats fill them
// (a field a row type does not have stays empty), and their CSV form, which `show stat` and the
// stats page's `;csv` print. Pure: it reads the engine's and routing's state at `now`.
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lb/core/check/check_engine.hpp"
#include "lb/core/config/model.hpp"
#include "lb/core/route/backends.hpp"
#include "lb/core/stats/info.hpp"
#include "lb/core/stats/traffic.hpp"

namespace lb::core::stats {

inline constexpr std::size_t kFields = 128;
// The field names in CSV order ("-" is the separator HAProxy puts before its modules' fields).
extern const std::array<std::string_view, kFields> kFieldNames;

// The CSV header line: "# pxname,svname,...,h1_spliced_bytes_out,\n".
std::string csv_header();

struct Row {
  std::array<std::optional<std::string>, kFields> fields;
  void set(std::string_view name, std::string value);
  void set(std::string_view name, long long value);
  const std::optional<std::string>& get(std::string_view name) const;
};
std::string csv_line(const Row& row);
// The typed forms of `show stat typed|json` and the stats page's `;typed`/`;json`: each field a
// row has, with the tags and type HAProxy 2.6.12 gives it for that row type
// ("F.2.0.4.scur.1:MGP:u32:0"; JSON: one array of field objects per row, "[[{...}],[...]]\n").
std::string typed_stats(const std::vector<Row>& rows);
std::string json_stats(const std::vector<Row>& rows);

// What to dump: HAProxy's `show stat [IID TYPE SID]` bounds and display flags.
struct Filter {
  std::optional<int> iid;  // a proxy's id; nullopt or -1: all
  int types = -1;          // bit 0 frontends, 1 backends, 2 servers (3 listeners)
  int sid = -1;            // one server id; -1: all
  bool hide_maint = false; // `no-maint`
  bool hide_down = false;  // `up`
  bool legends = true;     // addr/cookie/algo (HAProxy's STAT_SHLGNDS: the CLI at operator or admin)
};

struct Source {
  const Config& config;  // as parsed (names as written)
  const CheckEngine& engine;
  const Backends& backends;
  TimePoint now;
  int global_maxconn = 0;  // the process's maxconn, a frontend's default limit
  const ProcessInfo* process = nullptr;  // what `show info` says (the exporter's process metrics)
  const Traffic* traffic = nullptr;      // the traffic counters; none: zeros
};

// Every row HAProxy prints for this state, in its order (per proxy: FRONTEND, servers, BACKEND).
std::vector<Row> rows(const Source& source, const Filter& filter = {});

// The `status` field of a server row ("UP", "UP 1/2", "DOWN", "MAINT", "DRAIN", "no check", ...).
std::string server_status(const ServerStatus& status);

}  // namespace lb::core::stats
