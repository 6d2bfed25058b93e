#pragma once
// The long-running parts of `hookd serve` (store, dispatcher, API server, …) and what each
// needs running before it starts — declared, not implied by the order of lines (userver's
// component dependencies, in small). StartAll() starts them so that every component starts
// after those it names in `after`; StopAll() stops them in the reverse order, so nothing is
// stopped while something started after it (and maybe using it) still runs.
//
// Not thread-safe: the composition root's thread only.

#include <functional>
#include <string>
#include <vector>

#include "core/error.h"

namespace hookd {

class Lifecycle {
 public:
  struct Component {
    std::string name;
    std::vector<std::string> after;  // names of the components that must be running first
    std::function<Result<void>()> start;  // may be empty (a component with only a stop)
    std::function<void()> stop;           // may be empty
  };

  ~Lifecycle() { StopAll(); }

  void Add(Component c) { components_.push_back(std::move(c)); }

  // Starts every component, dependencies first (among independent ones, in the order added).
  // kInvalidArgument naming the culprit for an unknown dependency or a cycle — before anything
  // starts. When a start fails, those already started are stopped (in reverse) and its error
  // is returned, prefixed with the component's name.
  Result<void> StartAll();
  // Stops what was started, in the reverse order. Idempotent.
  void StopAll();

  // The names in the order StartAll() started them.
  const std::vector<std::string>& Started() const { return started_names_; }

 private:
  std::vector<Component> components_;
  std::vector<size_t> started_;  // indexes into components_, in start order
  std::vector<std::string> started_names_;
};

}  // namespace hookd
