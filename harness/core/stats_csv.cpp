#include "harness/core/stats_csv.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace lbh {
namespace {

// One CSV line's cells; a quoted cell (HAProxy quotes those with a comma, a quote or a line
// break) has its quotes taken off and its doubled quotes made single.
std::vector<std::string> cells(std::string_view line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c != '"') out.back() += c;
      else if (i + 1 < line.size() && line[i + 1] == '"') out.back() += line[++i];
      else quoted = false;
    } else if (c == '"' && out.back().empty()) {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

constexpr std::array kStateColumns{"pxname",       "svname",     "status",      "weight",    "act",
                                   "bck",          "chkfail",    "chkdown",     "check_status", "check_code",
                                   "check_rise",   "check_fall", "check_health", "uweight",   "agg_server_status"};

}  // namespace

std::optional<std::string> StatsCsv::value(std::string_view proxy, std::string_view svname, std::string_view column) const {
  const auto c = std::find(columns.begin(), columns.end(), column);
  if (c == columns.end()) return std::nullopt;
  const auto i = static_cast<std::size_t>(c - columns.begin());
  for (const auto& r : rows)
    if (r.size() > std::max<std::size_t>(i, 1) && r[0] == proxy && r[1] == svname) return r[i];
  return std::nullopt;
}

std::optional<StatsCsv> find_stats_csv(std::string_view answer) {
  const auto head = answer.find("# pxname,");
  if (head == std::string_view::npos) return std::nullopt;
  StatsCsv csv;
  csv.begin = head;
  std::size_t at = head + 2;
  auto next_line = [&]() {
    const auto nl = answer.find('\n', at);
    const auto line = answer.substr(at, nl == std::string_view::npos ? std::string_view::npos : nl - at);
    at = nl == std::string_view::npos ? answer.size() : nl + 1;
    return line;
  };
  csv.columns = cells(next_line());
  while (!csv.columns.empty() && csv.columns.back().empty()) csv.columns.pop_back();  // the trailing comma
  for (auto line = next_line(); !line.empty(); line = next_line()) csv.rows.push_back(cells(line));
  csv.end = at;
  return csv;
}

std::string state_columns_only(std::string_view answer) {
  const auto csv = find_stats_csv(answer);
  if (!csv) return std::string(answer);
  std::string out(answer.substr(0, csv->begin));
  out += fmt::format("# {}\n", fmt::join(kStateColumns, ","));
  for (const auto& r : csv->rows) {
    std::vector<std::string> kept;
    for (const auto* c : kStateColumns) kept.push_back(csv->value(r[0], r.size() > 1 ? r[1] : "", c).value_or(""));
    out += fmt::format("{}\n", fmt::join(kept, ","));
  }
  out += answer.substr(csv->end);
  return out;
}

}  // namespace lbh
