// The SQLite store's write engine — the SQL lives in sqlite_store.cc. Invariants:
//   - one writer thread owns the only write connection; every write is a Job queued to it, and
//     it commits all the jobs queued since its last commit in one transaction (group commit,
//     at most kMaxJobsPerCommit);
//   - a job is finished (its caller answered) only after its group committed and, for a
//     durable job, after an fdatasync of the WAL that the syncer thread ran *after* that commit
//     (one fsync covers every group committed before it; the writer commits with
//     synchronous=NORMAL, so SQLite itself never syncs);
//   - groups are finished in commit order; after a failed fdatasync nothing is acknowledged as
//     durable again until a restart;
//   - a job that fails after it changed rows never leaves them: its group is rolled back and
//     run again with one savepoint per job;
//   - WAL checkpoints run on their own thread (PASSIVE), and the writer restarts the log
//     between two groups once it passes kRestartPages.
#include "store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "core/clock.h"

namespace hookd {
using sqlite::Db;
using sqlite::Stmt;

namespace {
constexpr size_t kMaxJobsPerCommit = 4096;
}  // namespace

void SqliteStore::SyncLoop() {
  std::vector<Group> groups;
  for (;;) {
    {
      std::unique_lock lock(sync_mu_);
      sync_cv_.wait(lock, [&] { return sync_closing_ || !synced_queue_.empty(); });
      if (synced_queue_.empty()) break;  // closing and drained
      groups.clear();
      for (auto& g : synced_queue_) groups.push_back(std::move(g));
      synced_queue_.clear();
    }
    // One fdatasync of the WAL for every group committed since the last one: they are all
    // in it (the writer commits with synchronous=NORMAL, which writes the WAL but does not
    // sync it).
    std::optional<Error> sync_error;
    if (std::any_of(groups.begin(), groups.end(), [](const Group& g) { return g.durable && !g.failure; })) {
      if (auto r = SyncWal(); !r) sync_error = r.error();
    }
    for (Group& g : groups) {
      const Error* e = g.failure ? &*g.failure : (g.durable && sync_error ? &*sync_error : nullptr);
      for (Job& job : g.jobs) job.finish(e);
    }
  }
}

Result<void> SqliteStore::SyncWal() {
  if (sync_failed_)
    return MakeError(ErrorCode::kUnavailable, "the database's disk failed to sync earlier; restart hookd");
  if (wal_fd_ < 0) {
    // The WAL file lives as long as the writer's connection (SQLite deletes it only when
    // the last connection closes): one descriptor serves until Close().
    wal_fd_ = wal_path_.empty() ? -1 : ::open(wal_path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (wal_fd_ < 0)
      return MakeError(ErrorCode::kInternal, "cannot open the WAL (" + wal_path_ + ") to sync it: " + std::strerror(errno));
    // Its directory entry too, once (SQLite's own full sync does the same for a new journal).
    if (int d = ::open(db_dir_.empty() ? "." : db_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); d >= 0) {
      (void)::fsync(d);
      ::close(d);
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = ::fdatasync(wal_fd_);
  const int err = errno;
  if (auto* h = m_sync_seconds_.load(std::memory_order_relaxed))
    h->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  if (auto* c = m_syncs_.load(std::memory_order_relaxed)) c->Inc();
  if (rc != 0) {
    // After a failed fsync the kernel may have dropped the dirty pages and a later fsync
    // may "succeed" without them: nothing is acknowledged as durable from here on.
    sync_failed_ = true;
    spdlog::critical("store: fdatasync of the WAL failed ({}); no write is acknowledged until hookd restarts",
                     std::strerror(err));
    return MakeError(ErrorCode::kUnavailable, "the database's disk failed to sync; restart hookd");
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  const auto now = std::chrono::steady_clock::now();
  if (ms >= 100 && now - last_slow_sync_log_ > std::chrono::minutes(1)) {
    spdlog::warn("store: an fdatasync of the WAL took {} ms: every write waiting on it did too", ms);
    last_slow_sync_log_ = now;
  }
  return {};
}

void SqliteStore::CheckpointLoop() {
  std::unique_lock lock(mu_);
  while (!closing_) {
    checkpoint_cv_.wait_for(lock, std::chrono::seconds(5),
                            [&] { return closing_ || wal_pages_ >= kCheckpointPages; });
    if (closing_) break;
    if (wal_pages_ == 0) continue;
    lock.unlock();
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(checkpoint_db_->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                       &log, &done);

    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
      spdlog::warn("store: checkpoint failed: {}", sqlite3_errmsg(checkpoint_db_->raw()));
    lock.lock();
    // The writer's hook reports the new size after its next commit; until then assume the
    // copied frames are done with.
    if (rc == SQLITE_OK && done >= log) wal_pages_ = 0;
    // Pace: a checkpoint held back by a reader is retried shortly, not in a loop.
    checkpoint_cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return closing_; });
  }
}

void SqliteStore::Enqueue(Job job) {
  {
    std::lock_guard lock(mu_);
    if (!closing_) {
      queue_.push_back(std::move(job));
      cv_.notify_one();
      return;
    }
  }
  Error e{ErrorCode::kUnavailable, "store is closing", {}};
  job.finish(&e);
}

SqliteStore::GroupRun SqliteStore::CommitGroup(Db& db, std::vector<Job>& batch, bool isolated,
                                               std::optional<Error>& failure, bool& io_error) {
  failure.reset();
  if (auto r = db.ExecScript("BEGIN IMMEDIATE"); !r) {
    failure = r.error();
    return GroupRun::kDone;
  }
  Stmt* sp = nullptr;
  Stmt* release = nullptr;
  Stmt* rollback = nullptr;
  if (isolated) {
    auto a = db.Prepare("SAVEPOINT job");
    auto b = db.Prepare("RELEASE job");
    auto c = db.Prepare("ROLLBACK TO job");
    if (!a || !b || !c) {
      failure = Error{ErrorCode::kInternal, "cannot prepare savepoints", {}};
      (void)db.ExecScript("ROLLBACK");
      return GroupRun::kDone;
    }
    sp = *a, release = *b, rollback = *c;
  }
  for (Job& job : batch) {
    if (isolated) {
      sp->Reset();
      if (auto r = sp->Exec(); !r) {
        failure = r.error();
        break;
      }
    }
    const int64_t changes_before = sqlite3_total_changes64(db.raw());
    const bool ok = job.apply(db);
    if (!ok) {
      const int rc = sqlite3_errcode(db.raw()) & 0xff;
      if (rc == SQLITE_IOERR || rc == SQLITE_FULL) io_error = true;
    }
    db.ResetAll();
    if (isolated) {
      if (!ok) {
        rollback->Reset();
        (void)rollback->Exec();
      }
      release->Reset();
      (void)release->Exec();
    } else if (!ok && (sqlite3_get_autocommit(db.raw()) ||
                       sqlite3_total_changes64(db.raw()) != changes_before)) {
      // It left rows behind (or SQLite ended the transaction on an I/O error): no savepoint
      // to undo just this job, so undo the group and let the caller run it isolated.
      if (!sqlite3_get_autocommit(db.raw())) (void)db.ExecScript("ROLLBACK");
      return GroupRun::kRedoIsolated;
    }
  }
  if (!failure) {
    if (auto r = db.ExecScript("COMMIT"); !r) failure = r.error();
  }
  if (failure && !sqlite3_get_autocommit(db.raw())) (void)db.ExecScript("ROLLBACK");
  return GroupRun::kDone;
}

void SqliteStore::WriterLoop() {
  Db& db = *writer_db_;
  std::vector<Job> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) break;  // closing and drained
      size_t n = std::min(queue_.size(), kMaxJobsPerCommit);
      batch.clear();
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    std::optional<Error> failure;
    bool io_error = false;
    const int64_t changes_before = sqlite3_total_changes64(db.raw());
    const auto commit_t0 = std::chrono::steady_clock::now();
    if (CommitGroup(db, batch, /*isolated=*/false, failure, io_error) == GroupRun::kRedoIsolated) {
      // A job failed after it had written: run the group again with each job in its own
      // savepoint, so that only the failed one is undone.
      spdlog::warn("store: a write failed after it had changed rows; its group of {} is run again, each in a savepoint",
                   batch.size());
      (void)CommitGroup(db, batch, /*isolated=*/true, failure, io_error);
    }
    {
      // Every request in the batch waited this long: a slow disk shows up here first.
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - commit_t0).count();
      const auto now = std::chrono::steady_clock::now();
      if (ms >= 100 && now - last_slow_commit_log_ > std::chrono::minutes(1)) {
        spdlog::warn("store: a group commit of {} requests took {} ms (before its fdatasync)", batch.size(), ms);
        last_slow_commit_log_ = now;
      }
    }
    // Writes fail for want of I/O until a group commits that wrote something.
    if ((failure && failure->code == ErrorCode::kUnavailable) || io_error)
      writes_failing_.store(true, std::memory_order_relaxed);
    else if (!failure && sqlite3_total_changes64(db.raw()) != changes_before)
      writes_failing_.store(false, std::memory_order_relaxed);
    if (failure) {
      if (auto v = commit_error_log_.Check(failure->message, MonotonicMs()))
        spdlog::error("store: group commit of {} jobs failed: {}{}", batch.size(), failure->message, v.Suffix());
    }
    if (auto* c = m_commits_.load(std::memory_order_relaxed); c && !failure) c->Inc();
    if (auto* c = m_writes_.load(std::memory_order_relaxed); c && !failure) c->Inc(batch.size());
    // Finished by the syncer, after the fdatasync that makes the group durable, while this
    // thread goes on with the next group.
    {
      Group g{std::move(batch), std::move(failure), false};
      g.durable = std::any_of(g.jobs.begin(), g.jobs.end(), [](const Job& j) { return j.durable; });
      std::lock_guard lock(sync_mu_);
      synced_queue_.push_back(std::move(g));
    }
    sync_cv_.notify_one();
    batch.clear();  // moved from: valid, and empty once cleared
    // Under steady writes the passive checkpointer never reaches the WAL's end, so SQLite
    // never starts the log over and the file grows without bound. Past kRestartPages the
    // writer itself runs a RESTART checkpoint between two group commits (most frames are
    // already copied by then) and the log starts over; journal_size_limit trims the file.
    bool restart = false;
    {
      std::lock_guard lock(mu_);
      restart = wal_pages_ >= kRestartPages;
    }
    if (restart) {
      int log = 0, done = 0;
      const auto t0 = std::chrono::steady_clock::now();
      int rc = sqlite3_wal_checkpoint_v2(db.raw(), nullptr, SQLITE_CHECKPOINT_RESTART, &log, &done);
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
      // Writes wait meanwhile: say so when it is long enough to be seen in their latency.
      if (ms >= 50) spdlog::info("store: WAL restart checkpoint took {} ms ({} frames)", ms, log);
      if (rc == SQLITE_OK) {
        std::lock_guard lock(mu_);
        wal_pages_ = 0;
      } else if (rc != SQLITE_BUSY) {
        spdlog::warn("store: restart checkpoint failed: {}", sqlite3_errmsg(db.raw()));
      }
    }
  }
}

}  // namespace hookd
