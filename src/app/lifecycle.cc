#include "app/lifecycle.h"

#include <map>

#include <fmt/format.h>

namespace hookd {

Result<void> Lifecycle::StartAll() {
  std::map<std::string, size_t> by_name;
  for (size_t i = 0; i < components_.size(); ++i) {
    if (!by_name.emplace(components_[i].name, i).second)
      return MakeError(ErrorCode::kInvalidArgument, fmt::format("component '{}' is declared twice", components_[i].name));
  }
  for (const auto& c : components_) {
    for (const auto& dep : c.after)
      if (!by_name.contains(dep))
        return MakeError(ErrorCode::kInvalidArgument,
                         fmt::format("component '{}' needs '{}', which is not declared", c.name, dep));
  }
  // Depth-first topological order; 0 unvisited, 1 on the current path, 2 placed.
  std::vector<int> mark(components_.size(), 0);
  std::vector<size_t> order;
  std::vector<std::string> path;
  std::function<Result<void>(size_t)> visit = [&](size_t i) -> Result<void> {
    if (mark[i] == 2) return {};
    path.push_back(components_[i].name);
    if (mark[i] == 1)
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("components depend on each other in a cycle: {}", fmt::join(path, " -> ")));
    mark[i] = 1;
    for (const auto& dep : components_[i].after)
      if (auto r = visit(by_name.at(dep)); !r) return r;
    mark[i] = 2;
    path.pop_back();
    order.push_back(i);
    return {};
  };
  for (size_t i = 0; i < components_.size(); ++i)
    if (auto r = visit(i); !r) return r;

  for (size_t i : order) {
    Component& c = components_[i];
    if (c.start) {
      if (auto r = c.start(); !r) {
        StopAll();
        Error e = r.error();
        e.message = fmt::format("{}: {}", c.name, e.message);
        return std::unexpected(std::move(e));
      }
    }
    started_.push_back(i);
    started_names_.push_back(c.name);
  }
  return {};
}

void Lifecycle::StopAll() {
  while (!started_.empty()) {
    Component& c = components_[started_.back()];
    started_.pop_back();
    if (c.stop) c.stop();
  }
}

}  // namespace hookd
