#pragma once
// HAProxy's stats CSV (`show stat`) as it appears in a Runtime API answer: the header's columns
// and the rows, for stat expectations and for comparing balancers on the values that say what
// state they are in.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lbh {

struct StatsCsv {
  std::vector<std::string> columns;            // "pxname", "svname", "qcur", ...
  std::vector<std::vector<std::string>> rows;  // cells in column order
  std::size_t begin = 0, end = 0;              // where the CSV is in the answer

  // The cell of `column` in the row `proxy`/`svname`; nullopt when either is missing.
  std::optional<std::string> value(std::string_view proxy, std::string_view svname, std::string_view column) const;
};

// The first stats CSV in `answer`, if any.
std::optional<StatsCsv> find_stats_csv(std::string_view answer);

// `answer` with its stats CSV cut down to the columns of state (status, weights, server counts,
// check status and health): those two balancers must agree on, whereas traffic counters, times
// and ports differ from one run to the next.
std::string state_columns_only(std::string_view answer);

}  // namespace lbh
