#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"

namespace hookd {

Result<std::unique_ptr<Store>> OpenStore(std::string_view url, OpenOptions options) {
  if (url.starts_with("sqlite:")) {
    std::string path(url.substr(7));
    if (path.starts_with("//")) path = path.substr(2);  // sqlite:///abs/path
    if (path.empty()) return MakeError(ErrorCode::kInvalidArgument, "--db sqlite: needs a file path");
    auto s = SqliteStore::Open(path, options.exclusive, options.cipher);
    if (!s) return std::unexpected(s.error());
    return std::unique_ptr<Store>(std::move(*s));
  }
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    auto s = PostgresStore::Open(std::string(url), options.cipher);
    if (!s) return std::unexpected(s.error());
    return std::unique_ptr<Store>(std::move(*s));
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "unknown --db URL (expected sqlite:<path>, e.g. sqlite:./hookd.db, or postgres://…)");
}

std::string RedactStoreUrl(std::string_view url) {
  std::string out(url);
  // URL form: scheme://user:password@host/… → scheme://user:***@host/…
  if (size_t scheme = out.find("://"); scheme != std::string::npos) {
    const size_t start = scheme + 3;
    const size_t end = out.find_first_of("/?#", start);
    const size_t at = out.rfind('@', end == std::string::npos ? std::string::npos : end);
    if (at != std::string::npos && at >= start) {
      const size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // password=… as a URL query parameter or a libpq key=value setting.
  for (size_t pos = 0; (pos = out.find("password=", pos)) != std::string::npos;) {
    const bool starts_key = pos == 0 || out[pos - 1] == '?' || out[pos - 1] == '&' || out[pos - 1] == ' ';
    pos += 9;
    if (!starts_key) continue;
    size_t end = pos;
    if (end < out.size() && out[end] == '\'') {
      end = out.find('\'', end + 1);
      end = end == std::string::npos ? out.size() : end + 1;
    } else {
      end = out.find_first_of("& ", end);
      if (end == std::string::npos) end = out.size();
    }
    out.replace(pos, end - pos, "***");
    pos += 3;
  }
  return out;
}

}  // namespace hookd
