#pragma once
/// The few cryptographic primitives authentication needs, over OpenSSL's libcrypto: SHA-2
/// digests, HMAC, PBKDF2 (RFC 8018), random bytes and a constant-time comparison. Byte
/// strings are std::string (SCRAM handles them as octet strings).

#include <string>
#include <string_view>

namespace portask::protocol::security {

enum class hash_algorithm { sha256, sha512 };

/// Output size in bytes (32 or 64).
std::size_t digest_size(hash_algorithm h) noexcept;
std::string digest(hash_algorithm h, std::string_view data);
std::string hmac(hash_algorithm h, std::string_view key, std::string_view data);
/// PBKDF2 with HMAC-`h`, one block of digest_size(h) bytes (SCRAM's Hi()).
std::string pbkdf2(hash_algorithm h, std::string_view password, std::string_view salt,
                   int iterations);
/// `n` bytes from OpenSSL's CSPRNG; throws std::runtime_error if it cannot provide them.
std::string random_bytes(std::size_t n);
/// Equal length and content, in time that depends only on the length.
bool equal_constant_time(std::string_view a, std::string_view b) noexcept;

}  // namespace portask::protocol::security
