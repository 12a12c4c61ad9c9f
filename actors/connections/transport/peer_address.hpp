#pragma once
/// A client's address as ACLs, the authentication brake and the logs name it: on a
/// dual-stack listener an IPv4 client arrives as ::ffff:a.b.c.d, and is named a.b.c.d, as
/// Kafka names it (Java's InetAddress turns mapped addresses into IPv4 ones).

#include <boost/asio/ip/address.hpp>

namespace portask {

inline boost::asio::ip::address canonical_address(const boost::asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
  return a;
}

}  // namespace portask
