#include "client/socket_connect.hpp"

#include <fcntl.h>
#include <poll.h>

#include <cerrno>

#include "client/deadline.hpp"

namespace portask::client {

bool connect_within(int fd, const sockaddr* address, socklen_t length, std::chrono::milliseconds timeout) {
  const int flags = ::fcntl(fd, F_GETFL, 0);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) return false;
  bool connected = ::connect(fd, address, length) == 0;
  if (!connected && errno == EINPROGRESS) {
    const auto deadline = deadline_after(timeout);
    pollfd p{fd, POLLOUT, 0};
    int ready = 0;
    for (;;) {
      ready = ::poll(&p, 1, poll_timeout(time_left(deadline)));
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0 && time_left(deadline).count() > 0) continue;  // longer than one poll waits
      break;
    }
    int error = 0;
    socklen_t size = sizeof error;
    if (ready == 0) {
      errno = ETIMEDOUT;
    } else if (ready > 0 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0) {
      connected = error == 0;
      if (!connected) errno = error;
    }
  }
  if (!connected) return false;
  return ::fcntl(fd, F_SETFL, flags) == 0;
}

}  // namespace portask::client
