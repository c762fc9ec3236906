#include "lb/core/route/router.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <stdexcept>

// HAProxy 2.6's server selection (src/lb_fwrr.c, src/lb_fwlc.c, src/lb_fas.c, src/backend.c),
// rebuilt on ordered multimaps in place of ebtrees. An ebtree keeps duplicate keys in
// insertion order, as a multimap does, and that order is what makes equal servers take turns,
// so the same picks come out in the same order.

namespace lb::core {
namespace {

// HAProxy's weight scale: a user weight w becomes an effective weight w * 16.
constexpr int kWeightScale = 16;                        // BE_WEIGHT_SCALE
constexpr int kUserWeightRange = 256;                   // SRV_UWGHT_RANGE
constexpr int kEffectiveWeightMax = 256 * kWeightScale;  // SRV_EWGHT_MAX

using Tree = std::multimap<std::uint32_t, std::size_t>;

}  // namespace

struct Router::Impl {
  struct Server {
    RouteServer cfg;
    bool up = true;
    int eweight = 0;  // effective weight
    int served = 0;   // open connections
    // Position in the trees.
    Tree* tree = nullptr;  // the tree this server belongs to (HAProxy's lb_tree)
    bool queued = false;   // actually linked into `tree`
    Tree::iterator node;
    // fwrr positions.
    int npos = 0, lpos = 0, rweight = 0;

    bool usable() const { return up && eweight > 0; }
    bool saturated() const { return cfg.maxconn > 0 && served >= cfg.maxconn; }
  };

  // One fwrr group (active or backup servers): a current tree ordered by position, and two
  // weight-ordered trees that swap roles at the end of each round.
  struct Group {
    Tree curr, t0, t1;
    Tree* init = &t0;
    Tree* next = &t1;
    int curr_pos = 0, curr_weight = 0, next_weight = 0;
  };

  Balance balance;
  bool allbackups;
  std::vector<RouteServer> configs;
  std::vector<Server> servers;
  Group act, bck;  // fwrr groups; leastconn and first use act.curr / bck.curr only
  int srv_act = 0, srv_bck = 0;
  std::optional<std::size_t> fbck;  // the one backup in use without allbackups

  Impl(Balance b, bool all, std::vector<RouteServer> s) : balance(b), allbackups(all), configs(std::move(s)) {
    servers.reserve(configs.size());
    for (const auto& c : configs) {
      Server srv;
      srv.cfg = c;
      srv.eweight = std::max(0, c.weight) * kWeightScale;
      servers.push_back(srv);
    }
    recount();
    act.curr_pos = act.curr_weight = act.next_weight = total_weight(false);
    bck.curr_pos = bck.curr_weight = bck.next_weight = total_weight(true);
    for (std::size_t i = 0; i < servers.size(); ++i) {
      if (!servers[i].usable()) continue;
      Group& g = group_of(i);
      switch (balance) {
        case Balance::RoundRobin:
          queue_by_weight(*g.init, i);
          break;
        case Balance::LeastConn:
        case Balance::First:
          insert(g.curr, i, key_of(i));
          break;
      }
    }
  }

  Group& group_of(std::size_t i) { return servers[i].cfg.backup ? bck : act; }

  int total_weight(bool backup) const {
    int sum = 0;
    for (const auto& s : servers)
      if (s.usable() && s.cfg.backup == backup) sum += s.eweight;
    return sum;
  }

  void recount() {
    srv_act = srv_bck = 0;
    fbck.reset();
    for (std::size_t i = 0; i < servers.size(); ++i) {
      if (!servers[i].usable()) continue;
      if (servers[i].cfg.backup) {
        if (srv_bck == 0 && !allbackups) fbck = i;
        ++srv_bck;
      } else {
        ++srv_act;
      }
    }
  }

  // --- tree primitives ---------------------------------------------------------------------

  void insert(Tree& t, std::size_t i, std::uint32_t key) {
    auto& s = servers[i];
    s.node = t.emplace(key, i);  // after any equal keys, as an ebtree does
    s.tree = &t;
    s.queued = true;
  }
  void dequeue(std::size_t i) {
    auto& s = servers[i];
    if (!s.queued) return;
    s.tree->erase(s.node);
    s.queued = false;  // `tree` still names where it was, as HAProxy's lb_tree does
  }
  std::uint32_t key_of(std::size_t i) const {
    const auto& s = servers[i];
    if (balance == Balance::First) return static_cast<std::uint32_t>(i + 1);  // the server id
    // leastconn: 0 when idle, else (inflight + 1) scaled by the inverse weight
    const int eweight = s.eweight > 0 ? s.eweight : 1;
    return s.served ? static_cast<std::uint32_t>((s.served + 1) * kEffectiveWeightMax / eweight) : 0;
  }

  // --- fwrr --------------------------------------------------------------------------------

  // Heaviest first; equal weights in the order they were queued.
  void queue_by_weight(Tree& root, std::size_t i) {
    insert(root, i, static_cast<std::uint32_t>(kEffectiveWeightMax - servers[i].eweight));
  }

  void queue(std::size_t i) {
    auto& s = servers[i];
    Group& g = group_of(i);
    if (!s.usable()) {
      s.tree = nullptr;
      return;
    }
    if (s.eweight <= 0 || s.npos >= 2 * g.curr_weight || s.npos >= g.curr_weight + g.next_weight) {
      // Beyond this round: wait in the next tree, position kept relative to the next round.
      s.npos -= g.curr_weight;
      queue_by_weight(*g.next, i);
      return;
    }
    const auto key = static_cast<std::uint32_t>(static_cast<std::int64_t>(kUserWeightRange) * s.npos) +
                     static_cast<std::uint32_t>(kEffectiveWeightMax + s.rweight - s.eweight) / kWeightScale;
    insert(g.curr, i, key);
  }

  // Prepares a server taken out of wherever it was (fwrr_get_srv).
  void take_out(std::size_t i) {
    auto& s = servers[i];
    Group& g = group_of(i);
    if (s.tree == g.init) {
      s.npos = s.rweight = 0;
    } else if (s.tree == g.next) {
      s.npos += g.curr_weight;
    } else if (s.tree == nullptr) {
      s.npos = g.curr_pos;
    }
  }

  static void switch_trees(Group& g) {
    std::swap(g.init, g.next);
    g.curr_weight = g.next_weight;
    g.curr_pos = g.curr_weight;
  }

  std::optional<std::size_t> first_of_group(Group& g) {
    std::optional<std::size_t> s1;
    if (!g.curr.empty()) {
      s1 = g.curr.begin()->second;
      const auto& s = servers[*s1];
      if (s.eweight && s.npos <= g.curr_pos) return s1;
    }
    // A hole in the current tree, or nothing left: a fresh server from `init` may fit better.
    if (!g.init->empty()) {
      const std::size_t i = g.init->begin()->second;
      if (servers[i].eweight) {
        servers[i].npos = servers[i].rweight = 0;
        return i;
      }
    }
    return s1;
  }

  void update_position(Group& g, std::size_t i) {
    auto& s = servers[i];
    if (!s.eweight) return;
    if (!s.npos) s.npos = g.curr_pos;  // first time ever for this server
    s.lpos = s.npos;
    s.npos += g.next_weight / s.eweight;
    s.rweight += g.next_weight % s.eweight;
    if (s.rweight >= s.eweight) {
      s.rweight -= s.eweight;
      ++s.npos;
    }
  }

  std::optional<std::size_t> fwrr_pick(Group& g) {
    bool switched = false;
    std::vector<std::size_t> full;  // saturated servers taken out on the way
    std::optional<std::size_t> chosen;
    while (true) {
      if (!g.curr_weight) g.curr_pos = g.curr_weight = g.next_weight;
      std::optional<std::size_t> srv;
      while (true) {
        srv = first_of_group(g);
        if (srv) break;
        if (switched) break;
        switched = true;
        switch_trees(g);
      }
      if (!srv) break;
      update_position(g, *srv);
      dequeue(*srv);
      ++g.curr_pos;
      if (!servers[*srv].saturated()) {
        chosen = srv;
        break;
      }
      full.push_back(*srv);
    }
    if (chosen) queue(*chosen);
    // Saturated servers go back as if consumed; after a tree switch their place is lost and
    // only their weight counts.
    for (const auto i : full) {
      if (switched) queue_by_weight(*g.init, i);
      else queue(i);
    }
    return chosen;
  }

  void fwrr_down(std::size_t i) {
    Group& g = group_of(i);
    g.next_weight -= servers[i].eweight;
    dequeue(i);
    servers[i].tree = nullptr;
  }

  void fwrr_up(std::size_t i) {
    auto& s = servers[i];
    Group& g = group_of(i);
    g.next_weight += s.eweight;
    take_out(i);
    s.npos = g.curr_pos + (g.next_weight + g.curr_weight - g.curr_pos) / s.eweight;
    queue(i);
  }

  // fwrr_update_server_weight, for a server usable before and after: a new place for its new
  // weight, in the tree it is in.
  void fwrr_reweight(std::size_t i, int old_eweight) {
    auto& s = servers[i];
    Group& g = group_of(i);
    g.next_weight += s.eweight - old_eweight;
    if (s.tree == g.init) {
      dequeue(i);
      queue_by_weight(*g.init, i);
      return;
    }
    if (s.tree == nullptr) {
      dequeue(i);
      take_out(i);
      s.npos = g.curr_pos + (g.next_weight + g.curr_weight - g.curr_pos) / s.eweight;
      queue(i);
      return;
    }
    // In the current or the next tree: if it has places left in this round, move its next one.
    take_out(i);
    const int prev_next = s.npos;
    const int step = g.next_weight / s.eweight;
    s.npos = s.lpos + step;
    s.rweight = 0;
    if (s.npos > prev_next) s.npos = prev_next;
    if (s.npos < g.curr_pos + 2) s.npos = g.curr_pos + step;
    dequeue(i);
    queue(i);
  }

  void set_weight(std::size_t i, int weight) {
    auto& s = servers[i];
    const int eweight = std::clamp(weight, 0, kUserWeightRange) * kWeightScale;
    if (eweight == s.eweight) return;
    const bool was_usable = s.usable();
    const int old_eweight = s.eweight;
    if (was_usable && !(s.up && eweight > 0)) {
      set_usable(i, false);  // leaves with the weight it counted for
      s.eweight = eweight;
      return;
    }
    s.eweight = eweight;
    if (!was_usable) {
      if (s.usable()) set_usable(i, true);
      return;
    }
    switch (balance) {
      case Balance::RoundRobin:
        fwrr_reweight(i, old_eweight);
        break;
      case Balance::LeastConn:
      case Balance::First:
        // fwlc_update_server_weight: requeued with the key its new weight gives.
        if (s.queued) {
          Tree& t = *s.tree;
          dequeue(i);
          insert(t, i, key_of(i));
        }
        break;
    }
  }

  // --- leastconn / first --------------------------------------------------------------------

  std::optional<std::size_t> ordered_pick(const Tree& t) const {
    for (const auto& [key, i] : t)
      if (!servers[i].saturated()) return i;
    return std::nullopt;
  }

  // fwlc_srv_reposition: a server whose key changed moves behind its new equals.
  void reposition(std::size_t i) {
    auto& s = servers[i];
    if (balance != Balance::LeastConn || !s.queued) return;
    const auto key = key_of(i);
    if (s.node->first == key) return;
    Tree& t = *s.tree;
    dequeue(i);
    insert(t, i, key);
  }

  // --- state changes -------------------------------------------------------------------------

  void set_usable(std::size_t i, bool usable) {
    const auto& s = servers[i];
    if (usable) {
      if (s.cfg.backup) {
        ++srv_bck;
        // The first usable backup in config order carries the traffic.
        if (!allbackups && (!fbck || i < *fbck)) fbck = i;
      } else {
        ++srv_act;
      }
    } else {
      if (s.cfg.backup) {
        --srv_bck;
        if (fbck == i) {
          fbck.reset();
          for (std::size_t j = i + 1; j < servers.size(); ++j)
            if (servers[j].cfg.backup && servers[j].usable()) {
              fbck = j;
              break;
            }
        }
      } else {
        --srv_act;
      }
    }
    switch (balance) {
      case Balance::RoundRobin:
        usable ? fwrr_up(i) : fwrr_down(i);
        break;
      case Balance::LeastConn:
      case Balance::First:
        if (usable) {
          insert(group_of(i).curr, i, key_of(i));
        } else {
          dequeue(i);
          servers[i].tree = nullptr;
        }
        break;
    }
  }

  std::optional<std::size_t> pick() {
    Group* g = nullptr;
    if (srv_act) g = &act;
    else if (fbck) return fbck;
    else if (srv_bck) g = &bck;
    else return std::nullopt;
    switch (balance) {
      case Balance::RoundRobin:
        return fwrr_pick(*g);
      case Balance::LeastConn:
      case Balance::First:
        return ordered_pick(g->curr);
    }
    return std::nullopt;
  }
};

Router::Router(Balance balance, bool allbackups, std::vector<RouteServer> servers)
    : impl_(std::make_unique<Impl>(balance, allbackups, std::move(servers))) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

void Router::set_up(std::size_t server, bool up) {
  auto& s = impl_->servers.at(server);
  if (s.up == up) return;
  const bool was_usable = s.usable();
  s.up = up;
  if (s.usable() != was_usable) impl_->set_usable(server, s.usable());
}

bool Router::is_up(std::size_t server) const { return impl_->servers.at(server).up; }

void Router::set_weight(std::size_t server, int weight) { impl_->set_weight(server, weight); }

std::optional<std::size_t> Router::pick() { return impl_->pick(); }

void Router::connection_opened(std::size_t server) {
  ++impl_->servers.at(server).served;
  impl_->reposition(server);
}

void Router::connection_closed(std::size_t server) {
  auto& s = impl_->servers.at(server);
  if (s.served > 0) --s.served;
  impl_->reposition(server);
}

BackendCounts Router::counts() const { return {impl_->srv_act, impl_->srv_bck}; }

const std::vector<RouteServer>& Router::servers() const { return impl_->configs; }

}  // namespace lb::core
