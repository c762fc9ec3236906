#pragma once
// HAProxy 2.6's default traffic log lines: `option httplog`
//   %ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r
// and `option tcplog`
//   %ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq
// Pure: the caller measures the timers and counts.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace lb::core {

// Termination state, as HAProxy's two first letters: who ended the session (C client, S server,
// P proxy, R resource, I internal, D down, L local, K killed, - normal) and in which phase
// (R request, Q queue, C connect, H headers, D data, L last, T tarpit, - normal).
struct Termination {
  char cause = '-';
  char phase = '-';
};

struct AccessRecord {
  std::string client;  // "127.0.0.1" or "::1"
  std::uint16_t client_port = 0;
  std::chrono::system_clock::time_point date;  // %tr (httplog: request received) or %t (tcplog: accept)
  std::string frontend, backend, server;       // server "<NOSRV>" when none was chosen
  // Timers in ms; -1 where the phase was not reached.
  long TR = -1, Tw = -1, Tc = -1, Tr = -1, Ta = -1;  // httplog; tcplog uses Tw, Tc and Ta as %Tt
  int status = -1;
  std::uint64_t bytes = 0;  // sent to the client
  Termination term;
  int actconn = 0, feconn = 0, beconn = 0, srvconn = 0, retries = 0;
  bool redispatched = false;  // the retries count shows a '+'
  int srv_queue = 0, backend_queue = 0;
  std::string request_line;  // "GET / HTTP/1.1", or "<BADREQ>"
};

std::string httplog_line(const AccessRecord& r);
// What `option dontlog-normal` still logs (haproxy's strm_log): a redispatch, an end other than
// a normal or a local one, retries, or in mode http a status of 500 or more.
bool abnormal_exchange(const AccessRecord& r, bool http);
std::string tcplog_line(const AccessRecord& r);
// What a frontend with log targets but no log format (neither `option httplog` nor `option
// tcplog`) logs as each stream starts (haproxy's frontend_accept): "Connect from 127.0.0.1:5000
// to 127.0.0.1:80 (fe/HTTP)". Addresses as written without brackets, IPv6 too.
std::string connect_line(std::string_view client, std::uint16_t client_port, std::string_view local,
                         std::uint16_t local_port, std::string_view frontend, bool http);
// A UNIX socket's client has no address: frontend.c names the listener by its id instead.
std::string unix_connect_line(int listener_id, std::string_view frontend, bool http);
// "01/Dec/2026:09:30:00.123" (local time, milliseconds).
std::string log_date(std::chrono::system_clock::time_point t);

}  // namespace lb::core
