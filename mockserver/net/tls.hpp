#pragma once
// TLS for mockserver's listeners: the contexts a listener's handshakes use (its own, TLS 1.3 only,
// and a wrong certificate), certificates made on the spot when asked for a self-signed one.
#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <optional>
#include <string>

#include "mockserver/core/model.hpp"

namespace mock::net {

struct TlsContexts {
  std::shared_ptr<boost::asio::ssl::context> normal;  // the listener's certificate, TLS 1.2 and 1.3
  std::shared_ptr<boost::asio::ssl::context> tls13;   // the same, TLS 1.3 only (tls13-only)
  std::shared_ptr<boost::asio::ssl::context> wrong;   // self-signed for wrong.invalid (tls-wrong-cert)
};

// Throws std::runtime_error saying which file could not be used, and why.
TlsContexts make_tls_contexts(const core::TlsSpec& spec);
// The same judgement without a server: nullopt when the listener's certificate loads.
std::optional<std::string> check_tls(const core::TlsSpec& spec);

// A fresh self-signed certificate (EC P-256, valid a day) for `common_name`, as PEM.
struct Pem {
  std::string cert, key;
};
Pem self_signed_certificate(const std::string& common_name);

}  // namespace mock::net
