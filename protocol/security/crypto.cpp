#include "protocol/security/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace portask::protocol::security {

namespace {

const EVP_MD* md(hash_algorithm h) noexcept {
  return h == hash_algorithm::sha256 ? EVP_sha256() : EVP_sha512();
}

const unsigned char* bytes(std::string_view s) noexcept {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::size_t digest_size(hash_algorithm h) noexcept { return h == hash_algorithm::sha256 ? 32 : 64; }

std::string digest(hash_algorithm h, std::string_view data) {
  std::string out(digest_size(h), '\0');
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &n, md(h),
                 nullptr) != 1)
    throw std::runtime_error("EVP_Digest failed");
  out.resize(n);
  return out;
}

std::string hmac(hash_algorithm h, std::string_view key, std::string_view data) {
  std::string out(digest_size(h), '\0');
  unsigned int n = 0;
  if (HMAC(md(h), key.data(), static_cast<int>(key.size()), bytes(data), data.size(),
           reinterpret_cast<unsigned char*>(out.data()), &n) == nullptr)
    throw std::runtime_error("HMAC failed");
  out.resize(n);
  return out;
}

std::string pbkdf2(hash_algorithm h, std::string_view password, std::string_view salt,
                   int iterations) {
  std::string out(digest_size(h), '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), bytes(salt),
                        static_cast<int>(salt.size()), iterations, md(h), static_cast<int>(out.size()),
                        reinterpret_cast<unsigned char*>(out.data())) != 1)
    throw std::runtime_error("PKCS5_PBKDF2_HMAC failed");
  return out;
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return out;
}

bool equal_constant_time(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && (a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0);
}

}  // namespace portask::protocol::security
