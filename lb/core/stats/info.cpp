#include "lb/core/stats/info.hpp"

#include <fmt/format.h>

#include <map>
#include <string_view>

namespace lb::core::stats {
namespace {

struct InfoField {
  int pos;
  std::string_view name;
  std::string_view tags;  // origin, nature, scope letters, as `show info typed` prints them
  std::string_view type;
};

// The fields HAProxy 2.6.12 prints (those it leaves empty without zlib or a description are not
// printed by it either), with their positions and tags.
constexpr InfoField kFields[] = {
    {0, "Name", "POS", "str"},
    {1, "Version", "POS", "str"},
    {2, "Release_date", "POS", "str"},
    {3, "Nbthread", "CGS", "u32"},
    {4, "Nbproc", "CGS", "u32"},
    {5, "Process_num", "KGP", "u32"},
    {6, "Pid", "SGP", "u32"},
    {7, "Uptime", "MDP", "str"},
    {8, "Uptime_sec", "MDP", "u32"},
    {9, "Memmax_MB", "CLP", "u32"},
    {10, "PoolAlloc_MB", "MGP", "u32"},
    {11, "PoolUsed_MB", "MGP", "u32"},
    {12, "PoolFailed", "MCP", "u32"},
    {13, "Ulimit-n", "CLP", "u32"},
    {14, "Maxsock", "CLP", "u32"},
    {15, "Maxconn", "CLP", "u32"},
    {16, "Hard_maxconn", "CLP", "u32"},
    {17, "CurrConns", "MGP", "u32"},
    {18, "CumConns", "MCP", "u32"},
    {19, "CumReq", "MCP", "u32"},
    {20, "MaxSslConns", "MMP", "u32"},
    {21, "CurrSslConns", "MGP", "u32"},
    {22, "CumSslConns", "MCP", "u32"},
    {23, "Maxpipes", "CLP", "u32"},
    {24, "PipesUsed", "MGP", "u32"},
    {25, "PipesFree", "MGP", "u32"},
    {26, "ConnRate", "MRP", "u32"},
    {27, "ConnRateLimit", "CLP", "u32"},
    {28, "MaxConnRate", "MMP", "u32"},
    {29, "SessRate", "MRP", "u32"},
    {30, "SessRateLimit", "CLP", "u32"},
    {31, "MaxSessRate", "MRP", "u32"},
    {32, "SslRate", "MRP", "u32"},
    {33, "SslRateLimit", "CLP", "u32"},
    {34, "MaxSslRate", "MMP", "u32"},
    {35, "SslFrontendKeyRate", "MGP", "u32"},
    {36, "SslFrontendMaxKeyRate", "MMP", "u32"},
    {37, "SslFrontendSessionReuse_pct", "MGP", "u32"},
    {38, "SslBackendKeyRate", "MRP", "u32"},
    {39, "SslBackendMaxKeyRate", "MMP", "u32"},
    {40, "SslCacheLookups", "MCP", "u32"},
    {41, "SslCacheMisses", "MCP", "u32"},
    {42, "CompressBpsIn", "MRP", "u32"},
    {43, "CompressBpsOut", "MRP", "u32"},
    {44, "CompressBpsRateLim", "CLP", "u32"},
    {47, "Tasks", "MGP", "u32"},
    {48, "Run_queue", "MGP", "u32"},
    {49, "Idle_pct", "MaP", "u32"},
    {50, "node", "COS", "str"},
    {52, "Stopping", "MGP", "u32"},
    {53, "Jobs", "MGP", "u32"},
    {54, "Unstoppable Jobs", "MGP", "u32"},
    {55, "Listeners", "MGP", "u32"},
    {56, "ActivePeers", "MGP", "u32"},
    {57, "ConnectedPeers", "MGP", "u32"},
    {58, "DroppedLogs", "MGP", "u32"},
    {59, "BusyPolling", "MGP", "u32"},
    {60, "FailedResolutions", "MGP", "u32"},
    {61, "TotalBytesOut", "MGP", "u64"},
    {62, "TotalSplicdedBytesOut", "MGP", "u64"},
    {63, "BytesOutRate", "MRP", "u64"},
    {64, "DebugCommandsIssued", "MGP", "u32"},
    {65, "CumRecvLogs", "MCP", "u32"},
    {66, "Build info", "POS", "str"},
    {67, "Memmax_bytes", "CLP", "u32"},
    {68, "PoolAlloc_bytes", "MGP", "u64"},
    {69, "PoolUsed_bytes", "MGP", "u64"},
    {70, "Start_time_sec", "MDP", "u32"},
    {71, "Tainted", "SGP", "str"},
};

std::string_view origin(char c) {
  switch (c) {
    case 'M': return "Metric";
    case 'S': return "Status";
    case 'K': return "Key";
    case 'C': return "Config";
    case 'P': return "Product";
  }
  return "";
}

std::string_view nature(char c) {
  switch (c) {
    case 'G': return "Gauge";
    case 'L': return "Limit";
    case 'm': return "Min";
    case 'M': return "Max";
    case 'R': return "Rate";
    case 'C': return "Counter";
    case 'D': return "Duration";
    case 'A': return "Age";
    case 'T': return "Time";
    case 'N': return "Name";
    case 'O': return "Output";
    case 'a': return "Avg";
  }
  return "";
}

std::string_view scope(char c) {
  switch (c) {
    case 'P': return "Process";
    case 'S': return "Service";
    case 's': return "System";
    case 'C': return "Cluster";
  }
  return "";
}

std::string uptime(long s) { return fmt::format("{}d {}h{:02}m{:02}s", s / 86400, s / 3600 % 24, s / 60 % 60, s % 60); }

}  // namespace

TagNames tag_names(std::string_view letters) {
  if (letters.size() < 3) return {};
  return {origin(letters[0]), nature(letters[1]), scope(letters[2])};
}

std::string info_value(const ProcessInfo& p, std::string_view field) {
  const std::map<std::string_view, std::string> values{
      {"Name", "lb"},
      {"Version", std::string(kVersion)},
      {"Release_date", "2026/12/01"},
      {"Nbthread", "1"},
      {"Nbproc", "1"},
      {"Process_num", "1"},
      {"Pid", std::to_string(p.pid)},
      {"Uptime", uptime(p.uptime_s)},
      {"Uptime_sec", std::to_string(p.uptime_s)},
      {"Ulimit-n", std::to_string(p.ulimit_n)},
      {"Maxsock", std::to_string(p.maxsock)},
      {"Maxconn", std::to_string(p.maxconn)},
      {"Hard_maxconn", std::to_string(p.maxconn)},
      {"CurrConns", std::to_string(p.current_connections)},
      {"Idle_pct", "100"},
      {"node", p.node},
      {"Stopping", p.stopping ? "1" : "0"},
      {"Listeners", std::to_string(p.listeners)},
      {"Build info", std::string(kVersion)},
      {"Start_time_sec", std::to_string(p.start_time_s)},
  };
  const auto it = values.find(field);
  return it == values.end() ? "0" : it->second;
}

std::string show_info(const ProcessInfo& p, InfoFormat format) {
  std::string out;
  if (format == InfoFormat::Json) out += "[";
  bool first = true;
  for (const auto& f : kFields) {
    const std::string value = info_value(p, f.name);
    switch (format) {
      case InfoFormat::Plain:
        out += fmt::format("{}: {}\n", f.name, value);
        break;
      case InfoFormat::Typed:
        out += fmt::format("{}.{}.1:{}:{}:{}\n", f.pos, f.name, f.tags, f.type, value);
        break;
      case InfoFormat::Json:
        out += fmt::format(
            "{}{{\"field\":{{\"pos\":{},\"name\":\"{}\"}},\"processNum\":1,\"tags\":{{\"origin\":\"{}\",\"nature\":\"{}\","
            "\"scope\":\"{}\"}},\"value\":{{\"type\":\"{}\",\"value\":{}}}}}",
            first ? "" : ",", f.pos, f.name, tag_names(f.tags).origin, tag_names(f.tags).nature, tag_names(f.tags).scope, f.type,
            f.type == "str" ? fmt::format("\"{}\"", value) : value);
        break;
    }
    first = false;
  }
  if (format == InfoFormat::Json) out += "]\n";
  return out;
}

}  // namespace lb::core::stats
