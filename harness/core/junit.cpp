// JUnit XML as lbharness writes it, and the merge of shards' files (read with Boost.PropertyTree,
// the one XML reader Boost has).
#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "harness/core/report.hpp"

namespace lbh {

namespace pt = boost::property_tree;

std::string write_junit(const std::vector<JunitSuite>& suites) {
  std::size_t tests = 0, failures = 0;
  double seconds = 0;
  for (const auto& s : suites)
    for (const auto& c : s.cases) ++tests, failures += c.failure.has_value(), seconds += c.seconds;
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format("<testsuites name=\"lbharness\" tests=\"{}\" failures=\"{}\" time=\"{:.3f}\">\n", tests, failures,
                     seconds);
  for (const auto& s : suites) {
    std::size_t failed = 0;
    double suite_seconds = 0;
    for (const auto& c : s.cases) failed += c.failure.has_value(), suite_seconds += c.seconds;
    out += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" time=\"{:.3f}\">\n",
                       xml_escape(s.name), s.cases.size(), failed, suite_seconds);
    for (const auto& c : s.cases) {
      out += fmt::format("    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" time=\"{:.3f}\"", xml_escape(c.classname),
                         xml_escape(c.name), xml_escape(c.file), c.seconds);
      if (!c.failure) {
        out += "/>\n";
        continue;
      }
      out += fmt::format(">\n      <failure message=\"{}\" type=\"expectation\">{}</failure>\n    </testcase>\n",
                         xml_escape(*c.failure), xml_escape(c.failure_text));
    }
    out += "  </testsuite>\n";
  }
  return out + "</testsuites>\n";
}

namespace {

// The suites of one file; an error names what is not as lbharness writes it.
std::optional<std::vector<JunitSuite>> read_junit(const std::string& path, const std::string& text,
                                                  std::string& error) {
  std::istringstream in(text);
  pt::ptree doc;
  try {
    pt::read_xml(in, doc);
  } catch (const pt::xml_parser_error& e) {
    error = fmt::format("{}:{}: not XML: {}", path, e.line(), e.message());
    return std::nullopt;
  }
  const auto root = doc.get_child_optional("testsuites");
  if (!root || doc.size() != 1) {
    error = fmt::format("{}: expected one <testsuites> element, as lbharness --junit writes", path);
    return std::nullopt;
  }
  std::vector<JunitSuite> suites;
  for (const auto& [tag, suite] : *root) {
    if (tag == "<xmlattr>" || tag == "<xmlcomment>") continue;
    if (tag != "testsuite") {
      error = fmt::format("{}: <{}> in <testsuites>: expected <testsuite>", path, tag);
      return std::nullopt;
    }
    JunitSuite s{suite.get<std::string>("<xmlattr>.name", ""), {}};
    for (const auto& [ctag, c] : suite) {
      if (ctag == "<xmlattr>" || ctag == "<xmlcomment>") continue;
      if (ctag != "testcase") {
        error = fmt::format("{}: <{}> in <testsuite name=\"{}\">: expected <testcase>", path, ctag, s.name);
        return std::nullopt;
      }
      JunitCase jc;
      jc.classname = c.get<std::string>("<xmlattr>.classname", "");
      jc.name = c.get<std::string>("<xmlattr>.name", "");
      jc.file = c.get<std::string>("<xmlattr>.file", "");
      const auto time = c.get<std::string>("<xmlattr>.time", "0");
      char* end = nullptr;
      jc.seconds = std::strtod(time.c_str(), &end);
      if (end != time.c_str() + time.size() || time.empty()) {
        error = fmt::format("{}: testcase \"{}\": time=\"{}\" is not a number of seconds", path, jc.name, time);
        return std::nullopt;
      }
      if (const auto f = c.get_child_optional("failure")) {
        jc.failure = f->get<std::string>("<xmlattr>.message", "");
        jc.failure_text = f->get_value<std::string>();
      }
      s.cases.push_back(std::move(jc));
    }
    suites.push_back(std::move(s));
  }
  return suites;
}

}  // namespace

std::optional<std::string> merge_junit(const std::vector<std::pair<std::string, std::string>>& files,
                                       std::string& error) {
  std::vector<JunitSuite> merged;
  for (const auto& [path, text] : files) {
    auto suites = read_junit(path, text, error);
    if (!suites) return std::nullopt;
    for (auto& s : *suites) {
      auto it = std::find_if(merged.begin(), merged.end(), [&](const JunitSuite& m) { return m.name == s.name; });
      if (it == merged.end()) {
        merged.push_back(std::move(s));
      } else {
        for (auto& c : s.cases) it->cases.push_back(std::move(c));
      }
    }
  }
  return write_junit(merged);
}

}  // namespace lbh
