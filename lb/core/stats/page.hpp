#pragma once
// The requests lb answers itself, as HAProxy 2.6.12 answers them (src/http_ana.c, src/stats.c,
// addons/promex): the statistics page of `stats uri` (CSV with `;csv`, an HTML page, Basic
// authentication, the admin form's POST) and the Prometheus exporter of `http-request use-service
// prometheus-exporter`. Pure: the edge hands over the request and writes the bytes back.
#include <optional>
#include <string>
#include <string_view>

#include "lb/core/stats/stats.hpp"

namespace lb::core::stats {

enum class Service { None, Stats, Prometheus };
// Which service a frontend's request is for: the stats page takes GET, HEAD and POST whose path
// starts with its `stats uri`; the exporter takes what its `path` condition names.
Service local_service(const ProxyConfig& frontend, std::string_view method, std::string_view target);

struct PageRequest {
  std::string_view method;
  std::string_view target;
  std::optional<std::string_view> authorization;  // the Authorization header's value
  std::string_view body;                          // a POST's form
  bool http10 = false;
  bool keep_alive = false;  // the client asked to keep the connection
  bool from_localhost = false;
};

struct PageAnswer {
  int status = 200;
  std::string bytes;  // status line, headers and body, as sent
  bool close = true;  // the connection ends after it
};

// The stats page of `frontend` (which has `stats`). An admin POST changes servers through
// `engine`, which logs HAProxy's lines ("... changed from Web interface").
PageAnswer stats_page(const ProxyConfig& frontend, const PageRequest& request, const Source& source,
                      CheckEngine& engine);

// The Prometheus exporter: HAProxy's metric names, labels, HELP and TYPE lines.
PageAnswer prometheus(const PageRequest& request, const Source& source);

// RFC 4648 base64, for Basic credentials; nullopt when `text` is not base64.
std::optional<std::string> decode_base64(std::string_view text);

}  // namespace lb::core::stats
