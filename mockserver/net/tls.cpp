#include "mockserver/net/tls.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/system/system_error.hpp>
#include <fmt/format.h>

#include <stdexcept>

#include "lb/core/input_file.hpp"

namespace mock::net {

namespace ssl = boost::asio::ssl;

namespace {

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

std::string pem_of(int (*write)(BIO*, void*), void* object) {
  BIO* bio = BIO_new(BIO_s_mem());
  std::string out;
  if (bio && write(bio, object) == 1) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    out.assign(data, static_cast<std::size_t>(n));
  }
  BIO_free(bio);
  return out;
}

std::shared_ptr<ssl::context> context_with(const Pem& pem, bool tls13_only) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  if (tls13_only) SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_3_VERSION);
  ctx->use_certificate_chain(boost::asio::buffer(pem.cert));
  ctx->use_private_key(boost::asio::buffer(pem.key), ssl::context::pem);
  return ctx;
}

}  // namespace

Pem self_signed_certificate(const std::string& common_name) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  if (!key || !x) throw std::runtime_error("cannot make a certificate: " + openssl_error());
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_version(x, 2);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                             -1, -1, 0);
  X509_set_issuer_name(x, name);
  // Clients check names against the subject alternative names.
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
  const std::string san = "DNS:" + common_name + (common_name == "localhost" ? ",IP:127.0.0.1,IP:::1" : "");
  if (X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, san.c_str())) {
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(x, key, EVP_sha256()) == 0) throw std::runtime_error("cannot sign a certificate: " + openssl_error());
  Pem out{pem_of([](BIO* b, void* c) { return PEM_write_bio_X509(b, static_cast<X509*>(c)); }, x),
          pem_of([](BIO* b, void* k) {
            return PEM_write_bio_PrivateKey(b, static_cast<EVP_PKEY*>(k), nullptr, nullptr, 0, nullptr, nullptr);
          }, key)};
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

TlsContexts make_tls_contexts(const core::TlsSpec& spec) {
  Pem pem;
  if (spec.self_signed()) {
    pem = self_signed_certificate("localhost");
  } else {
    for (auto [path, out] : {std::pair{&spec.cert_file, &pem.cert}, std::pair{&spec.key_file, &pem.key}}) {
      const auto file = lb::core::read_input_file(*path);
      if (!file) throw std::runtime_error(fmt::format("cannot read {}: {}", *path, file.reason()));
      *out = file.text;
    }
  }
  try {
    TlsContexts c;
    c.normal = context_with(pem, false);
    c.tls13 = context_with(pem, true);
    c.wrong = context_with(self_signed_certificate("wrong.invalid"), false);
    return c;
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error(fmt::format("{} and {} are not a certificate chain and its key: {}", spec.cert_file,
                                         spec.key_file, e.code().message()));
  }
}

std::optional<std::string> check_tls(const core::TlsSpec& spec) {
  try {
    make_tls_contexts(spec);
    return std::nullopt;
  } catch (const std::exception& e) {
    return e.what();
  }
}

}  // namespace mock::net
