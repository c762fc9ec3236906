#include "mockserver/core/write_plan.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace mock::core {

namespace {

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

bool has_header(const Response& r, std::string_view name) {
  return std::any_of(r.headers.begin(), r.headers.end(),
                     [&](const auto& h) { return iequals(h.first, name); });
}

bool closes(const Response& r, const RequestFacts& req) {
  if (!req.keep_alive) return true;
  return std::any_of(r.headers.begin(), r.headers.end(), [](const auto& h) {
    return iequals(h.first, "Connection") && iequals(h.second, "close");
  });
}

bool bodiless_status(int status) { return status < 200 || status == 204 || status == 304; }

void send(WritePlan& p, std::string bytes) {
  if (!p.steps.empty() && p.steps.back().kind == StepKind::Send) {
    p.steps.back().bytes += bytes;  // adjacent sends are one write: the wire shape is the plan's
  } else {
    p.steps.push_back({StepKind::Send, std::move(bytes), Ms{0}});
  }
}
void pause(WritePlan& p, Ms ms) {
  if (ms.count() > 0) p.steps.push_back({StepKind::Pause, {}, ms});
}
void end(WritePlan& p, StepKind k) { p.steps.push_back({k, {}, Ms{0}}); }
void end(WritePlan& p, Ending e) { end(p, e == Ending::Hold ? StepKind::Hold : StepKind::Close); }

// Sends `bytes` in pieces of `size`, pausing `gap` between them.
void send_in_pieces(WritePlan& p, std::string_view bytes, std::size_t size, Ms gap) {
  if (size == 0) size = bytes.size();
  for (std::size_t at = 0; at < bytes.size(); at += size) {
    if (at > 0) pause(p, gap);
    send(p, std::string(bytes.substr(at, size)));
  }
}

// xorshift32: the same seed gives the same garbage everywhere.
std::uint32_t next_random(std::uint32_t& s) {
  s ^= s << 13;
  s ^= s >> 17;
  s ^= s << 5;
  return s;
}

std::string garbage_bytes(std::size_t n, std::uint32_t seed) {
  std::uint32_t state = seed == 0 ? 0x9e3779b9u : seed;
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(next_random(state) & 0xff);
  // Never let the bytes start like a status line, so no client can take them for HTTP.
  if (!out.empty() && (out[0] == 'H' || out[0] == 'h')) out[0] = '\x01';
  return out;
}

}  // namespace

std::size_t WritePlan::byte_count() const {
  std::size_t n = 0;
  for (const auto& s : steps) n += s.bytes.size();
  return n;
}

std::string render_body(const Response& r, std::string_view listener, const RequestFacts& req) {
  std::string body = r.body ? *r.body : std::string("hello from {name}");
  if (body.find('{') == std::string::npos) return body;
  replace_all(body, "{name}", listener);
  replace_all(body, "{method}", req.method);
  replace_all(body, "{path}", req.path);
  return body;
}

bool is_static(const Response& r) {
  if (r.delay.count() > 0 || r.chunk_bytes > 0 || r.chunked) return false;
  if (!r.body) return true;
  return r.body->find("{method}") == std::string::npos && r.body->find("{path}") == std::string::npos;
}

std::string render_head(const Response& r, std::size_t body_size, const RequestFacts& req) {
  std::string out = fmt::format("HTTP/1.1 {}", r.status);
  if (!r.omit_reason) {
    out += ' ';
    out += r.reason ? std::string_view(*r.reason) : standard_reason(r.status);
  }
  out += "\r\n";
  for (const auto& [name, value] : r.headers) out += fmt::format("{}: {}\r\n", name, value);
  if (r.chunked) {
    if (!has_header(r, "Transfer-Encoding")) out += "Transfer-Encoding: chunked\r\n";
  } else if (!bodiless_status(r.status) && !has_header(r, "Content-Length") &&
             !has_header(r, "Transfer-Encoding")) {
    out += fmt::format("Content-Length: {}\r\n", body_size);
  }
  if (!has_header(r, "Connection")) {
    if (closes(r, req)) {
      out += "Connection: close\r\n";
    } else if (req.http10) {
      out += "Connection: keep-alive\r\n";
    }
  }
  out += "\r\n";
  return out;
}

WritePlan plan_response(const Response& r, std::string_view listener, const RequestFacts& req) {
  WritePlan p;
  p.keep_alive = !closes(r, req);
  pause(p, r.delay);
  std::string body = bodiless_status(r.status) ? std::string() : render_body(r, listener, req);
  std::string head = render_head(r, body.size(), req);
  if (req.head()) body.clear();
  if (r.chunked && !req.head()) {
    const std::size_t piece = r.chunk_bytes == 0 ? std::max<std::size_t>(body.size(), 1) : r.chunk_bytes;
    send(p, std::move(head));
    for (std::size_t at = 0; at < body.size(); at += piece) {
      if (at > 0) pause(p, r.chunk_delay);
      const auto part = std::string_view(body).substr(at, piece);
      send(p, fmt::format("{:x}\r\n{}\r\n", part.size(), part));
    }
    if (!body.empty()) pause(p, r.chunk_delay);
    send(p, "0\r\n\r\n");
  } else if (r.chunk_bytes > 0 && body.size() > r.chunk_bytes) {
    send(p, std::move(head));
    send_in_pieces(p, body, r.chunk_bytes, r.chunk_delay);
  } else {
    send(p, head + body);
  }
  if (!p.keep_alive) end(p, StepKind::Close);
  return p;
}

WritePlan plan_fault(const Fault& f, std::string_view listener, const RequestFacts& req,
                     const Response& base) {
  using enum FaultKind;
  WritePlan p;
  RequestFacts closing = req;
  closing.keep_alive = false;  // a faulty answer ends the connection
  switch (f.kind) {
    case Refuse:
    case Blackhole:
    case SlowAccept:
    case Close:
    case CloseBeforeRequest: end(p, StepKind::Close); break;
    case Hang:
    case HangNoRead: end(p, StepKind::Hold); break;
    case Reset:
    case ResetOnAccept: end(p, StepKind::Reset); break;
    case Garbage:
      send(p, garbage_bytes(f.bytes, f.seed));
      end(p, f.then);
      break;
    case Partial:
      send(p, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n");
      end(p, f.then);
      break;
    case Drip: {
      const WritePlan whole = plan_response(base, listener, closing);
      std::string bytes;
      for (const auto& s : whole.steps) bytes += s.bytes;
      send_in_pieces(p, bytes, std::max<std::size_t>(f.bytes, 1), f.every);
      end(p, StepKind::Close);
      break;
    }
    case BadLength: {
      const std::string body = render_body(base, listener, req);
      Response lying = base;
      lying.headers.emplace_back("Content-Length", std::to_string(body.size() + f.bytes));
      send(p, render_head(lying, body.size(), closing) + body);
      end(p, f.then);
      break;
    }
    case BadChunked:
      send(p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
      pause(p, f.every);
      send(p, "zz\r\nhello\r\n0\r\n\r\n");
      end(p, StepKind::Close);
      break;
    case Http09:
      send(p, render_body(base, listener, req));
      end(p, StepKind::Close);
      break;
    case OversizedHeaders: {
      const std::string body = render_body(base, listener, req);
      Response big = base;
      std::size_t block = 0;
      for (int i = 0; block < f.bytes; ++i) {
        auto name = fmt::format("X-Filler-{:04}", i);
        std::string value(std::min<std::size_t>(200, f.bytes - block), 'a');
        block += name.size() + value.size() + 4;
        big.headers.emplace_back(std::move(name), std::move(value));
      }
      send(p, render_head(big, body.size(), closing) + body);
      end(p, StepKind::Close);
      break;
    }
    case ResetMidResponse: {
      const std::string body = render_body(base, listener, req);
      send(p, render_head(base, body.size(), closing));
      end(p, StepKind::Reset);
      break;
    }
    case Interim1xx: {
      p = plan_response(base, listener, req);
      p.steps.insert(p.steps.begin(), Step{StepKind::Send, "HTTP/1.1 100 Continue\r\n\r\n", Ms{0}});
      if (p.steps.size() > 1 && p.steps[1].kind == StepKind::Send) {
        p.steps[0].bytes += p.steps[1].bytes;
        p.steps.erase(p.steps.begin() + 1);
      }
      break;
    }
    case BadStatusLine: {
      const std::string body = render_body(base, listener, req);
      std::string head = render_head(base, body.size(), closing);
      head.replace(0, head.find("\r\n"), "HTTP/1.1 2OO OK");
      send(p, head + body);
      end(p, StepKind::Close);
      break;
    }
    case Delay: {
      p = plan_response(base, listener, req);
      if (f.every.count() > 0) p.steps.insert(p.steps.begin(), Step{StepKind::Pause, {}, f.every});
      break;
    }
  }
  return p;
}

}  // namespace mock::core
