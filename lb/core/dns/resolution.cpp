#include "lb/core/dns/resolution.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <list>

#include "lb/core/config/values.hpp"
#include "lb/core/dns/message.hpp"
#include "lb/core/route/backends.hpp"
#include "lb/core/text.hpp"

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

// The name a query carries: lower case, without the root's trailing dot ("app.example." is
// "app.example", as HAProxy's label encoding has it).
std::string query_name(std::string_view host) {
  if (host.size() > 1 && host.ends_with('.')) host.remove_suffix(1);
  return ascii_lower(host);
}

// HAProxy's RSLV_STATUS_*: what the last answer (or its absence) said.
enum class Status { None, Valid, Invalid, Nx, Timeout, Refused, Other };

// HAProxy's RSLV_RESP_*, folded into the status it sets.
struct Verdict {
  bool valid = false;
  Status status = Status::Other;
};

// Where an SRV record sorts in HAProxy's answer tree: XXH32 of its target as DNS labels, seeded
// with the type (records for one target share a key and keep their arrival order).
std::uint32_t srv_key(const std::string& target) {
  std::string labels;
  std::size_t start = 0;
  while (start <= target.size() && !target.empty()) {
    const auto dot = target.find('.', start);
    const auto label = target.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    labels += static_cast<char>(label.size());
    labels += label;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return XXH32(labels.data(), labels.size(), dns::type::SRV);
}

// Where an address sorts in HAProxy's answer tree: XXH32 of its bytes, seeded with the type.
std::uint32_t record_key(std::uint16_t type, const std::string& address) {
  unsigned char bytes[16];
  const int family = type == dns::type::A ? AF_INET : AF_INET6;
  if (::inet_pton(family, address.c_str(), bytes) != 1) return 0;
  return XXH32(bytes, type == dns::type::A ? 4 : 16, type);
}

}  // namespace

struct ServerResolution::Impl {
  struct Resolution;
  struct Item;
  struct SrvRequest;

  // A server that resolves its name here (HAProxy's resolv_requester owned by a server).
  struct Requester {
    ServerKey key;
    const ProxyConfig* proxy = nullptr;
    const ServerConfig* server = nullptr;
    Resolution* resolution = nullptr;  // its A/AAAA resolution; none for an SRV slot without a target
    std::optional<std::string> address;
    bool maintenance = false;  // SRV_ADMF_RMAINT
    Item* attached = nullptr;  // the answer record whose address the server uses
    std::vector<Network> networks;  // `resolve-net`, read once
    // A slot of an SRV name: the record it holds, its target and port, and whether its address
    // comes from the record's additional section (SRV_F_NO_RESOLUTION) rather than a resolution.
    SrvRequest* srvrq = nullptr;
    Item* record = nullptr;
    std::string target;
    bool no_resolution = true;
    std::uint16_t port = 0;
    bool port_known = false;
  };

  // An A/AAAA record of an SRV answer's additional section, for one SRV record's target.
  struct Additional {
    std::uint16_t type = dns::type::A;
    std::string address;
    TimePoint last_seen;
  };

  struct Item {
    std::uint16_t type = dns::type::A;
    std::string address;  // A/AAAA
    std::uint32_t key = 0;
    TimePoint last_seen;
    std::string target;  // SRV
    std::uint16_t port = 0;
    std::optional<Additional> additional;
  };

  // The servers of one backend named by one SRV name (HAProxy's resolv_srvrq): slots that hold
  // no record wait in `free`, taken from the front, given back at the end.
  struct SrvRequest {
    const ProxyConfig* proxy = nullptr;
    std::string name;
    Resolution* resolution = nullptr;
    std::list<Requester*> free;
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
    std::vector<SrvRequest*> srv_requesters;  // an SRV resolution's
    bool linked() const { return !requesters.empty() || !srv_requesters.empty(); }
  };

  struct Section {
    const ResolversConfig* config = nullptr;
    std::unique_ptr<Timer> timer;
    std::list<Resolution*> current, waiting;  // HAProxy's resolutions.curr and .wait
    std::optional<TimePoint> processed_at;
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
        if (!sv.settings.resolvers_set || sv.host.empty() || is_address_literal(sv.host)) continue;
        const auto section = section_index(sv.settings.resolvers);
        if (!section) continue;
        auto req = std::make_unique<Requester>();
        req->key = {pi, si};
        req->proxy = &px;
        req->server = &sv;
        if (pi < addresses.size() && si < addresses[pi].size()) req->address = addresses[pi][si];
        req->maintenance = !req->address;
        for (const auto& net : sv.settings.resolve_net)
          if (auto n = parse_network(net)) req->networks.push_back(*n);
        if (sv.host.starts_with('_')) {
          // A slot of an SRV name: it resolves nothing itself until a record names its target.
          SrvRequest& rq = srv_request(*section, px, query_name(sv.host));
          req->srvrq = &rq;
          rq.free.push_back(req.get());
        } else {
          req->target = query_name(sv.host);
          req->no_resolution = false;
          req->resolution = &resolution_for(*section, req->target, preferred_type(*req));
          req->resolution->requesters.push_back(req.get());
        }
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

  static std::uint16_t preferred_type(const Requester& req) {
    return req.server->settings.prefer_ipv4 ? dns::type::A : dns::type::AAAA;
  }

  SrvRequest& srv_request(std::size_t section, const ProxyConfig& px, const std::string& name) {
    for (auto& rq : srv_requests)
      if (rq->proxy == &px && rq->name == name && rq->resolution->section == section) return *rq;
    auto rq = std::make_unique<SrvRequest>();
    rq->proxy = &px;
    rq->name = name;
    rq->resolution = &resolution_for(section, name, dns::type::SRV);
    rq->resolution->srv_requesters.push_back(rq.get());
    srv_requests.push_back(std::move(rq));
    return *srv_requests.back();
  }

  // Servers resolving the same name the same way share one resolution (resolv_pick_resolution).
  // One left without requesters is dropped from the task's lists, and comes back when linked.
  Resolution& resolution_for(std::size_t section, const std::string& hostname, std::uint16_t preferred) {
    for (auto& r : resolutions)
      if (r->section == section && r->hostname == hostname && r->preferred == preferred) {
        auto& sec = sections[section];
        const bool listed = std::find(sec.current.begin(), sec.current.end(), r.get()) != sec.current.end() ||
                            std::find(sec.waiting.begin(), sec.waiting.end(), r.get()) != sec.waiting.end();
        if (!listed) {
          r->running = false;
          r->last_resolution.reset();
          sec.waiting.push_back(r.get());
        }
        return *r;
      }
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
  // One instant per event, as HAProxy's now_ms holds still through a task's run: a record seen
  // "now" in an answer must not be obsolete a millisecond later in the same answer.
  TimePoint now() const { return frozen_now ? *frozen_now : scheduler.now(); }
  struct Freeze {
    explicit Freeze(Impl& i) : impl(i), outer(i.frozen_now.has_value()) {
      if (!outer) impl.frozen_now = impl.scheduler.now();
    }
    ~Freeze() {
      if (!outer) impl.frozen_now.reset();
    }
    Impl& impl;
    bool outer;
  };
  static std::uint16_t other_type(std::uint16_t t) { return t == dns::type::A ? dns::type::AAAA : dns::type::A; }

  // ------------------------------------------------------------------ the resolvers task
  void process(std::size_t si) {
    const Freeze freeze(*this);
    Section& sec = sections[si];
    const auto& rc = *sec.config;
    sec.processed_at = now();
    // abort_resolution: one no server needs any more leaves the task.
    for (auto* list : {&sec.current, &sec.waiting})
      list->remove_if([](Resolution* r) {
        if (r->linked()) return false;
        r->running = false;
        r->items.clear();
        return true;
      });
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
    // One never run (or triggered) is due at once.
    for (const Resolution* res : sec.waiting)
      next = std::min(next, res->last_resolution ? *res->last_resolution + rc.timeout_resolve : now());
    // Zero timers (`timeout resolve 0`) would make the task due again and again at one instant:
    // once a millisecond is enough, and keeps simulated time moving.
    if (next <= now() && sec.processed_at == now()) next = now() + Ms{1};
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
    const Freeze freeze(*this);
    for (const auto& req : requesters) {
      if (!(req->key == key)) continue;
      if (!req->resolution) return;
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
    const Freeze freeze(*this);
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
    // HAProxy reads the return code from the header before anything else in the message.
    if (bytes.size() < 4) return {false, Status::Invalid};
    const auto rcode = static_cast<std::uint8_t>(static_cast<unsigned char>(bytes[3]) & 0x0f);
    if (rcode == dns::rcode::NxDomain) return {false, Status::Nx};
    if (rcode == dns::rcode::Refused) return {false, Status::Refused};
    if (rcode != dns::rcode::NoError) return {false, Status::Other};
    // An A/AAAA answer is read up to its answers; an SRV one needs its additional section too.
    auto parsed = dns::parse(bytes, dns::Extent::Answers);
    if (parsed.message && parsed.message->questions.size() == 1 && parsed.message->questions[0].type == dns::type::SRV)
      parsed = dns::parse(bytes);
    if (!parsed.message) return {false, Status::Invalid};
    const auto& m = *parsed.message;
    if (m.questions.size() != 1) return {false, Status::Invalid};
    if (m.answers.empty()) return {false, Status::Other};
    // No more answers than the accepted payload can hold at 16 bytes each.
    if (m.answers.size() > static_cast<std::size_t>((cfg(res).accepted_payload_size - 12) / 16)) return {false, Status::Invalid};
    if (m.questions[0].name != res.hostname) return {false, Status::Invalid};
    if (m.questions[0].type == dns::type::SRV) return judge_srv(res, m);
    if (m.truncated) return {false, Status::Other};
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
    insert_items(res, seen);
    check_response(res);
    return {true, Status::Valid};
  }

  // New records join the answer tree after those of equal or lower key; known ones are seen again.
  void insert_items(Resolution& res, std::vector<Item>& seen) {
    for (auto& s : seen) {
      const bool srv = s.type == dns::type::SRV;
      auto it = std::find_if(res.items.begin(), res.items.end(), [&](const Item& x) {
        return x.type == s.type && (srv ? x.target == s.target && x.port == s.port : x.address == s.address);
      });
      if (it != res.items.end()) {
        it->last_seen = now();
        continue;
      }
      auto at = std::find_if(res.items.begin(), res.items.end(), [&](const Item& x) { return x.key > s.key; });
      res.items.insert(at, std::move(s));
    }
  }

  // An SRV answer: its records, and the A/AAAA records of its additional section given to the
  // first record of their target that has none (an address already known refreshes its own).
  Verdict judge_srv(Resolution& res, const dns::Message& m) {
    std::vector<Item> seen;
    for (const auto& rec : m.answers) {
      if (rec.type != dns::type::SRV) continue;
      Item item;
      item.type = dns::type::SRV;
      item.target = ascii_lower(rec.target);
      item.port = rec.port;
      item.key = srv_key(item.target);
      item.last_seen = now();
      seen.push_back(std::move(item));
    }
    insert_items(res, seen);
    for (const auto& rec : m.additional) {
      if (rec.type != dns::type::A && rec.type != dns::type::AAAA) continue;
      const std::string name = ascii_lower(rec.name);
      auto known = std::find_if(res.items.begin(), res.items.end(), [&](const Item& x) {
        return x.type == dns::type::SRV && x.additional && x.additional->type == rec.type &&
               x.additional->last_seen != now() && x.target == name && x.additional->address == rec.address;
      });
      if (known != res.items.end()) {
        known->additional->last_seen = now();
        continue;
      }
      auto free = std::find_if(res.items.begin(), res.items.end(), [&](const Item& x) {
        return x.type == dns::type::SRV && !x.additional && x.target == name;
      });
      if (free != res.items.end()) free->additional = Additional{rec.type, rec.address, now()};
    }
    check_response(res);
    return {true, Status::Valid};
  }

  // resolv_check_response: records unseen for `hold obsolete` leave (their servers with them),
  // then each SRV record is given a slot of every SRV name using it.
  void check_response(Resolution& res) {
    const Ms obsolete = cfg(res).hold.obsolete;
    for (auto it = res.items.begin(); it != res.items.end();) {
      if (it->additional && it->additional->last_seen + obsolete < now()) it->additional.reset();
      if (it->last_seen + obsolete < now()) {
        for (Requester* req : res.requesters)
          if (req->attached == &*it) req->attached = nullptr;
        for (auto& req : requesters)
          if (req->record == &*it) cleanup_slot(*req);
        it = res.items.erase(it);
        continue;
      }
      if (it->type == dns::type::SRV)
        for (SrvRequest* rq : res.srv_requesters) fill_slot(*rq, *it);
      ++it;
    }
  }

  void fill_slot(SrvRequest& rq, Item& record) {
    Requester* slot = nullptr;
    for (auto& req : requesters)
      if (req->srvrq == &rq && req->record == &record) slot = req.get();
    if (!slot) {
      if (rq.free.empty()) return;
      slot = rq.free.front();
      rq.free.pop_front();
      slot->record = &record;
    }
    Requester& s = *slot;
    s.no_resolution = false;
    const bool new_port = !s.port_known || s.port != record.port;
    s.port = record.port;
    s.port_known = true;
    if (record.additional) {
      const auto& ar = *record.additional;
      if (ar.address != s.address) {
        emit({ResolutionEvent::Kind::AddressChanged, s.key, ar.address, s.port, {},
              address_changed_line(ref(s), s.address.value_or("(none)"), ar.address, "DNS additional record")});
        s.address = ar.address;
      } else if (new_port) {
        emit({ResolutionEvent::Kind::AddressChanged, s.key, s.address.value_or(""), s.port, {}, {}});
      }
      s.no_resolution = true;
      unlink(s);
    } else if (new_port) {
      emit({ResolutionEvent::Kind::AddressChanged, s.key, s.address.value_or(""), s.port, {}, {}});
    }
    if (s.target.empty()) {
      s.target = record.target;
      emit({ResolutionEvent::Kind::FqdnChanged, s.key, {}, {}, {},
            LogLine{Severity::Notice, fmt::format("{}/{} changed its FQDN from (null) to {} by 'SRV record'",
                                                  s.proxy->name, s.server->name, s.target)}});
    }
    if (!s.no_resolution && !s.resolution) {
      s.resolution = &resolution_for(rq.resolution->section, s.target, preferred_type(s));
      s.resolution->requesters.push_back(&s);
      sections[s.resolution->section].timer->arm_at(now());
    }
    slot_status(s, !s.address);
  }

  // srvrq_update_srv_status: a slot with an address leaves maintenance, one without enters it.
  void slot_status(Requester& s, bool has_no_ip) {
    if (!has_no_ip) {
      if (!s.maintenance) return;
      s.maintenance = false;
      emit({ResolutionEvent::Kind::AddressValid, s.key, s.address.value_or(""), {}, {}, {}, s.target});
      return;
    }
    if (s.maintenance) return;
    s.maintenance = true;
    emit({ResolutionEvent::Kind::AddressLost, s.key, {}, {}, "entry removed from SRV record", {}});
  }

  // resolv_srvrq_cleanup_srv: the slot loses its record, its name and its address, and waits at
  // the end of the free slots.
  void cleanup_slot(Requester& s) {
    unlink(s);
    slot_status(s, true);
    s.target.clear();
    s.address.reset();
    s.port = 0;
    s.port_known = false;
    s.no_resolution = true;
    s.record = nullptr;
    s.srvrq->free.remove(&s);
    s.srvrq->free.push_back(&s);
  }

  void unlink(Requester& s) {
    if (!s.resolution) return;
    auto& list = s.resolution->requesters;
    list.erase(std::remove(list.begin(), list.end(), &s), list.end());
    s.resolution = nullptr;
    s.attached = nullptr;
  }

  // snr_resolution_cb: keep the current address while its record lives, else take the best one.
  void on_valid(Requester& req, const std::string& updater) {
    if (req.srvrq && req.no_resolution) return;
    bool has_no_ip = false;
    if (!req.attached) {
      const auto pick = choose(req);
      if (!pick) {
        has_no_ip = true;
      } else if (*pick != req.address) {
        emit({ResolutionEvent::Kind::AddressChanged, req.key, **pick, {}, {},
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
      if (std::any_of(req.networks.begin(), req.networks.end(), [&](const Network& n) { return n.contains(item.address); }))
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
    auto enter = [&](std::string cause) {
      if (req.maintenance) return false;
      req.maintenance = true;
      emit({ResolutionEvent::Kind::AddressLost, req.key, {}, {}, std::move(cause), {}});
      return true;
    };
    switch (res.status) {
      case Status::None: return false;
      case Status::Valid:
        if (has_no_ip) return enter("No IP for server ");
        if (!req.maintenance) return false;
        req.maintenance = false;
        emit({ResolutionEvent::Kind::AddressValid, req.key, req.address.value_or(""), {}, {}, server_dns_ready_line(ref(req)),
              req.srvrq ? req.target : req.server->host});
        return true;
      case Status::Nx: return within_hold(res) ? false : enter("DNS NX status");
      case Status::Timeout: return within_hold(res) ? false : enter("DNS timeout status");
      case Status::Refused: return within_hold(res) ? false : enter("DNS refused status");
      case Status::Invalid:
      case Status::Other: return within_hold(res) ? false : enter("unspecified DNS error");
    }
    return false;
  }

  // Past its hold, the error a resolution reports takes its servers into maintenance
  // (snr_resolution_error_cb), or empties the slots of its SRV names (srvrq_resolution_error_cb);
  // the records go when no one holds on to them.
  void report_error(Resolution& res) {
    bool keep = false;
    for (Requester* req : std::vector<Requester*>(res.requesters)) {
      if (update_status(*req, true)) {
        req->address.reset();
        req->attached = nullptr;
      } else {
        keep = true;
      }
    }
    for (SrvRequest* rq : res.srv_requesters) {
      if (within_hold(res)) {
        keep = true;
        continue;
      }
      for (auto& item : res.items)
        for (auto& req : requesters)
          if (req->srvrq == rq && req->record == &item) cleanup_slot(*req);
    }
    if (keep) return;
    for (Requester* req : res.requesters) req->attached = nullptr;
    for (auto& req : requesters)
      for (const auto& item : res.items)
        if (req->record == &item) req->record = nullptr;
    res.items.clear();
  }

  // Whether the status a resolution failed with is still within its hold since the last valid
  // answer (the resolution's creation if none came).
  bool within_hold(const Resolution& res) const {
    const HoldTimes& hold = cfg(res).hold;
    const Ms period = res.status == Status::Nx        ? hold.nx
                      : res.status == Status::Timeout ? hold.timeout
                      : res.status == Status::Refused ? hold.refused
                                                      : hold.other;
    return res.last_valid && now() < *res.last_valid + period;
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
  std::vector<std::unique_ptr<SrvRequest>> srv_requests;
  std::optional<TimePoint> frozen_now;
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

void apply_resolution_event(const ResolutionEvent& event, CheckEngine& engine, Backends& backends) {
  const ServerKey key = event.key;
  switch (event.kind) {
    case ResolutionEvent::Kind::AddressChanged:
      engine.set_address(key, event.address, event.port);
      backends.set_address(key, event.address);
      if (event.port) backends.set_port(key, *event.port);
      break;
    case ResolutionEvent::Kind::FqdnChanged:
      break;
    case ResolutionEvent::Kind::AddressLost:
      engine.set_admin(key, admin::kResolutionMaint, event.cause);
      backends.set_address(key, "");
      break;
    case ResolutionEvent::Kind::AddressValid:
      engine.clear_admin(key, admin::kResolutionMaint, event.hostname);
      break;
  }
}

void start_in_maintenance(const Config& config, CheckEngine& engine) {
  for (std::size_t pi = 0; pi < config.proxies.size(); ++pi) {
    if (!config.proxies[pi].has_backend_role()) continue;
    for (std::size_t si = 0; si < config.proxies[pi].servers.size(); ++si)
      if (!config.proxies[pi].servers[si].start_address) {
        engine.set_admin({pi, si}, admin::kResolutionMaint, "", false);
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
