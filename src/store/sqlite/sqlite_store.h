#pragma once
// SQLite implementation of Store: one writer thread that commits everything queued in one
// transaction (group commit), a syncer thread that fdatasyncs the WAL before any of those
// writes is reported done (one fsync for many requests, and for every group committed while
// the previous fsync ran), and a small pool of read-only connections for queries (WAL
// readers never block the writer). The write engine (group commit, syncer, checkpoints) is in
// sqlite_group_commit.cc, the SQL in sqlite_store.cc.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite/sqlite_db.h"
#include "core/field_cipher.h"
#include "core/log_throttle.h"
#include "store/store.h"

namespace hookd {

class SqliteStore final : public Store {
 public:
  // `path`: a file name. Opens the writer connection and starts the writer thread.
  // `exclusive`, `cipher`: see OpenOptions (store.h).
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path, bool exclusive = false,
                                                   std::shared_ptr<const FieldCipher> cipher = nullptr);
  ~SqliteStore() override;

  Result<void> Migrate() override;
  Result<void> Ping() override;
  void Close() override;
  // hookd_store_commits_total, hookd_store_writes_total, hookd_store_syncs_total,
  // hookd_store_sync_seconds.
  void Instrument(metrics::Registry& registry) override;

  Result<void> InsertCompany(const Company& c, const AuditEntry* audit) override;
  Result<Company> GetCompany(const CompanyId& id) override;
  Result<Page<Company>> ListCompanies(const PageRequest& page) override;
  Result<Company> SetCompanyRetention(const CompanyId& id, std::optional<int64_t> retention_ms,
                                      const AuditEntry* audit) override;

  Result<void> InsertToken(const ApiToken& t, const AuditEntry* audit) override;
  Result<ApiToken> FindTokenByHash(std::string_view hash) override;
  Result<void> RevokeToken(const CompanyId& company, const TokenId& id, const AuditEntry* audit) override;
  Result<bool> HasOperatorToken() override;
  Result<int64_t> RevokeOperatorTokens(const std::optional<std::string>& keep, int64_t now_ms) override;
  Result<ApiToken> RevokeAnyToken(const TokenId& id, int64_t now_ms) override;
  Result<std::vector<ApiToken>> AllTokens() override;

  Result<void> InsertEventType(const EventTypeDef& def, const AuditEntry* audit) override;
  Result<std::vector<EventTypeDef>> ListEventTypes() override;

  Result<void> InsertEndpoint(const Endpoint& ep, const AuditEntry* audit) override;
  Result<int64_t> UpdateEndpointConfig(const Endpoint& ep, int64_t if_version, const AuditEntry* audit) override;
  Result<Endpoint> RotateEndpointSecret(const CompanyId& company, const EndpointId& id,
                                        const std::string& new_secret, int64_t grace_ms,
                                        int64_t now_ms, const AuditEntry* audit) override;
  Result<void> DeleteEndpoint(const CompanyId& company, const EndpointId& id, const AuditEntry* audit) override;
  Result<Endpoint> GetEndpoint(const CompanyId& company, const EndpointId& id) override;
  Result<Page<Endpoint>> ListEndpoints(const CompanyId& company, const PageRequest& page) override;
  Result<std::vector<Endpoint>> AllEndpoints(const std::optional<CompanyId>& company) override;
  Result<int64_t> EnableEndpoint(const CompanyId& company, const EndpointId& id, bool release_held,
                                 int64_t now_ms, const AuditEntry* audit) override;
  Result<int64_t> RecoverDeliveries(const CompanyId& company, const EndpointId& id,
                                    int64_t since_ms, int64_t now_ms, const AuditEntry* audit) override;

  void Ingest(IngestRequest req, IngestCallback done) override;
  Result<Event> GetEvent(const CompanyId& company, const EventId& id) override;
  Result<Page<Event>> ListEvents(const CompanyId& company, const EventQuery& q,
                                 const PageRequest& page) override;

  Result<Delivery> GetDelivery(const CompanyId& company, const DeliveryId& id) override;
  Result<Page<Delivery>> ListDeliveries(const CompanyId& company, const DeliveryQuery& q,
                                        const PageRequest& page) override;
  Result<Page<Attempt>> ListAttempts(const CompanyId& company, const DeliveryId& id,
                                     const PageRequest& page) override;
  Result<Delivery> RequeueDelivery(const CompanyId& company, const DeliveryId& id,
                                   int64_t now_ms, const AuditEntry* audit) override;
  Result<std::vector<OrderingBlocker>> OrderingBlockers(const CompanyId& company,
                                                        const std::vector<DeliveryId>& ids) override;
  Result<std::vector<AttemptStatsBucket>> EndpointAttemptStats(const CompanyId& company,
                                                               const EndpointId& id,
                                                               int64_t since_ms, int64_t until_ms,
                                                               int64_t bucket_ms) override;

  Result<PendingPage> LoadPending(const EndpointId& endpoint,
                                                   const std::string& after, int limit) override;
  Result<std::vector<std::pair<EventId, std::string>>> LoadPayloads(
      const std::vector<EventId>& ids) override;
  void ApplyDispatchUpdates(std::vector<DeliveryUpdate> updates, std::vector<EndpointHealth> health,
                            std::move_only_function<void(Result<void>)> done) override;
  Result<void> DisableEndpoint(const CompanyId& company, const EndpointId& id,
                               DisabledReason reason, int64_t now_ms, const AuditEntry* audit) override;

  Result<int64_t> PurgeExpired(int64_t cutoff_ms, int limit, const std::optional<CompanyId>& company) override;
  Result<std::vector<Company>> CompaniesWithOwnRetention() override;
  Result<int64_t> PurgeAuditLog(int64_t cutoff_ms, int limit) override;

  Result<void> AppendAudit(const AuditEntry& entry) override;
  Result<Page<AuditEntry>> ListAuditLog(const AuditQuery& q, const PageRequest& page) override;

  Result<std::vector<std::string>> EncryptionKeyIds() override;
  Result<void> RecordEncryptionKey(const std::string& key_id, int64_t now_ms) override;
  Result<void> ForgetEncryptionKey(const std::string& key_id) override;
  Result<RekeyBatchResult> RekeyBatch(SealedTable table, const std::string& after, int limit) override;

  Result<std::string> ErasureKey(const std::string& fresh) override;
  Result<void> InsertErasure(const Erasure& e, const AuditEntry* audit) override;
  Result<Erasure> GetErasure(const CompanyId& company, const ErasureId& id) override;
  Result<Page<Erasure>> ListErasures(const CompanyId& company, const PageRequest& page) override;
  Result<std::vector<Erasure>> RunningErasures() override;
  Result<ErasureBatchResult> EraseBatch(const ErasureId& id, int limit, int64_t now_ms) override;

  Result<void> InsertReplay(const Replay& r, const AuditEntry* audit) override;
  Result<Replay> GetReplay(const CompanyId& company, const ReplayId& id) override;
  Result<Page<Replay>> ListReplays(const CompanyId& company, const EndpointId& endpoint,
                                   const PageRequest& page) override;
  Result<ReplayProgress> GetReplayProgress(const CompanyId& company, const ReplayId& id) override;
  Result<Replay> CancelReplay(const CompanyId& company, const ReplayId& id, int64_t now_ms,
                              const AuditEntry* audit) override;
  Result<std::vector<Replay>> RunningReplays() override;
  Result<int64_t> CountReplayEvents(const CompanyId& company, int64_t since_ms, int64_t until_ms,
                                    const std::vector<std::string>& types) override;
  Result<std::vector<Event>> ScanReplayEvents(const CompanyId& company, int64_t since_ms, int64_t until_ms,
                                              const std::vector<std::string>& types, const std::string& after,
                                              int limit) override;
  Result<void> AppendReplayDeliveries(const ReplayStep& step) override;
  Result<Unfinished> UnfinishedReplayDeliveries(const ReplayId& id, const std::string& from) override;
  Result<void> FinishReplay(const ReplayId& id, ReplayStatus status, int64_t now_ms) override;

 private:
  // Copies the whole WAL into the database file and truncates it to nothing (after an erasure:
  // the WAL's old frames still hold what was erased).
  Result<void> TruncateWal();
  // A unit of work for the writer: `apply` runs inside the group transaction; `finish` runs
  // after COMMIT with the commit's error, if any.
  //
  // `apply` returning false means "undo me". Jobs run without a savepoint each (a savepoint
  // copies every page a job touches into a sub-journal: a tenth of the writer's time under
  // load). A job that fails before it changed a row costs nothing; one that fails after
  // (sqlite3_total_changes moved) makes the writer roll the group back and run it again with
  // a savepoint per job, so `apply` must be safe to run twice (it writes only to the db and
  // to its own result). A job whose failure could leave changes that total_changes does not
  // count (DDL) undoes them itself (Migrate has its own savepoint).
  struct Job {
    std::move_only_function<bool(sqlite::Db&)> apply;
    std::move_only_function<void(const Error* commit_error)> finish;
    // false: `finish` need not wait for an fdatasync (dispatch outcomes: losing one to a
    // power cut only means the delivery is sent again). A group with any durable job is
    // finished after one, which also makes every earlier WAL frame durable.
    bool durable = true;
  };

  explicit SqliteStore(std::string path, std::unique_ptr<sqlite::Db> writer);
  static constexpr size_t kOutcomesPerJob = 32;
  static Result<void> WriteOutcomes(sqlite::Db& db, const std::vector<DeliveryUpdate>& updates,
                                    const std::vector<EndpointHealth>& health);
  void WriterLoop();
  // One group transaction over `batch`. kRedoIsolated: a job failed after writing and the
  // group was rolled back (not isolated runs only); else `failure` holds the commit's error.
  enum class GroupRun { kDone, kRedoIsolated };
  // `io_error` is set when a job failed for want of I/O (SQLITE_IOERR, SQLITE_FULL).
  static GroupRun CommitGroup(sqlite::Db& db, std::vector<Job>& batch, bool isolated,
                              std::optional<Error>& failure, bool& io_error);
  void Enqueue(Job job);
  // Runs `fn` on the writer thread in a transaction and waits for the durable result. With
  // `audit`, the row is inserted in the same transaction once `fn` succeeded.
  template <class T>
  Result<T> Write(std::move_only_function<Result<T>(sqlite::Db&)> fn, const AuditEntry* audit = nullptr);
  // Runs `fn` with a read connection from the pool.
  template <class T>
  Result<T> Read(const std::function<Result<T>(sqlite::Db&)>& fn);

  const std::string path_;
  std::shared_ptr<const FieldCipher> cipher_ = std::make_shared<const FieldCipher>();  // never null
  int lock_fd_ = -1;  // flock'ed "<file>.lock" when opened exclusive; closed by the destructor
  std::unique_ptr<sqlite::Db> writer_db_;  // owned by the writer thread once started

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;  // GUARDED_BY(mu_)
  bool closing_ = false;   // GUARDED_BY(mu_)
  std::thread writer_;
  std::chrono::steady_clock::time_point last_slow_commit_log_{};  // writer thread only
  // Failed group commits (a full or failing disk) write one line per kind per 10 s, with a count.
  LogThrottle commit_error_log_{10'000};
  // The last group commit failed for want of I/O (SQLITE_FULL, SQLITE_IOERR…) and none has
  // succeeded since: /readyz says so (Ping() then probes with a write of its own).
  std::atomic<bool> writes_failing_{false};
  std::mutex probe_mu_;
  int64_t last_probe_ms_ = 0;                 // GUARDED_BY(probe_mu_)
  std::optional<Error> last_probe_error_;     // GUARDED_BY(probe_mu_)

  // Committed groups waiting for their fdatasync, finished in commit order by the syncer.
  struct Group {
    std::vector<Job> jobs;
    std::optional<Error> failure;  // the commit's
    bool durable = false;          // any job durable: finished after an fdatasync
  };
  void SyncLoop();
  Result<void> SyncWal();  // syncer thread only
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::deque<Group> synced_queue_;  // GUARDED_BY(sync_mu_)
  bool sync_closing_ = false;       // GUARDED_BY(sync_mu_)
  std::thread syncer_;
  std::string wal_path_, db_dir_;   // set by the constructor
  int wal_fd_ = -1;                 // syncer thread only (then Close())
  std::atomic<bool> sync_failed_{false};  // set by the syncer, read by Ping()
  std::chrono::steady_clock::time_point last_slow_sync_log_{};  // syncer thread only

  // Set once by Instrument() while the threads run; null until then.
  std::atomic<metrics::Counter*> m_commits_{nullptr};
  std::atomic<metrics::Counter*> m_writes_{nullptr};
  std::atomic<metrics::Counter*> m_syncs_{nullptr};
  std::atomic<metrics::Histogram*> m_sync_seconds_{nullptr};

  // WAL checkpoints run on their own thread and connection, so the writer never stalls
  // behind one (SQLite's auto-checkpoint would run inside a commit). The writer's WAL hook
  // reports the WAL size; past kCheckpointPages the checkpointer copies it back (PASSIVE:
  // never blocks writers or readers).
  static constexpr int kCheckpointPages = 2000;
  static constexpr int kRestartPages = 16000;  // ~64 MB of WAL: the writer starts it over
  void CheckpointLoop();
  std::unique_ptr<sqlite::Db> checkpoint_db_;
  std::condition_variable checkpoint_cv_;
  int wal_pages_ = 0;  // GUARDED_BY(mu_)
  std::thread checkpointer_;

  std::mutex readers_mu_;
  std::vector<std::unique_ptr<sqlite::Db>> readers_;  // GUARDED_BY(readers_mu_): idle ones
};

}  // namespace hookd
