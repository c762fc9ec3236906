#pragma once
// The mockserver's behaviour model as plain data: listeners, rules (match, schedule, answer) and
// faults. Decoded from JSON or the CLI (spec.hpp, cli.hpp), evaluated by engine.hpp.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lb/core/regex.hpp"
#include "lb/core/time/clock.hpp"

namespace mock::core {

using lb::core::Ms;
using lb::core::TimePoint;

// ---------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------

// When a fault acts: on the listening socket (no connection is ever accepted), right after
// accept (before any byte is read), or after a request has been read.
enum class Phase { Listener, Connection, Request };

enum class FaultKind {
  Refuse,
  Blackhole,
  SlowAccept,
  ResetOnAccept,
  CloseBeforeRequest,
  HangNoRead,
  Hang,
  Reset,
  Close,
  Garbage,
  Partial,
  Drip,
  BadLength,
  BadChunked,
  Http09,
  OversizedHeaders,
  ResetMidResponse,
  Interim1xx,
  BadStatusLine,
  Delay,
  SlowClose,
  LimitData,
  Timeout,
  TlsHandshakeFailure,
  TlsSlowHandshake,
  TlsWrongCert,
  Tls13Only,
};

struct FaultInfo {
  FaultKind kind;
  std::string_view name;  // the id used in files, the CLI and the API
  Phase phase;
  std::string_view summary;
};

std::span<const FaultInfo> fault_table();
const FaultInfo& info(FaultKind k);
// The faults that act on a TLS listener's handshake.
bool is_tls_fault(FaultKind k);
std::optional<FaultKind> fault_from_name(std::string_view name);
// Whether the fault bends the rule's response (drip, bad-length, delay, ...); the others send
// none, or bytes of their own, so a `respond` beside them would be ignored.
bool shapes_response(FaultKind k);

// What a fault does once its bytes are out: keep the connection open forever, or close it.
enum class Ending { Hold, Close };

struct Fault {
  FaultKind kind = FaultKind::Hang;
  std::size_t bytes = 0;  // garbage: count; drip: per step; oversized-headers: block size;
                          // bad-length: bytes promised beyond the body
  Ms every{0};            // drip: interval; delay: wait before the response; bad-chunked: split
  std::uint32_t seed = 1;  // garbage
  Ending then = Ending::Close;
  bool operator==(const Fault&) const = default;
};

// A fault of `kind` with the catalogue's default parameters.
Fault make_fault(FaultKind kind);

// ---------------------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------------------

enum class Mode { Serve, Refuse, Blackhole, SlowAccept };
std::string_view name(Mode m);
std::optional<Mode> mode_from_name(std::string_view name);
// The listener mode a Phase::Listener fault puts the listener in.
Mode mode_of(FaultKind k);

// A draw in [0, 1) from (seed, n), the same for the same pair: reproducible randomness for
// probabilities and jitter.
double seeded_unit(std::uint64_t seed, std::uint64_t n);

// Most rules one listener holds (one PUT, one spec file listener).
constexpr std::size_t kMaxRules = 10000;

// Longest path_regex accepted: a bounded pattern keeps compilation cheap and shallow.
constexpr std::size_t kMaxRegexPattern = 1024;

// Largest response body: configured bodies above it are spec errors, and a body that {name}
// {method} {path} substitution grows past it is cut at this size (see render_body).
constexpr std::size_t kMaxBody = 1024 * 1024;

struct PathMatch {
  enum class Kind { Any, Exact, Prefix, Regex };
  Kind kind = Kind::Any;
  std::string text;
  std::optional<lb::core::Regex> re;  // compiled once, shared by copies; bounded matcher
  bool operator==(const PathMatch& o) const { return kind == o.kind && text == o.text; }
};

struct HeaderMatch {
  std::string name;                  // compared case-insensitively
  std::optional<std::string> value;  // unset: presence is enough
  bool operator==(const HeaderMatch&) const = default;
};

// A query parameter (names and values URL-decoded): present, or equal to `value`.
struct QueryMatch {
  std::string name;
  std::optional<std::string> value;
  bool operator==(const QueryMatch&) const = default;
};

// Conditions on the request body; every one given must hold.
struct BodyMatch {
  std::optional<std::string> equals;
  std::optional<std::string> contains;
  std::optional<std::string> regex;
  std::optional<lb::core::Regex> re;  // `regex`, compiled once; bounded matcher
  // JSON pointer ("/user/id") -> the JSON value found there must equal (as JSON text).
  std::vector<std::pair<std::string, std::string>> json;
  bool empty() const { return !equals && !contains && !regex && json.empty(); }
  bool operator==(const BodyMatch& o) const {
    return equals == o.equals && contains == o.contains && regex == o.regex && json == o.json;
  }
};

struct Match {
  std::vector<std::string> methods;  // empty: any
  PathMatch path;
  std::vector<HeaderMatch> headers;
  std::vector<QueryMatch> query;
  BodyMatch body;
  bool empty() const {
    return methods.empty() && path.kind == PathMatch::Kind::Any && headers.empty() && query.empty() && body.empty();
  }
  bool operator==(const Match&) const = default;
};

// 1-based inclusive range of counter values; `to` unset means open-ended.
struct Range {
  std::uint64_t from = 1;
  std::optional<std::uint64_t> to;
  bool contains(std::uint64_t n) const { return n >= from && (!to || n <= *to); }
  bool operator==(const Range&) const = default;
};

// On for `down` out of every `period`, starting `offset` into the timeline.
struct TimeFlap {
  Ms period{0};
  Ms down{0};
  Ms offset{0};
  bool operator==(const TimeFlap&) const = default;
};

struct CountFlap {
  std::uint64_t period = 0;
  std::uint64_t down = 0;
  std::uint64_t offset = 0;
  bool operator==(const CountFlap&) const = default;
};

// When a matching rule applies. Every field set must hold (logical and); empty: always.
struct Schedule {
  std::optional<Range> matches;    // index of this request among those the rule's match accepted
  std::optional<Range> requests;   // index of this request on the listener
  std::optional<Range> probes;     // index of this connection on the listener
  std::optional<std::uint64_t> times;  // apply to the first n only, then fall through
  std::optional<std::uint64_t> every;  // every k-th match
  std::optional<Ms> from;          // window on the listener's timeline [from, until)
  std::optional<Ms> until;
  std::optional<TimeFlap> flap;
  std::optional<CountFlap> flap_requests;
  // Apply to each match with this probability, drawn from `seed` and the match's index: the
  // same seed gives the same matches every run.
  std::optional<double> probability;
  std::uint64_t seed = 1;
  // Whether a listener fault (refuse, blackhole, slow-accept) can follow it: the connections
  // such a fault turns away are never seen, so only a count that starts it while connections
  // are served (an open-ended `requests` or `probes` range) can be used, and no count may end it.
  bool ends_unseen_ok() const {
    return !matches && !times && !every && !flap_requests && !probability && (!requests || !requests->to) &&
           (!probes || !probes->to);
  }
  bool operator==(const Schedule&) const = default;
};

struct Response {
  int status = 200;
  std::optional<std::string> reason;  // unset: the standard phrase
  bool omit_reason = false;           // "HTTP/1.1 200\r\n"
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<std::string> body;  // unset: "hello from {name}"; {name} {method} {path} substituted
  Ms delay{0};                      // before the status line
  Ms jitter{0};                     // the delay varies by up to this much each request ...
  bool jitter_normal = false;       // ... uniformly in [-jitter, +jitter], or normally (sd = jitter)
  std::size_t rate = 0;             // bytes a second the whole response is sent at (0: at once)
  std::size_t chunk_bytes = 0;      // body sent in pieces of this size ...
  Ms chunk_delay{0};                // ... with this pause between them
  bool chunked = false;             // Transfer-Encoding: chunked instead of Content-Length
  bool operator==(const Response&) const = default;
};

// Hand the connection to the listener's upstream, from this request on: its bytes are relayed
// both ways (the Toxiproxy model), after `delay`; the upstream's bytes at `rate` bytes a second,
// the client's at `up_rate`.
struct ProxyAction {
  Ms delay{0};
  std::size_t rate = 0;     // 0: as fast as it comes
  std::size_t up_rate = 0;  // 0: as fast as it comes
  bool operator==(const ProxyAction&) const = default;
};

// Bytes exactly as given, for replies no `respond` field can spell (a status line cut in the
// middle of a word, a chunk size split over two reads): writes, each after its pause, then the
// connection ends as `then` says. lbharness's differential check fuzzer serves its generated
// replies this way.
struct RawWrite {
  Ms pause{0};
  std::string bytes;
  bool operator==(const RawWrite&) const = default;
};
// Serve: the connection goes on as any other, reading the next request (a raw reply that keeps
// the connection alive; a greeting followed by requests).
enum class RawEnd { Close, Hold, Reset, Serve };
struct RawReply {
  std::vector<RawWrite> writes;
  RawEnd then = RawEnd::Close;
  bool operator==(const RawReply&) const = default;
};
std::string_view name(RawEnd e);  // "close", "hold", "reset", "serve"
std::optional<RawEnd> raw_end_from_name(std::string_view n);
// Most writes one raw reply holds; each write's bytes count towards kMaxBody.
constexpr std::size_t kMaxRawWrites = 1024;

struct Rule {
  std::string id;
  Match match;
  Schedule schedule;
  Response respond;                  // used when neither fault, proxy nor raw is set
  std::optional<Fault> fault;        // wins over respond
  std::optional<ProxyAction> proxy;  // the listener's upstream answers
  std::optional<RawReply> raw;       // these bytes answer
  bool operator==(const Rule&) const = default;
};

struct Endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  bool operator==(const Endpoint&) const = default;
};
// "127.0.0.1:8080", "[::1]:0"; nullopt when malformed or when the host is not an IP address
// (a name such as localhost: what mockserver binds, it binds as given, resolving nothing).
std::optional<Endpoint> parse_endpoint(std::string_view text);
std::string to_string(const Endpoint& e);
// "127.0.0.1", "::1": an address a socket binds as is (no name to resolve).
bool valid_ip_literal(std::string_view host);

// A TLS listener: the certificate chain and key, PEM files; both empty: a self-signed
// certificate for "localhost" made at start.
struct TlsSpec {
  std::string cert_file;
  std::string key_file;
  bool self_signed() const { return cert_file.empty(); }
  bool operator==(const TlsSpec&) const = default;
};

struct ListenerSpec {
  std::string name;
  Endpoint listen;
  std::optional<TlsSpec> tls;
  // A real server behind the listener: requests no rule answers are relayed to it.
  std::optional<Endpoint> upstream;
  Mode mode = Mode::Serve;
  std::optional<Fault> fault;  // applies to every connection or request, before the rules
  // Bytes the server sends first, as soon as a connection is accepted, before reading anything:
  // a banner (SMTP's "220", a database's handshake). Then its ending: serve reads requests.
  std::optional<RawReply> greeting;
  std::vector<Rule> rules;
  bool operator==(const ListenerSpec&) const = default;
};

// mockserver's DNS responder (dns.hpp answers with it): a table of A, AAAA, SRV and CNAME
// records, each with an optional window on the timeline, and faults for one name or all.
struct DnsRecord {
  std::string name;  // "app2.lbh.test", compared case-insensitively
  std::uint16_t type = 1;  // lb::core::dns::type::A
  std::string value;  // A/AAAA: the address; CNAME: the name; SRV: "PRIORITY WEIGHT PORT TARGET"
  std::uint32_t ttl = 30;
  std::optional<Ms> from, until;  // on the timeline: [from, until)
  bool operator==(const DnsRecord&) const = default;
};

enum class DnsFaultKind { NxDomain, ServFail, Refused, NoAnswer, Truncated, TtlZero, WrongId, Garbage };

struct DnsFault {
  DnsFaultKind kind = DnsFaultKind::ServFail;
  std::optional<std::string> name;  // unset: every name
  std::optional<Ms> from, until;
  bool operator==(const DnsFault&) const = default;
};

struct DnsSpec {
  Endpoint listen;  // UDP and TCP on the same port
  std::vector<DnsRecord> records;
  std::vector<DnsFault> faults;
  bool operator==(const DnsSpec&) const = default;
};

// Per-connection limits the edge enforces on every listener.
constexpr Ms kDefaultIdleTimeout{60000};
constexpr std::size_t kDefaultMaxConnections = 10000;

// Where the listeners' timelines (at_ms, after_ms, flap) start: when the process starts, or
// when the first connection on any listener is accepted (a balancer's first check), so that a
// timeline lines up with the balancer's however long it took to start.
enum class TimelineStart { Start, FirstConnection };
std::string_view name(TimelineStart t);
std::optional<TimelineStart> timeline_start_from_name(std::string_view name);

struct Spec {
  std::vector<ListenerSpec> listeners;
  TimelineStart timeline_start = TimelineStart::Start;
  bool log_requests = false;  // a line on stdout per journal entry (`--log`, spec field "log")
  std::optional<Endpoint> admin;
  std::optional<DnsSpec> dns;
  std::size_t journal_limit = 10000;
  // A connection waiting for a request (new, keep-alive idle, or a request trickling in) is
  // closed after this long; 0 = never.
  Ms idle_timeout = kDefaultIdleTimeout;
  // Open connections per listener; at the cap the listener stops accepting (new connects wait
  // in the kernel backlog) until one closes.
  std::size_t max_connections = kDefaultMaxConnections;
  bool operator==(const Spec&) const = default;
};

bool valid_listener_name(std::string_view name);
// What a listener's parts must agree on, beyond each part being valid: proxy rules need an
// upstream, TLS faults a TLS listener. (path, message) for each disagreement.
std::vector<std::pair<std::string, std::string>> listener_conflicts(const ListenerSpec& l, std::string_view path);
std::string_view standard_reason(int status);

}  // namespace mock::core
