// The PostgreSQL store's write engine — the SQL lives in postgres_store.cc. Invariants:
//   - one writer thread owns the write connection; every write is a Job queued to it, and it
//     commits all the jobs queued since its last commit in one transaction (group commit, at
//     most kMaxJobsPerCommit); consecutive plain ingests and outcome batches share their
//     statements (one multi-row statement per table for the run, Job::Mergeable), except in a
//     redo, where each runs alone in its savepoint;
//   - a first run pipelines (Conn::SetPipelining): BEGIN and every statement whose result
//     nobody reads (Conn::Send) wait in libpq's queue and go with the next statement whose
//     result is read, or with COMMIT — a group of ingests and delivery outcomes is one round
//     trip (an outcome batch's fencing answer is read then: Conn::Send's OnRows); a queued
//     statement's error surfaces at that later call (the transaction then aborted: redo);
//   - a job is finished (its caller answered) only after COMMIT returned — with
//     synchronous_commit = on, after the server flushed the WAL; jobs are finished in order;
//     a group of non-durable jobs only (dispatch outcomes) commits with synchronous_commit =
//     off: COMMIT returns without waiting for the flush (Job::durable);
//   - a job that fails after it changed rows, or whose SQL error aborted the transaction,
//     never leaves anything: its group is rolled back and run again with one savepoint per job;
//   - the writer connection is checked before each group and replaced when the server closed
//     it; a group whose connection fails midway is answered kUnavailable (its outcome unknown
//     once its pipeline, or in a redo its COMMIT, was sent).
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
constexpr const char* kNotifySql = "SELECT pg_notify($1::text, $2::text)";

// `notices` sent in a transaction of their own that does not wait for the WAL flush (a
// notice is not data: lost with a server crash, it is made up for by the read-back every
// listener does when it reconnects).
std::vector<Conn::Statement> NoticeStatements(const std::vector<std::string>& notices) {
  std::vector<Conn::Statement> out;
  if (notices.empty()) return out;
  out.reserve(notices.size() + 3);
  out.push_back({"BEGIN", {}});
  out.push_back({"SET LOCAL synchronous_commit = off", {}});
  for (const std::string& n : notices) out.push_back({kNotifySql, pg::Params().Text(pg::kNoticeChannel).Text(n)});
  out.push_back({"COMMIT", {}});
  return out;
}
}  // namespace

bool PostgresStore::SendUnsentNotices() {
  if (unsent_notices_.empty()) return true;
  if (auto ready = PrepareToWrite(); !ready) return false;
  Conn& db = *writer_db_;
  if (auto r = db.Run(NoticeStatements(unsent_notices_)); !r) {
    if (db.Broken()) writer_db_.reset();
    if (auto v = notice_error_log_.Check("again", MonotonicMs()))
      spdlog::warn("store: {} notices of committed deliveries still not sent ({}); trying again{}",
                   unsent_notices_.size(), r.error().message, v.Suffix());
    return false;
  }
  spdlog::info("store: {} notices of committed deliveries sent late", unsent_notices_.size());
  unsent_notices_.clear();
  return true;
}

void PostgresStore::CountFenced() {
  if (fenced_in_group_ == 0) return;
  if (auto* c = m_fenced_.load(std::memory_order_relaxed)) c->Inc(fenced_in_group_);
  if (auto v = fenced_log_.Check("fenced", MonotonicMs()))
    spdlog::warn("store: {} delivery outcomes refused: this node no longer holds their shards' leases (their "
                 "new owner sends them again){}", fenced_in_group_, v.Suffix());
  fenced_in_group_ = 0;
}

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
  fenced_in_group_ = 0;  // a redo counts again
  std::vector<std::string> merged_notices;  // of the ingests written by ApplyMerged
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
        const bool ok = ApplyMerged(db, std::span<Job>(batch).subspan(i, end - i), merged_notices);
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
    // The ingests' notices, in a transaction of their own once theirs committed, in the same
    // round trip: PostgreSQL commits transactions that NOTIFY one at a time, under one lock held
    // across the WAL flush — sent inside, every node's ingests waited for the others' flushes.
    // Alone, with synchronous_commit off, that lock is held for microseconds.
    const size_t earlier = unsent_notices_.size();
    std::vector<std::string> notices = std::move(unsent_notices_);  // an earlier group's first
    unsent_notices_.clear();
    auto take = [&](std::vector<std::string>& more) {
      notices.insert(notices.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
      more.clear();
    };
    take(merged_notices);
    for (Job& job : batch)
      if (job.ingest && !job.undone && job.ingest->result && job.ingest->result->has_value()) take(job.ingest->notices);
    const std::vector<Conn::Statement> after = NoticeStatements(notices);
    std::optional<Error> after_error;
    if (auto r = db.Commit(after, &after_error); !r) {
      if (!db.Broken() && db.TransactionFailed()) {
        // A statement queued before COMMIT failed (COMMIT itself was skipped): find which.
        (void)db.ExecScript("ROLLBACK");
        notices.resize(earlier);
        unsent_notices_ = std::move(notices);
        return GroupRun::kRedoIsolated;
      }
      failure = r.error();
      notices.resize(earlier);  // an earlier group's, which did commit: still to send
      unsent_notices_ = std::move(notices);
    } else {
      if (after_error) {  // committed, but the notices did not go: the writer sends them again
        unsent_notices_ = std::move(notices);
        if (auto v = notice_error_log_.Check("after", MonotonicMs()))
          spdlog::warn("store: {} notices of committed deliveries not sent ({}); sending them again{}",
                       unsent_notices_.size(), after_error->message, v.Suffix());
      }
    }
    if (!failure) CountFenced();
    if (!failure && durable) {
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
      auto work = [&] { return closing_ || !queue_.empty(); };
      if (unsent_notices_.empty()) {
        cv_.wait(lock, work);
      } else if (!cv_.wait_for(lock, std::chrono::seconds(1), work)) {
        lock.unlock();
        (void)SendUnsentNotices();  // no group to carry them: alone, every second until they go
        continue;
      }
      if (queue_.empty()) {  // closing and drained
        lock.unlock();
        (void)SendUnsentNotices();
        break;
      }
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
    // Committed ingests whose notices did not go: once more, on a new connection if need be,
    // before they are answered — so a client that waits for its 202 before posting the next
    // event of an employee (to any node) still has them announced in that order.
    if (!unsent_notices_.empty()) (void)SendUnsentNotices();
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
