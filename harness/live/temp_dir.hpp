#pragma once
// A fresh directory under the system temp dir, removed with the object: where the live worlds
// write the rendered config, and where the tests write their files.
#include <filesystem>
#include <string_view>

namespace lbh {

class TempDir {
 public:
  TempDir();  // throws std::runtime_error when no directory can be made
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  // Writes `content` to `name` inside the directory and returns its path; throws when it cannot.
  std::filesystem::path write(std::string_view name, std::string_view content) const;

 private:
  std::filesystem::path path_;
};

}  // namespace lbh
