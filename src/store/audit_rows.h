#pragma once
// What both backends' audit SQL shares: the `changes` column's JSON form and the page of rows.

#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace hookd::audit_rows {

// ["url","headers"]; and back (anything but an array of strings reads as none).
std::string ChangesToJson(const std::vector<std::string>& changes);
std::vector<std::string> ChangesFromJson(std::string_view json);
// `rows` fetched with limit + 1: the page, with a cursor when there was one more.
Page<AuditEntry> MakeAuditPage(std::vector<AuditEntry> rows, int limit);

}  // namespace hookd::audit_rows
