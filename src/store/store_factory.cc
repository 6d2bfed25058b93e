#include "store/sqlite/sqlite_store.h"
#include "store/store.h"

namespace hookd {

Result<std::unique_ptr<Store>> OpenStore(std::string_view url) {
  if (url.starts_with("sqlite:")) {
    std::string path(url.substr(7));
    if (path.starts_with("//")) path = path.substr(2);  // sqlite:///abs/path
    if (path.empty()) return MakeError(ErrorCode::kInvalidArgument, "--db sqlite: needs a file path");
    auto s = SqliteStore::Open(path);
    if (!s) return std::unexpected(s.error());
    return std::unique_ptr<Store>(std::move(*s));
  }
  if (url.starts_with("postgres://") || url.starts_with("postgresql://"))
    return MakeError(ErrorCode::kInvalidArgument,
                     "PostgreSQL is not supported by this build yet; use sqlite:<path>");
  return MakeError(ErrorCode::kInvalidArgument,
                   "unknown --db URL (expected sqlite:<path>, e.g. sqlite:./hookd.db)");
}

}  // namespace hookd
