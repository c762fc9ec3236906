#include "lb/core/input_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace lb::core {

std::string InputFile::reason() const {
  if (error == EFBIG) return fmt::format("larger than {} bytes", kMaxInputFile);
  return std::strerror(error);
}

InputFile read_input_file(const std::string& path, std::size_t limit) {
  InputFile out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // a FIFO does not block the open
  if (fd < 0) {
    out.error = errno;
    return out;
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    out.error = EISDIR;
  } else {
    char buf[65536];
    while (true) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        out.error = errno == EAGAIN ? EWOULDBLOCK : errno;
        break;
      }
      if (n == 0) break;
      if (out.text.size() + static_cast<std::size_t>(n) > limit) {
        out.error = EFBIG;
        break;
      }
      out.text.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  if (out.error != 0) out.text.clear();
  return out;
}

}  // namespace lb::core
