#include "mockserver/core/write_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

namespace mock::core {

namespace {

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

// Sends `head` and then `body` in pieces of `size` (chunk-framed when `chunked`), pausing `gap`
// between writes. One write needs no Pieces step; nor does a zero gap, which joins the writes.
void send_pieces(WritePlan& p, std::string head, std::string_view body, std::size_t size, Ms gap,
                 bool chunked) {
  Step s{StepKind::Pieces, std::move(head), gap};
  s.head = s.bytes.size();
  s.bytes += body;
  s.piece = std::max<std::size_t>(size, 1);
  s.chunked = chunked;
  if (!p.steps.empty() && p.steps.back().kind == StepKind::Send) {
    s.bytes.insert(0, p.steps.back().bytes);  // the first write joins the send before it
    s.head += p.steps.back().bytes.size();
    p.steps.pop_back();
  }
  if (gap.count() > 0 && piece_writes(s) > 1) {
    p.steps.push_back(std::move(s));
    return;
  }
  std::string all, one;
  for (std::size_t i = 0, n = piece_writes(s); i < n; ++i) {
    piece_write(s, i, one);
    all += one;
  }
  send(p, std::move(all));
}

// Everything the plan writes, in order, pauses dropped.
std::string wire_bytes(const WritePlan& p) {
  std::string out, one;
  for (const auto& s : p.steps) {
    if (s.kind == StepKind::Send) out += s.bytes;
    if (s.kind != StepKind::Pieces) continue;
    for (std::size_t i = 0, n = piece_writes(s); i < n; ++i) {
      piece_write(s, i, one);
      out += one;
    }
  }
  return out;
}

// Puts `bytes` in front of the plan's first write.
void prepend(WritePlan& p, std::string bytes) {
  if (!p.steps.empty() && p.steps.front().kind == StepKind::Send) {
    p.steps.front().bytes.insert(0, bytes);
  } else if (!p.steps.empty() && p.steps.front().kind == StepKind::Pieces) {
    p.steps.front().bytes.insert(0, bytes);
    p.steps.front().head += bytes.size();
  } else {
    p.steps.insert(p.steps.begin(), Step{StepKind::Send, std::move(bytes), Ms{0}});
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

std::size_t piece_writes(const Step& s) {
  if (s.kind != StepKind::Pieces) return 0;
  const std::size_t rest = s.bytes.size() - std::min(s.head, s.bytes.size());
  const std::size_t size = std::max<std::size_t>(s.piece, 1);
  const std::size_t pieces = (rest + size - 1) / size;
  return s.chunked ? pieces + 1 : std::max<std::size_t>(pieces, 1);
}

void piece_write(const Step& s, std::size_t i, std::string& out) {
  out.clear();
  const std::size_t head = std::min(s.head, s.bytes.size());
  const std::string_view rest = std::string_view(s.bytes).substr(head);
  const std::size_t size = std::max<std::size_t>(s.piece, 1);
  const std::size_t pieces = (rest.size() + size - 1) / size;
  if (i == 0) out.append(s.bytes, 0, head);
  if (i < pieces) {
    const std::string_view part = rest.substr(i * size, size);
    if (s.chunked) {
      fmt::format_to(std::back_inserter(out), "{:x}\r\n", part.size());
      out += part;
      out += "\r\n";
    } else {
      out += part;
    }
  }
  if (s.chunked && i == pieces) out += "0\r\n\r\n";
}

std::vector<Step> expand(const WritePlan& p) {
  WritePlan out;
  std::string one;
  for (const auto& s : p.steps) {
    if (s.kind != StepKind::Pieces) {
      if (s.kind == StepKind::Send) {
        send(out, s.bytes);
      } else {
        out.steps.push_back(s);
      }
      continue;
    }
    for (std::size_t i = 0, n = piece_writes(s); i < n; ++i) {
      if (i > 0) pause(out, s.pause);
      piece_write(s, i, one);
      send(out, one);
    }
  }
  return std::move(out.steps);
}

std::size_t WritePlan::byte_count() const {
  const auto frame = [](std::size_t len) { return fmt::formatted_size("{:x}\r\n\r\n", len); };
  std::size_t n = 0;
  for (const auto& s : steps) {
    n += s.bytes.size();
    if (s.kind != StepKind::Pieces || !s.chunked) continue;
    const std::size_t rest = s.bytes.size() - std::min(s.head, s.bytes.size());
    const std::size_t size = std::max<std::size_t>(s.piece, 1);
    n += rest / size * frame(size) + (rest % size ? frame(rest % size) : 0) + 5;  // + "0\r\n\r\n"
  }
  return n;
}

std::string render_body(const Response& r, std::string_view listener, const RequestFacts& req) {
  const std::string_view text = r.body ? std::string_view(*r.body) : "hello from {name}";
  std::string body;
  // One pass, appending at most kMaxBody bytes: substitution never builds more than it keeps.
  const auto add = [&](std::string_view part) {
    body.append(part.substr(0, kMaxBody - body.size()));
  };
  std::size_t at = 0;
  while (at < text.size() && body.size() < kMaxBody) {
    const auto open = text.find('{', at);
    if (open == std::string_view::npos) {
      add(text.substr(at));
      break;
    }
    add(text.substr(at, open - at));
    const std::string_view rest = text.substr(open);
    if (rest.starts_with("{name}")) {
      add(listener);
      at = open + 6;
    } else if (rest.starts_with("{method}")) {
      add(req.method);
      at = open + 8;
    } else if (rest.starts_with("{path}")) {
      add(req.path);
      at = open + 6;
    } else {
      add("{");
      at = open + 1;
    }
  }
  return body;
}

bool is_static(const Response& r) {
  if (r.delay.count() > 0 || r.jitter.count() > 0 || r.rate > 0 || r.chunk_bytes > 0 || r.chunked) return false;
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
  if (r.rate > 0) {
    // A bandwidth: a twentieth of the rate every 50 ms, head included.
    send_pieces(p, {}, head + body, std::max<std::size_t>(r.rate / 20, 1), Ms{50}, false);
  } else if (r.chunked && !req.head()) {
    const std::size_t piece = r.chunk_bytes == 0 ? std::max<std::size_t>(body.size(), 1) : r.chunk_bytes;
    send_pieces(p, std::move(head), body, piece, r.chunk_delay, true);
  } else if (r.chunk_bytes > 0 && body.size() > r.chunk_bytes) {
    send_pieces(p, std::move(head), body, r.chunk_bytes, r.chunk_delay, false);
  } else {
    send(p, head + body);
  }
  if (!p.keep_alive) end(p, StepKind::Close);
  return p;
}

WritePlan plan_raw(const RawReply& r) {
  WritePlan p;
  for (const auto& w : r.writes) {
    pause(p, w.pause);
    if (!w.bytes.empty()) send(p, w.bytes);
  }
  switch (r.then) {
    case RawEnd::Close: end(p, StepKind::Close); break;
    case RawEnd::Hold: end(p, StepKind::Hold); break;
    case RawEnd::Reset: end(p, StepKind::Reset); break;
    case RawEnd::Serve: p.keep_alive = true; break;
  }
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
      send_pieces(p, {}, wire_bytes(plan_response(base, listener, closing)), f.bytes, f.every, false);
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
      prepend(p, "HTTP/1.1 100 Continue\r\n\r\n");
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
    case SlowClose: {
      p = plan_response(base, listener, closing);
      if (!p.steps.empty() && p.steps.back().kind == StepKind::Close) p.steps.pop_back();
      pause(p, f.every);
      end(p, StepKind::Close);
      break;
    }
    case LimitData: {
      // The whole response as one write, cut at `bytes`.
      std::string all;
      for (const auto& s : expand(plan_response(base, listener, closing)))
        if (s.kind == StepKind::Send) all += s.bytes;
      send(p, all.substr(0, f.bytes));
      end(p, StepKind::Close);
      break;
    }
    case TlsHandshakeFailure:
    case TlsSlowHandshake:
    case TlsWrongCert:
    case Tls13Only: break;  // they act on the handshake, before any request (the edge's)
    case Timeout:
      if (f.every.count() == 0) {
        end(p, StepKind::Hold);
      } else {
        pause(p, f.every);
        end(p, StepKind::Close);
      }
      break;
  }
  return p;
}

std::string reject_response(int status) {
  return fmt::format("HTTP/1.1 {} {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status, standard_reason(status));
}

}  // namespace mock::core
