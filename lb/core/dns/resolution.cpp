#include "lb/core/dns/resolution.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <list>

#include "lb/core/config/values.hpp"
#include "lb/core/dns/message.hpp"
#include "lb/core/route/backends.hpp"

namespace lb::core {

std::string build_query(std::uint16_t id, std::uint16_t type, std::string_view name, std::uint16_t payload) {
  dns::Message m;
  m.id = id;
  m.recursion_desired = true;
  m.questions.push_back({std::string(name), type, 1});
  m.edns_payload = payload;
  return dns::serialize(m);
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// HAProxy's RSLV_STATUS_*: what the last answer (or its absence) said.
enum class Status { None, Valid, Invalid, Nx, Timeout, Refused, Other };

// HAProxy's RSLV_RESP_*, folded into the status it sets.
struct Verdict {
  bool valid = false;
  Status status = Status::Other;
};

// Where an address sorts in HAProxy's answer tree: XXH32 of its bytes, seeded with the type.
std::uint32_t record_key(std::uint16_t type, const std::string& address) {
  unsigned char bytes[16];
  const int family = type == dns::type::A ? AF_INET : AF_INET6;
  if (::inet_pton(family, address.c_str(), bytes) != 1) return 0;
  return XXH32(bytes, type == dns::type::A ? 4 : 16, type);
}

// Whether `address` lies in `net` ("10.0.0.0/8", "10.0.0.0/255.0.0.0", "fd00::/8"; a bare
// address is itself), for `resolve-net`: only a network of the address's own family counts.
bool in_network(const std::string& address, const std::string& net) {
  const auto slash = net.find('/');
  const std::string base = net.substr(0, slash);
  const bool v6 = address.find(':') != std::string::npos;
  if ((base.find(':') != std::string::npos) != v6) return false;
  const int family = v6 ? AF_INET6 : AF_INET;
  const std::size_t len = v6 ? 16 : 4;
  unsigned char a[16], b[16], mask[16] = {};
  if (::inet_pton(family, address.c_str(), a) != 1 || ::inet_pton(family, base.c_str(), b) != 1) return false;
  if (slash == std::string::npos) {
    std::fill(mask, mask + len, 0xff);
  } else if (const std::string m = net.substr(slash + 1); !v6 && m.find('.') != std::string::npos) {
    if (::inet_pton(AF_INET, m.c_str(), mask) != 1) return false;
  } else {
    const int bits = std::atoi(m.c_str());
    for (std::size_t i = 0; i < len; ++i) {
      const int left = bits - static_cast<int>(i) * 8;
      mask[i] = left >= 8 ? 0xff : left <= 0 ? 0 : static_cast<unsigned char>(0xff << (8 - left));
    }
  }
  for (std::size_t i = 0; i < len; ++i)
    if ((a[i] & mask[i]) != (b[i] & mask[i])) return false;
  return true;
}

}  // namespace

struct ServerResolution::Impl {
  struct Resolution;
  struct Item;

  // A server that resolves its name here (HAProxy's resolv_requester owned by a server).
  struct Requester {
    ServerKey key;
    const ProxyConfig* proxy = nullptr;
    const ServerConfig* server = nullptr;
    Resolution* resolution = nullptr;
    std::optional<std::string> address;
    bool maintenance = false;  // SRV_ADMF_RMAINT
    Item* attached = nullptr;  // the answer record whose address the server uses
  };

  struct Item {
    std::uint16_t type = dns::type::A;
    std::string address;
    std::uint32_t key = 0;
    TimePoint last_seen;
  };

  struct Resolution {
    std::size_t section = 0;
    std::string hostname;  // lower case, as the queries carry it
    std::uint16_t preferred = dns::type::AAAA;
    std::uint16_t query_type = dns::type::AAAA;
    bool running = false;
    int tries = 0;
    std::uint16_t id = 0;
    int queries = 0, responses = 0;
    std::optional<TimePoint> last_query, last_resolution, last_valid;
    Status status = Status::None;
    std::list<Item> items;  // in key order; stable addresses for Requester::attached
    std::vector<Requester*> requesters;
  };

  struct Section {
    const ResolversConfig* config = nullptr;
    std::unique_ptr<Timer> timer;
    std::list<Resolution*> current, waiting;  // HAProxy's resolutions.curr and .wait
  };

  Impl(const Config& c, const std::vector<std::vector<std::optional<std::string>>>& addresses, Scheduler& s,
       DnsTransport& t, ResolutionSink k, QueryIdSource i)
      : config(c), scheduler(s), transport(t), sink(std::move(k)), ids(std::move(i)) {
    if (!ids) ids = [seed = std::uint32_t{0}, this]() mutable {
        // HAProxy's resolv_rnd16(): xorshift32 seeded with the clock on first use.
        if (!seed) seed = static_cast<std::uint32_t>(scheduler.now().time_since_epoch().count()) | 1U;
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        return static_cast<std::uint16_t>(seed);
      };
    for (const auto& r : config.resolvers) {
      auto& sec = sections.emplace_back();
      sec.config = &r;
    }
    for (std::size_t pi = 0; pi < config.proxies.size(); ++pi) {
      const auto& px = config.proxies[pi];
      if (!px.has_backend_role()) continue;
      for (std::size_t si = 0; si < px.servers.size(); ++si) {
        const auto& sv = px.servers[si];
        if (!sv.settings.resolvers_set || sv.host.empty() || is_ip_literal(sv.host)) continue;
        const auto section = section_index(sv.settings.resolvers);
        if (!section) continue;
        auto req = std::make_unique<Requester>();
        req->key = {pi, si};
        req->proxy = &px;
        req->server = &sv;
        if (pi < addresses.size() && si < addresses[pi].size()) req->address = addresses[pi][si];
        req->maintenance = !req->address;
        req->resolution = &resolution_for(*section, lower(sv.host), sv.settings.prefer_ipv4 ? dns::type::A : dns::type::AAAA);
        req->resolution->requesters.push_back(req.get());
        requesters.push_back(std::move(req));
      }
    }
    for (std::size_t i = 0; i < sections.size(); ++i)
      sections[i].timer = scheduler.make_timer([this, i] { process(i); });
  }

  std::optional<std::size_t> section_index(std::string_view name) const {
    for (std::size_t i = 0; i < sections.size(); ++i)
      if (sections[i].config->name == name) return i;
    return std::nullopt;
  }

  // Servers resolving the same name the same way share one resolution (resolv_pick_resolution).
  Resolution& resolution_for(std::size_t section, const std::string& hostname, std::uint16_t preferred) {
    for (auto& r : resolutions)
      if (r->section == section && r->hostname == hostname && r->preferred == preferred) return *r;
    auto r = std::make_unique<Resolution>();
    r->section = section;
    r->hostname = hostname;
    r->preferred = r->query_type = preferred;
    r->last_valid = scheduler.now();  // a hold counts from start-up while nothing was valid yet
    sections[section].waiting.push_back(r.get());
    resolutions.push_back(std::move(r));
    return *resolutions.back();
  }

  const ResolversConfig& cfg(const Resolution& r) const { return *sections[r.section].config; }
  TimePoint now() const { return scheduler.now(); }
  static std::uint16_t other_type(std::uint16_t t) { return t == dns::type::A ? dns::type::AAAA : dns::type::A; }

  // ------------------------------------------------------------------ the resolvers task
  void process(std::size_t si) {
    Section& sec = sections[si];
    const auto& rc = *sec.config;
    const std::vector<Resolution*> current(sec.current.begin(), sec.current.end());
    for (Resolution* res : current) {
      if (now() < *res->last_query + rc.timeout_retry) break;
      if (res->tries == 0) {
        if (res->responses == 0) res->status = Status::Timeout;
        report_error(*res);
        finish(*res);
      } else {
        if (res->responses == 0 || res->preferred != res->query_type) {
          res->query_type = res->preferred;
          --res->tries;
        } else {
          res->query_type = other_type(res->preferred);
        }
        send(*res);
      }
    }
    const std::vector<Resolution*> waiting(sec.waiting.begin(), sec.waiting.end());
    for (Resolution* res : waiting) {
      if (res->last_resolution && now() < *res->last_resolution + rc.timeout_resolve) continue;
      run(*res);
    }
    rearm(si);
  }

  void rearm(std::size_t si) {
    Section& sec = sections[si];
    const auto& rc = *sec.config;
    TimePoint next = now() + rc.timeout_resolve;
    if (!sec.current.empty()) next = std::min(next, *sec.current.front()->last_query + rc.timeout_retry);
    for (const Resolution* res : sec.waiting)
      next = std::min(next, res->last_resolution.value_or(now()) + rc.timeout_resolve);
    sec.timer->arm_at(next);
  }

  void run(Resolution& res) {
    if (res.running) return;
    res.id = fresh_id(res.section);
    res.running = true;
    res.query_type = res.preferred;
    res.tries = cfg(res).resolve_retries - 1;
    send(res);
  }

  std::uint16_t fresh_id(std::size_t section) {
    for (int i = 0; i < 100; ++i) {
      const auto id = ids();
      const bool taken = std::any_of(resolutions.begin(), resolutions.end(), [&](const auto& r) {
        return r->running && r->section == section && r->id == id;
      });
      if (!taken) return id;
    }
    return ids();
  }

  void send(Resolution& res) {
    const auto& rc = cfg(res);
    res.queries = res.responses = 0;
    res.last_query = now();
    const auto query = build_query(res.id, res.query_type, res.hostname, static_cast<std::uint16_t>(rc.accepted_payload_size));
    for (std::size_t ns = 0; ns < rc.nameservers.size(); ++ns)
      if (transport.send(res.section, ns, query)) ++res.queries;
    Section& sec = sections[res.section];
    sec.current.remove(&res);
    sec.waiting.remove(&res);
    sec.current.push_back(&res);
  }

  // resolv_reset_resolution, then back to the wait list.
  void finish(Resolution& res) {
    res.running = false;
    res.tries = 0;
    res.last_resolution = now();
    res.queries = res.responses = 0;
    res.query_type = res.preferred;
    res.id = 0;
    Section& sec = sections[res.section];
    sec.current.remove(&res);
    sec.waiting.remove(&res);
    sec.waiting.push_back(&res);
  }

  // resolv_trigger_resolution: a check that could not connect may mean the address changed. A
  // resolution not running whose answer is not valid, or older than `hold valid`, runs now.
  void trigger(ServerKey key) {
    for (const auto& req : requesters) {
      if (!(req->key == key)) continue;
      Resolution& res = *req->resolution;
      const Ms valid = cfg(res).hold.valid;
      const bool stale = res.status != Status::Valid || !res.last_resolution || now() >= *res.last_resolution + valid;
      if (!stale || res.running) return;
      res.last_resolution.reset();
      sections[res.section].timer->arm_at(now());
      return;
    }
  }

  // ------------------------------------------------------------------ answers
  void on_reply(std::size_t si, std::size_t ns, std::string_view bytes) {
    if (si >= sections.size()) return;
    Section& sec = sections[si];
    const auto& rc = *sec.config;
    if (bytes.size() > static_cast<std::size_t>(rc.accepted_payload_size) || bytes.size() < 2) return;
    const auto id = static_cast<std::uint16_t>((static_cast<unsigned char>(bytes[0]) << 8) | static_cast<unsigned char>(bytes[1]));
    Resolution* res = nullptr;
    for (Resolution* r : sec.current)
      if (r->running && r->id == id) res = r;
    if (!res) return;  // an outdated or unknown answer
    ++res->responses;
    const Verdict v = judge(*res, bytes);
    if (!v.valid) {
      res->status = v.status;
      if (res->responses < res->queries) return rearm(si);  // the other nameservers may do better
      if (res->preferred != res->query_type) {
        if (res->tries == 0) {
          report_error(*res);
          finish(*res);
        }
      } else {
        res->query_type = other_type(res->preferred);
        send(*res);
      }
      return rearm(si);
    }
    res->status = Status::Valid;
    res->last_valid = now();
    const auto& who = rc.nameservers[ns];
    bool first = true;
    for (Requester* req : res->requesters) {
      on_valid(*req, first ? fmt::format("{}/{}", rc.name, who.name) : std::string("DNS cache"));
      first = false;
    }
    finish(*res);
    rearm(si);
  }

  // resolv_validate_dns_response: the answer's status, and its A/AAAA records merged into the
  // resolution's items (records no longer seen leave after `hold obsolete`).
  Verdict judge(Resolution& res, std::string_view bytes) {
    const auto parsed = dns::parse(bytes);
    if (!parsed.message) return {false, Status::Invalid};
    const auto& m = *parsed.message;
    if (m.rcode == dns::rcode::NxDomain) return {false, Status::Nx};
    if (m.rcode == dns::rcode::Refused) return {false, Status::Refused};
    if (m.rcode != dns::rcode::NoError) return {false, Status::Other};
    if (m.questions.size() != 1) return {false, Status::Invalid};
    if (m.answers.empty()) return {false, Status::Other};
    if (m.questions[0].name != res.hostname) return {false, Status::Invalid};
    if (m.questions[0].type != dns::type::SRV && m.truncated) return {false, Status::Other};
    std::string expected = res.hostname;
    std::vector<Item> seen;
    for (std::size_t i = 0; i < m.answers.size(); ++i) {
      const auto& rec = m.answers[i];
      if (rec.name != expected) {
        if (i == 0) return {false, Status::Invalid};
        return {false, Status::Other};  // a CNAME chain that does not lead here
      }
      if (rec.type == dns::type::CNAME) {
        if (i + 1 == m.answers.size()) return {false, Status::Other};
        expected = rec.target;
        continue;
      }
      if (rec.type != dns::type::A && rec.type != dns::type::AAAA) continue;
      if (rec.address.empty()) return {false, Status::Invalid};
      seen.push_back({rec.type, rec.address, record_key(rec.type, rec.address), now()});
    }
    for (auto& s : seen) {
      auto it = std::find_if(res.items.begin(), res.items.end(),
                             [&](const Item& x) { return x.type == s.type && x.address == s.address; });
      if (it != res.items.end()) {
        it->last_seen = now();
        continue;
      }
      auto at = std::find_if(res.items.begin(), res.items.end(), [&](const Item& x) { return x.key > s.key; });
      res.items.insert(at, s);
    }
    const Ms obsolete = cfg(res).hold.obsolete;
    for (auto it = res.items.begin(); it != res.items.end();) {
      if (it->last_seen + obsolete < now()) {
        for (Requester* req : res.requesters)
          if (req->attached == &*it) req->attached = nullptr;
        it = res.items.erase(it);
      } else {
        ++it;
      }
    }
    return {true, Status::Valid};
  }

  // snr_resolution_cb: keep the current address while its record lives, else take the best one.
  void on_valid(Requester& req, const std::string& updater) {
    bool has_no_ip = false;
    if (!req.attached) {
      const auto pick = choose(req);
      if (!pick) {
        has_no_ip = true;
      } else if (*pick != req.address) {
        emit({ResolutionEvent::Kind::AddressChanged, req.key, **pick, {},
              address_changed_line(ref(req), req.address.value_or("(none)"), **pick, updater)});
        req.address = *pick;
      }
    }
    if (update_status(req, has_no_ip) && has_no_ip) req.address.reset();
  }

  // resolv_get_ip_from_response. nullopt: no address at all; an engaged optional holds the
  // chosen address (the current one when it stays).
  std::optional<std::optional<std::string>> choose(Requester& req) {
    const bool want_v4 = req.server->settings.prefer_ipv4;
    const Item* newip4 = nullptr;
    const Item* newip6 = nullptr;
    Item* found = nullptr;
    bool current_found = false;
    int max_score = -1;
    for (Item& item : req.resolution->items) {
      int score = 0;
      const bool v4 = item.type == dns::type::A;
      if (v4 == want_v4) score += 8;
      const auto& nets = req.server->settings.resolve_net;
      if (std::any_of(nets.begin(), nets.end(), [&](const std::string& n) { return in_network(item.address, n); }))
        score += 4;
      const bool used = std::any_of(req.resolution->requesters.begin(), req.resolution->requesters.end(),
                                    [&](const Requester* o) { return o != &req && o->attached == &item && o->proxy == req.proxy; });
      if (used) {
        if (!req.server->settings.allow_dup_ip) continue;
      } else {
        score += 2;
      }
      const bool current = req.address && *req.address == item.address;
      if (current) ++score;
      if (score > max_score) {
        (v4 ? newip4 : newip6) = &item;
        found = &item;
        current_found = current;
        if (score == 15) {  // the best there can be: the current address, kept
          req.attached = &item;
          return std::optional<std::string>(req.address);
        }
        max_score = score;
      }
    }
    if (!newip4 && !newip6) return std::nullopt;
    const Item* chosen = want_v4 ? (newip4 ? newip4 : newip6) : (newip6 ? newip6 : newip4);
    req.attached = found;
    if (current_found) return std::optional<std::string>(req.address);
    return std::optional<std::string>(chosen->address);
  }

  // snr_update_srv_status: whether the server's maintenance state changed.
  bool update_status(Requester& req, bool has_no_ip) {
    const Resolution& res = *req.resolution;
    const HoldTimes& hold = cfg(res).hold;
    auto enter = [&](std::string cause) {
      if (req.maintenance) return false;
      req.maintenance = true;
      emit({ResolutionEvent::Kind::AddressLost, req.key, {}, std::move(cause), {}});
      return true;
    };
    auto held = [&](Ms period) { return res.last_valid && now() < *res.last_valid + period; };
    switch (res.status) {
      case Status::None: return false;
      case Status::Valid:
        if (has_no_ip) return enter("No IP for server ");
        if (!req.maintenance) return false;
        req.maintenance = false;
        emit({ResolutionEvent::Kind::AddressValid, req.key, req.address.value_or(""), {}, server_dns_ready_line(ref(req))});
        return true;
      case Status::Nx: return held(hold.nx) ? false : enter("DNS NX status");
      case Status::Timeout: return held(hold.timeout) ? false : enter("DNS timeout status");
      case Status::Refused: return held(hold.refused) ? false : enter("DNS refused status");
      case Status::Invalid:
      case Status::Other: return held(hold.other) ? false : enter("unspecified DNS error");
    }
    return false;
  }

  void report_error(Resolution& res) {
    for (Requester* req : res.requesters)
      if (update_status(*req, true)) {
        req->address.reset();
        req->attached = nullptr;
      }
  }

  ServerRef ref(const Requester& req) const {
    return {req.proxy->name, req.server->name, req.server->settings.backup};
  }

  void emit(ResolutionEvent e) {
    if (sink) sink(e);
  }

  const Config& config;
  Scheduler& scheduler;
  DnsTransport& transport;
  ResolutionSink sink;
  QueryIdSource ids;
  std::vector<Section> sections;
  std::vector<std::unique_ptr<Resolution>> resolutions;
  std::vector<std::unique_ptr<Requester>> requesters;
};

ServerResolution::ServerResolution(const Config& config,
                                   const std::vector<std::vector<std::optional<std::string>>>& addresses,
                                   Scheduler& scheduler, DnsTransport& transport, ResolutionSink sink, QueryIdSource ids)
    : impl_(std::make_unique<Impl>(config, addresses, scheduler, transport, std::move(sink), std::move(ids))) {}

ServerResolution::~ServerResolution() = default;

void ServerResolution::start() {
  for (std::size_t i = 0; i < impl_->sections.size(); ++i) impl_->process(i);
}

void ServerResolution::on_reply(std::size_t section, std::size_t nameserver, std::string_view bytes) {
  impl_->on_reply(section, nameserver, bytes);
}

void ServerResolution::on_health_event(const HealthEvent& e) {
  const auto s = e.result.status;
  if (e.kind == HealthEvent::Kind::CheckFinished && (s == CheckStatus::L4Timeout || s == CheckStatus::L4ConnectionProblem))
    impl_->trigger(e.key);
}

bool ServerResolution::active() const { return !impl_->requesters.empty(); }

std::optional<std::string> ServerResolution::address(ServerKey key) const {
  for (const auto& r : impl_->requesters)
    if (r->key == key) return r->address;
  return std::nullopt;
}

void apply_resolution_event(const ResolutionEvent& event, const Config& config, CheckEngine& engine, Backends& backends) {
  const ServerKey key = event.key;
  switch (event.kind) {
    case ResolutionEvent::Kind::AddressChanged:
      engine.set_address(key, event.address);
      backends.set_address(key, event.address);
      break;
    case ResolutionEvent::Kind::AddressLost:
      engine.enter_maintenance(key, event.cause);
      backends.set_usable(key, false);
      backends.set_address(key, "");
      break;
    case ResolutionEvent::Kind::AddressValid:
      engine.leave_maintenance(key, config.proxies.at(key.proxy).servers.at(key.server).host);
      backends.set_usable(key, engine.server_up(key));
      break;
  }
}

void start_in_maintenance(const Config& config, CheckEngine& engine, Backends& backends) {
  for (std::size_t pi = 0; pi < config.proxies.size(); ++pi) {
    if (!config.proxies[pi].has_backend_role()) continue;
    for (std::size_t si = 0; si < config.proxies[pi].servers.size(); ++si)
      if (!config.proxies[pi].servers[si].start_address) {
        engine.enter_maintenance({pi, si}, "", false);
        backends.set_usable({pi, si}, false);
      }
  }
}

Config with_start_addresses(Config config) {
  for (auto& p : config.proxies)
    for (auto& s : p.servers) s.host = s.start_address.value_or("");
  return config;
}

std::vector<std::vector<std::optional<std::string>>> start_addresses(const Config& config) {
  std::vector<std::vector<std::optional<std::string>>> out(config.proxies.size());
  for (std::size_t pi = 0; pi < config.proxies.size(); ++pi)
    for (const auto& s : config.proxies[pi].servers) out[pi].push_back(s.start_address);
  return out;
}

}  // namespace lb::core
