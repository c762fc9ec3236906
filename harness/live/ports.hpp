#pragma once
// Ports for processes that cannot bind port 0 themselves (haproxy and lb refuse `bind :0`, as
// haproxy does): the kernel picks a free loopback port, which is released for the child to bind.
namespace lbh {

int free_tcp_port();

// Whether a socket of this machine listens on TCP `port` (IPv4 or IPv6), as the kernel's
// sock_diag says: seen without connecting, so a balancer's frontend is not handed a connection to route.
bool tcp_port_listening(int port);

}  // namespace lbh
