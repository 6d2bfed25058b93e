#pragma once
// PostgreSQL implementation of Store (libpq, no ORM). Several hookd nodes may share one
// database (docs/multi-node.md): each store has a node id; the writes other nodes must hear
// about send a notice in their own transaction (cluster_notice.h), and delivery outcomes are
// fenced by the shard leases that pg_cluster.h takes.
//
// Writes: one writer thread on its own connection commits every job queued since its last
// commit in one transaction (group commit, synchronous_commit = on: COMMIT returns once the
// WAL is flushed), and only then answers the jobs' callers. Reads: a small pool of other
// connections, each statement its own snapshot (autocommit). A connection found closed (the
// server restarted) is replaced before its next use; a write whose connection fails midway is
// answered kUnavailable and the next one reconnects.
//
// The write engine (group commit) is in postgres_group_commit.cc, the SQL in postgres_store.cc.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <span>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/field_cipher.h"
#include "core/log_throttle.h"
#include "store/postgres/cluster_notice.h"
#include "store/postgres/pg_conn.h"
#include "store/store.h"

namespace hookd {

class PostgresStore final : public Store {
 public:
  // Advisory lock key (per database): migrations one at a time (transaction lock).
  static constexpr int64_t kMigrateLockKey = 0x686f6f6b64000002;  // "hookd" 2

  // `url`: postgres://… or postgresql://… (libpq URI). Connects the writer (kUnavailable when
  // the server cannot be reached) and starts the writer thread. `cipher`: see OpenOptions.
  static Result<std::unique_ptr<PostgresStore>> Open(const std::string& url,
                                                     std::shared_ptr<const FieldCipher> cipher = nullptr);

  // This process's node id (random at each start; the owner of its shard leases and the
  // sender of its notices), and "host pid N" for operators.
  const std::string& NodeId() const { return node_id_; }
  const std::string& Address() const { return address_; }
  const std::string& Url() const { return url_; }
  // Deliveries among `ids` that are still pending, with their payloads, in the order of `ids`
  // (a notice's order: the order their transactions committed).
  Result<std::vector<PendingDelivery>> LoadReadyDeliveries(const std::vector<DeliveryId>& ids);
  // The hand-over of this node's own deliveries (PgCluster turns it on): each pending delivery
  // an ingest writes is kept in memory, with its payload, from before its commit until this
  // node's listener takes it on reading the notice of that commit — instead of reading back
  // from the database what this node has just written. An ingest that fails takes its own
  // back; at most kMaxAccepted are kept (beyond that, the listener reads them back).
  static constexpr size_t kMaxAccepted = 65'536;
  void KeepAcceptedDeliveries(bool keep);  // off: drops every one kept
  std::optional<PendingDelivery> TakeAccepted(const DeliveryId& id);
  // The payload a delivery notice carried, opened (encryption at rest); null when it cannot be
  // opened (the deliveries are read back instead).
  std::shared_ptr<const std::string> OpenCarriedPayload(const pg::NoticeEvent& e) const;
  // Whether an ingest's notice carries its small events (pg::NoticeEvent), for the node owning
  // the endpoint to send them without a read: PgCluster turns it on while other nodes are live.
  // Alone, a node's deliveries come from memory (TakeAccepted) and carrying them is waste.
  void CarryEventsInNotices(bool on) { carry_events_.store(on, std::memory_order_relaxed); }
  bool CarriesEventsInNotices() const { return carry_events_.load(std::memory_order_relaxed); }
  // Drops every one kept (their notices may be lost: the listening connection dropped).
  void ForgetAccepted();
  ~PostgresStore() override;

  Result<void> Migrate() override;
  Result<void> Ping() override;
  void Close() override;
  // hookd_store_commits_total, hookd_store_writes_total.
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

  Result<PendingPage> LoadPending(const EndpointId& endpoint, const std::string& after,
                                  int limit) override;
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
  // An ingest on its way to the writer, and its result once written.
  struct IngestWork {
    IngestRequest req;
    std::string node;  // this node's id, for the notices
    // Per event of `req`, what its notice carries (null: listed by id); empty when nothing is.
    std::vector<std::shared_ptr<const pg::NoticeEvent>> carried;
    std::optional<Result<IngestResult>> result;
    // Its deliveries' notices, when written by its own `apply` (a merged run's go to
    // ApplyMerged's `notices`): sent once the group committed (CommitGroup).
    std::vector<std::string> notices;
    bool Mergeable() const;
  };
  // A part of a dispatcher's outcome batch on its way to the writer, and its result.
  struct OutcomeWork {
    std::vector<DeliveryUpdate> updates;
    std::vector<EndpointHealth> health;
    Result<void> result;
  };
  // A unit of work for the writer: `apply` runs inside the group transaction; `finish` runs
  // after COMMIT returned (the group is durable) with the commit's error, if any.
  //
  // As in SqliteStore, jobs run without a savepoint each. `apply` returning false means "undo
  // me": a job that failed before it changed a row and left the transaction usable costs
  // nothing; otherwise (it wrote rows, or an SQL error aborted the transaction, as any error
  // does in PostgreSQL) the writer rolls the group back and runs it again with a SAVEPOINT per
  // job, so `apply` must be safe to run twice (it writes only to the db and to its own
  // result).
  struct Job {
    std::move_only_function<bool(pg::Conn&)> apply;
    std::move_only_function<void(const Error* commit_error)> finish;
    // Set by the writer when it undid a job whose `apply` had reported success (it left the
    // transaction failed): `finish` gets this instead of the job's own result.
    std::optional<Error> undone;
    // Set for ingests (their notices are sent after the commit) and outcome batches. Mergeable:
    // the jobs that can share their statements with their like: an ingest without
    // idempotency key or audit row, an outcome batch. The two commute (an ingest inserts new
    // rows, an outcome updates a delivery committed before), so outside a redo the writer
    // writes a run of such jobs as one multi-row statement per table (ApplyMerged) instead of
    // running each `apply`: a group of 64 single POSTs and their outcomes was ~250 round trips.
    std::shared_ptr<IngestWork> ingest;
    std::shared_ptr<OutcomeWork> outcomes;
    // false: `finish` need not wait for the WAL flush (dispatch outcomes, as in SqliteStore:
    // losing one to a server crash only means the delivery is sent again). A group of such
    // jobs only commits with synchronous_commit = off, so the writer goes on to the next group
    // (ingests waiting for their 202) without waiting on the disk; the next durable commit, of
    // any connection, flushes the WAL up to and past it.
    bool durable = true;
    bool Mergeable() const { return (ingest && ingest->Mergeable()) || outcomes; }
  };
  // Every job of `jobs` (each Mergeable()), in one transaction's statements: their ingests,
  // then their outcomes, in queue order; sets each job's result. false (with the transaction
  // to roll back) when they failed.
  // Their ingests' notices are added to `notices`, for CommitGroup to send after COMMIT.
  bool ApplyMerged(pg::Conn& db, std::span<Job> jobs, std::vector<std::string>& notices);

  PostgresStore(std::string url, std::unique_ptr<pg::Conn> writer);
  static constexpr size_t kOutcomesPerJob = 32;
  // `updates` in order (a delivery's last one wins); `health` likewise, per endpoint.
  Result<void> WriteOutcomes(pg::Conn& db, const std::vector<const DeliveryUpdate*>& updates,
                             const std::vector<const EndpointHealth*>& health);
  Result<void> WriteHealth(pg::Conn& db, const std::vector<const EndpointHealth*>& health);
  void WriterLoop();
  // kRedoIsolated: a job failed after writing (or aborted the transaction) and the group was
  // rolled back; kNotStarted: BEGIN found the connection closed (nothing sent — known only
  // when BEGIN is not pipelined, or the connection was already marked bad); else
  // `failure` holds the group's error, if any.
  enum class GroupRun { kDone, kRedoIsolated, kNotStarted };
  GroupRun CommitGroup(pg::Conn& db, std::vector<Job>& batch, bool isolated,
                              std::optional<Error>& failure);
  // Writer thread: a live writer connection.
  Result<void> PrepareToWrite();
  void Enqueue(Job job);
  // With `audit`, the row is inserted in `fn`'s transaction once `fn` succeeded.
  template <class T>
  Result<T> Write(std::move_only_function<Result<T>(pg::Conn&)> fn, const AuditEntry* audit = nullptr);
  // Runs `fn` on a pooled read connection; once more on a fresh one when the pooled one
  // turns out to be dead.
  template <class T>
  Result<T> Read(const std::function<Result<T>(pg::Conn&)>& fn);

  const std::string url_;
  const std::string node_id_;
  const std::string address_;
  std::shared_ptr<const FieldCipher> cipher_ = std::make_shared<const FieldCipher>();  // never null
  std::unique_ptr<pg::Conn> writer_db_;  // writer thread only once started
  // Writer thread: notices of committed ingests that could not be sent (the connection
  // failed after COMMIT): sent before anything else, with the next group or alone.
  std::vector<std::string> unsent_notices_;
  LogThrottle notice_error_log_{10'000};
  // Writer thread: sends unsent_notices_ in a transaction of their own; false if it failed.
  bool SendUnsentNotices();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;  // GUARDED_BY(mu_)
  bool closing_ = false;   // GUARDED_BY(mu_)
  std::thread writer_;
  LogThrottle commit_error_log_{10'000};
  LogThrottle fenced_log_{10'000};  // writer thread only
  // Outcomes the current group's fencing refused (writer thread only): counted when WriteOutcomes'
  // statement answers, reported by CountFenced once the group committed.
  int64_t fenced_in_group_ = 0;
  void CountFenced();
  // A payload carried by a notice that this node cannot open (a key it lacks): once per 10 s,
  // not once per event (each message names its event).
  mutable LogThrottle carried_open_log_{10'000};
  // The last group failed for want of the server (kUnavailable) and none has succeeded
  // since: /readyz says so (Ping() then probes with a write of its own).
  std::atomic<bool> writes_failing_{false};
  std::mutex probe_mu_;
  int64_t last_probe_ms_ = 0;              // GUARDED_BY(probe_mu_)
  std::optional<Error> last_probe_error_;  // GUARDED_BY(probe_mu_)

  std::atomic<metrics::Counter*> m_commits_{nullptr};
  std::atomic<metrics::Counter*> m_writes_{nullptr};
  std::atomic<metrics::Counter*> m_syncs_{nullptr};
  std::atomic<metrics::Histogram*> m_sync_seconds_{nullptr};
  std::atomic<metrics::Counter*> m_fenced_{nullptr};

  std::atomic<bool> carry_events_{false};
  std::mutex accepted_mu_;
  std::atomic<bool> keep_accepted_{false};                       // written under accepted_mu_
  std::unordered_map<std::string, PendingDelivery> accepted_;    // GUARDED_BY(accepted_mu_): by delivery id

  std::mutex readers_mu_;
  std::vector<std::unique_ptr<pg::Conn>> readers_;  // GUARDED_BY(readers_mu_): idle ones
};

}  // namespace hookd
