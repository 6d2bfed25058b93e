#include "store/audit_rows.h"

#include <boost/json.hpp>

#include "core/json_util.h"

namespace hookd::audit_rows {

std::string ChangesToJson(const std::vector<std::string>& changes) {
  boost::json::array a;
  for (const auto& c : changes) a.emplace_back(c);
  return ToJson(a);
}

std::vector<std::string> ChangesFromJson(std::string_view json) {
  std::vector<std::string> out;
  auto v = ParseJson(json);
  if (!v || !v->is_array()) return out;
  for (const auto& x : v->get_array())
    if (x.is_string()) out.emplace_back(x.get_string());
  return out;
}

Page<AuditEntry> MakeAuditPage(std::vector<AuditEntry> rows, int limit) {
  Page<AuditEntry> page;
  if (static_cast<int>(rows.size()) > limit) {
    rows.resize(limit);
    page.next_cursor = rows.back().id.str();
  }
  page.items = std::move(rows);
  return page;
}

}  // namespace hookd::audit_rows
