// The PostgreSQL store's write engine — the SQL lives in postgres_store.cc. Invariants:
//   - one writer thread owns the write connection; every write is a Job queued to it, and it
//     commits all the jobs queued since its last commit in one transaction (group commit, at
//     most kMaxJobsPerCommit); consecutive plain ingests and outcome batches share their
//     statements (one multi-row statement per table for the run, Job::Mergeable), except in a
//     redo, where each runs alone in its savepoint;
//   - a job is finished (its caller answered) only after COMMIT returned — with
//     synchronous_commit = on, after the server flushed the WAL; jobs are finished in order;
//     a group of non-durable jobs only (dispatch outcomes) commits with synchronous_commit =
//     off: COMMIT returns without waiting for the flush (Job::durable);
//   - a job that fails after it changed rows, or whose SQL error aborted the transaction,
//     never leaves anything: its group is rolled back and run again with one savepoint per job;
//   - the writer connection is checked before each group and replaced when the server closed
//     it; a group whose connection fails midway is
//     answered kUnavailable (its outcome unknown only if COMMIT itself was cut off).
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "store/postgres/postgres_store.h"

namespace hookd {
using pg::Conn;

namespace {
constexpr size_t kMaxJobsPerCommit = 4096;
}  // namespace

void PostgresStore::Enqueue(Job job) {
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

Result<void> PostgresStore::PrepareToWrite() {
  if (!writer_db_ || !writer_db_->Alive()) {
    if (writer_db_) spdlog::warn("store: the PostgreSQL writer connection was closed; reconnecting");
    writer_db_.reset();
    auto c = Conn::Open(url_, "hookd writer");
    if (!c) return std::unexpected(c.error());
    writer_db_ = std::move(*c);
  }
  return {};
}

PostgresStore::GroupRun PostgresStore::CommitGroup(Conn& db, std::vector<Job>& batch, bool isolated,
                                                   std::optional<Error>& failure) {
  failure.reset();
  for (Job& job : batch) job.undone.reset();
  const bool durable = std::any_of(batch.begin(), batch.end(), [](const Job& j) { return j.durable; });
  // A first run pipelines: BEGIN and the statements whose results nobody reads wait for the
  // next one whose result is read, or for COMMIT. A redo runs each statement alone.
  db.SetPipelining(!isolated);
  struct PipeliningOff {
    Conn& db;
    ~PipeliningOff() { db.SetPipelining(false); }
  } pipelining_off{db};
  Result<void> begun = db.Send("BEGIN");
  if (begun && !durable) begun = db.Send("SET LOCAL synchronous_commit = off");
  if (!begun) {
    failure = begun.error();
    if (!db.Broken() && db.InTransaction()) (void)db.ExecScript("ROLLBACK");
    return db.Broken() ? GroupRun::kNotStarted : GroupRun::kDone;
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    Job& job = batch[i];
    if (!isolated && job.Mergeable()) {
      size_t end = i + 1;
      while (end < batch.size() && batch[end].Mergeable()) ++end;
      if (end - i > 1) {  // plain ingests and outcome batches: one statement per table for the run
        const bool ok = ApplyMerged(db, std::span<Job>(batch).subspan(i, end - i));
        if (db.Broken()) {
          failure = Error{ErrorCode::kUnavailable, "postgres: the connection was lost during a write", {}};
          return GroupRun::kDone;
        }
        if (!ok) {  // one of them failed (an SQL error: the transaction is aborted); find which
          (void)db.ExecScript("ROLLBACK");
          return GroupRun::kRedoIsolated;
        }
        i = end - 1;
        continue;
      }
    }
    if (isolated) {
      if (auto r = db.ExecScript("SAVEPOINT job"); !r) {
        failure = r.error();
        break;
      }
    }
    const int64_t changes_before = db.total_changes();
    bool ok = job.apply(db);
    if (db.Broken()) {
      failure = Error{ErrorCode::kUnavailable, "postgres: the connection was lost during a write", {}};
      return GroupRun::kDone;
    }
    if (ok && db.TransactionFailed()) {
      // The job swallowed an SQL error: its work is undone with the transaction's.
      ok = false;
      job.undone = Error{ErrorCode::kInternal, "postgres: a write failed and was undone", {}};
    }
    if (isolated) {
      if (!ok) {
        if (auto r = db.ExecScript("ROLLBACK TO SAVEPOINT job"); !r) {
          failure = r.error();
          break;
        }
      }
      if (auto r = db.ExecScript("RELEASE SAVEPOINT job"); !r) {
        failure = r.error();
        break;
      }
    } else if (!ok && (db.TransactionFailed() || db.total_changes() != changes_before)) {
      // No savepoint to undo just this job: undo the group and let the caller run it isolated.
      (void)db.ExecScript("ROLLBACK");
      return GroupRun::kRedoIsolated;
    }
  }
  if (!failure) {
    const auto t0 = std::chrono::steady_clock::now();
    if (auto r = db.Commit(); !r) {
      if (!db.Broken() && db.TransactionFailed()) {
        // A statement queued before COMMIT failed (COMMIT itself was skipped): find which.
        (void)db.ExecScript("ROLLBACK");
        return GroupRun::kRedoIsolated;
      }
      failure = r.error();
    } else if (durable) {
      if (auto* c = m_syncs_.load(std::memory_order_relaxed)) c->Inc();
      if (auto* h = m_sync_seconds_.load(std::memory_order_relaxed))
        h->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  if (failure && !db.Broken() && db.InTransaction()) (void)db.ExecScript("ROLLBACK");
  return GroupRun::kDone;
}

void PostgresStore::WriterLoop() {
  std::vector<Job> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) break;  // closing and drained
      const size_t n = std::min(queue_.size(), kMaxJobsPerCommit);
      batch.clear();
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    std::optional<Error> failure;
    if (auto ready = PrepareToWrite(); !ready) {
      failure = ready.error();
    } else {
      GroupRun run = CommitGroup(*writer_db_, batch, /*isolated=*/false, failure);
      if (run == GroupRun::kNotStarted) {
        // The connection was found closed at BEGIN (the server restarted since the last
        // check): nothing of this group was sent, so once more on a new connection.
        writer_db_.reset();
        if (auto again = PrepareToWrite(); !again) failure = again.error();
        else run = CommitGroup(*writer_db_, batch, /*isolated=*/false, failure);
      }
      if (writer_db_ && run == GroupRun::kRedoIsolated) {
        Conn& db = *writer_db_;
        spdlog::debug("store: a write failed; its group of {} is run again, each in a savepoint", batch.size());
        (void)CommitGroup(db, batch, /*isolated=*/true, failure);
      }
      if (writer_db_ && writer_db_->Broken()) writer_db_.reset();  // the next group reconnects
    }
    if (failure && failure->code == ErrorCode::kUnavailable)
      writes_failing_.store(true, std::memory_order_relaxed);
    else if (!failure)
      writes_failing_.store(false, std::memory_order_relaxed);
    if (failure) {
      if (auto v = commit_error_log_.Check(failure->message, MonotonicMs()))
        spdlog::error("store: group commit of {} jobs failed: {}{}", batch.size(), failure->message, v.Suffix());
    } else {
      if (auto* c = m_commits_.load(std::memory_order_relaxed)) c->Inc();
      if (auto* c = m_writes_.load(std::memory_order_relaxed)) c->Inc(batch.size());
    }
    for (Job& job : batch) {
      const Error* e = failure ? &*failure : (job.undone ? &*job.undone : nullptr);
      job.finish(e);
    }
    batch.clear();
  }
}

}  // namespace hookd
