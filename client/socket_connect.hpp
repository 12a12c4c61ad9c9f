#pragma once
/// connect() bounded in time. A blocking connect() to a host that drops packets waits for the
/// system's SYN retries, about two minutes per address, whatever timeout the caller has.

#include <sys/socket.h>

#include <chrono>

namespace portask::client {

/// Connects `fd` to `address` within `timeout`; false with errno set (ETIMEDOUT when the time
/// ran out). The socket is left blocking, as it was.
bool connect_within(int fd, const sockaddr* address, socklen_t length, std::chrono::milliseconds timeout);

}  // namespace portask::client
