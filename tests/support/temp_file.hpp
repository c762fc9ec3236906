#pragma once
#include <filesystem>
#include <string>
#include <string_view>

namespace lb::test {

// A fresh directory under the system temp dir, removed with the object.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  // Writes `content` to `name` inside the directory and returns its path.
  std::filesystem::path write(std::string_view name, std::string_view content) const;

 private:
  std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& p);

// Path of a file in the source tree (e.g. "tests/data/haproxy26/log_lines.tsv").
std::filesystem::path source_path(std::string_view relative);

}  // namespace lb::test
