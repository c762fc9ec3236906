#include "lb/core/stats/traffic.hpp"

#include <algorithm>


namespace lb::core::stats {
namespace {

long long second_of(TimePoint t) { return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count(); }

std::size_t response_class(int status) {
  if (status >= 100 && status < 600) return static_cast<std::size_t>(status / 100 - 1);
  return 5;
}

// A status that stayed -1 (a client that left mid-body, before any response) is an "other"
// response, as haproxy counts any transaction status that is not 0 (stream.c).
void count_response(Counters& c, int status) {
  if (status != 0) ++c.responses[response_class(status)];
}

}  // namespace

RateCounter::Counts RateCounter::counts_in(long long second) const {
  if (second == period_) return {current_, previous_};
  return {0, second == period_ + 1 ? current_ : 0};
}

void RateCounter::add(TimePoint now) {
  const long long s = second_of(now);
  const auto c = counts_in(s);
  current_ = c.current + 1;
  previous_ = c.previous;
  period_ = s;
  max_ = std::max(max_, read(now));
}

long RateCounter::read(TimePoint now) const {
  const long long s = second_of(now);
  const auto c = counts_in(s);
  const auto into = now.time_since_epoch() - std::chrono::seconds(s);
  const double left = 1.0 - std::chrono::duration<double>(into).count();
  return c.current + static_cast<long>(static_cast<double>(c.previous) * left);
}

Traffic::Traffic(const Config& config) : proxies_(config.proxies.size()) {
  for (const auto& p : config.proxies) servers_.emplace_back(p.servers.size());
}

void Traffic::connection_accepted(std::size_t frontend, TimePoint now) {
  auto& fe = proxies_.at(frontend);
  ++fe.connections;
  ++fe.sessions;
  fe.connection_rate.add(now);
  fe.session_rate.add(now);
  fe.last_session = now;
  fe.max_current = std::max(fe.max_current, ++fe.current);
}

void Traffic::connection_closed(std::size_t frontend) { --proxies_.at(frontend).current; }

void Traffic::server_attempt(ServerKey key, TimePoint now) {
  auto& s = servers_.at(key.proxy).at(key.server);
  ++s.sessions;
  s.session_rate.add(now);
  s.last_session = now;
}

void Traffic::retried(ServerKey key, bool redispatched) {
  auto& s = servers_.at(key.proxy).at(key.server);
  auto& be = proxies_.at(key.proxy);
  if (redispatched) {
    ++s.redispatches;
    ++be.redispatches;
  } else {
    ++s.retries;
    ++be.retries;
  }
}

void Traffic::exchange(const Exchange& e, TimePoint now) {
  auto& fe = proxies_.at(e.frontend);
  // A request that never came whole (invalid, timed out, or the client left before sending it)
  // is a request error of the frontend, and counts no bytes.
  const bool bad_request = e.term.phase == 'R';
  if (e.http) {
    ++fe.requests;
    fe.request_rate.add(now);
  }
  if (bad_request) {
    ++fe.request_errors;
    count_response(fe, e.status);
    return;
  }
  fe.bytes_in += e.request_size;
  fe.bytes_out += e.response_size;
  if (e.http && !e.unanswered) count_response(fe, e.status);
  if (!e.backend) return;
  auto& be = proxies_.at(*e.backend);
  ++be.sessions;
  be.session_rate.add(now);
  be.last_session = now;
  be.bytes_in += e.request_size;
  be.bytes_out += e.response_size;
  if (e.unanswered) {
    auto* s = e.server ? &servers_.at(*e.backend).at(*e.server) : nullptr;
    if (s) s->bytes_in += e.request_size;
    if (!e.server_reset) return;
    for (auto* c : {&be, s})
      if (c) {
        ++c->response_errors;
        ++c->server_aborts;
      }
    return;
  }
  if (e.http) {
    ++be.requests;
    count_response(be, e.status);
  }
  const bool server_side = e.term.cause == 'S' || e.term.cause == 's';
  // An internal error at connect (IC, back_try_conn_req's SF_ERR_INTERNAL) counts as one too.
  const bool no_connection = (server_side || e.term.cause == 'I') && e.term.phase == 'C';
  // A bad, missing or late response head; a server that left while sending the body.
  const bool bad_response = (server_side || e.term.cause == 'P') && e.term.phase == 'H';
  const bool server_abort = server_side && e.term.phase == 'D';
  if (e.term.cause == 'C') ++be.client_aborts;
  // A reset before the response head haproxy counts twice: as the failed response
  // (http_wait_for_response) and as the server side's error (process_stream).
  const int response_errors = (bad_response || server_abort) + (bad_response && e.server_reset);
  be.response_errors += response_errors;
  if (server_abort) ++be.server_aborts;
  if (!e.server) {
    if (no_connection) ++be.connect_errors;  // no server to take it
    return;
  }
  auto& s = servers_.at(*e.backend).at(*e.server);
  s.bytes_in += e.request_size;
  s.bytes_out += e.response_size;
  if (no_connection) {
    ++s.connect_errors;
    ++be.connect_errors;
  }
  s.response_errors += response_errors;
  if (server_abort) ++s.server_aborts;
  if (e.term.cause == 'C') ++s.client_aborts;
  if (e.http && e.server_answered) {
    ++s.requests;
    count_response(s, e.status);
  }
}

}  // namespace lb::core::stats
