#pragma once
// Ports for processes that cannot bind port 0 themselves (haproxy and lb refuse `bind :0`, as
// haproxy does): the kernel picks a free loopback port, which is released for the child to bind.
namespace lbh {

int free_tcp_port();

}  // namespace lbh
