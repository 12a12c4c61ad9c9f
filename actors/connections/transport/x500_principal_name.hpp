#pragma once
/// A certificate name written as Java's X500Principal.getName() (RFC 2253 form) writes it:
/// Kafka's default principal builder makes a client certificate's principal "User:" + that
/// string, so ACLs and super users copied from a Kafka cluster must meet the same text.

#include <openssl/x509.h>

#include <string>

namespace portask {

/// `name` as Java writes it; empty for an empty name or one OpenSSL cannot encode.
std::string x500_principal_name(const X509_NAME* name);

}  // namespace portask
