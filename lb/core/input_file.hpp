#pragma once
// The one reader of the files users hand the programs (lb's configs, mockserver's spec files,
// lbharness's scenarios and logs): bounded, so that a directory, /proc/self/mem or /dev/zero
// gives an error naming the file instead of an exception, a hang or unbounded memory.
#include <cstddef>
#include <string>

namespace lb::core {

// Larger input files are refused: the biggest real ones are a few hundred kB.
constexpr std::size_t kMaxInputFile = 64 * 1024 * 1024;

struct InputFile {
  std::string text;
  int error = 0;  // errno of the failure (EISDIR for a directory, EFBIG over the limit); 0 = read
  explicit operator bool() const { return error == 0; }
  // "Is a directory", "larger than 67108864 bytes", ...
  std::string reason() const;
};

InputFile read_input_file(const std::string& path, std::size_t limit = kMaxInputFile);

}  // namespace lb::core
