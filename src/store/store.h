#pragma once
// The Store: hookd's durable state. One small interface per concern; `Store` joins them.
// Backends: sqlite/ (embedded default); postgres/ (libpq; one node per database for now,
// several nodes sharing one database to come). Every backend must pass
// tests/unit/store_contract_test.cc.
//
// Threading: every method is thread-safe. Synchronous methods block the caller until the
// data is durable (writes) or read. Errors: kNotFound for a missing row — including a row
// of another company, which is indistinguishable on purpose —, kAlreadyExists /
// kConflict for uniqueness, kUnavailable for I/O trouble a retry may fix.
//
// Audit (issue 13): a mutating method's `audit`, when not null, is appended to the audit log
// in the same transaction as the change — both are written or neither, and nothing is written
// when the method fails (kNotFound, kConflict…). The API passes one for every change it makes
// (api/audit.h); hookd's own changes (the dispatcher, retention, the command line) pass none.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/audit.h"
#include "core/delivery_wait.h"
#include "core/endpoint.h"
#include "core/erasure.h"
#include "core/error.h"
#include "core/event_catalog.h"
#include "core/field_cipher.h"
#include "core/ids.h"
#include "core/metrics.h"
#include "core/model.h"
#include "core/replay.h"

namespace hookd {

// Cursor pagination, newest first. `cursor` is the opaque next_cursor of the previous page.
struct PageRequest {
  int limit = 50;  // 1..500
  std::string cursor;
};

template <class T>
struct Page {
  std::vector<T> items;
  std::optional<std::string> next_cursor;  // nullopt on the last page
};

class CompanyStore {
 public:
  virtual ~CompanyStore() = default;
  [[nodiscard]] virtual Result<void> InsertCompany(const Company& c, const AuditEntry* audit = nullptr) = 0;
  [[nodiscard]] virtual Result<Company> GetCompany(const CompanyId& id) = 0;
  [[nodiscard]] virtual Result<Page<Company>> ListCompanies(const PageRequest& page) = 0;
  // Sets (or, with nullopt, clears) the company's own retention. kNotFound when absent.
  [[nodiscard]] virtual Result<Company> SetCompanyRetention(const CompanyId& id, std::optional<int64_t> retention_ms,
                                                            const AuditEntry* audit = nullptr) = 0;
};

class TokenStore {
 public:
  virtual ~TokenStore() = default;
  [[nodiscard]] virtual Result<void> InsertToken(const ApiToken& t, const AuditEntry* audit = nullptr) = 0;
  // The token with this hash, revoked or not. kNotFound when none.
  [[nodiscard]] virtual Result<ApiToken> FindTokenByHash(std::string_view hash) = 0;
  // Marks a company token revoked. kNotFound when it is not a token of `company`.
  [[nodiscard]] virtual Result<void> RevokeToken(const CompanyId& company, const TokenId& id,
                                                 const AuditEntry* audit = nullptr) = 0;
  // True when an unrevoked operator token exists.
  [[nodiscard]] virtual Result<bool> HasOperatorToken() = 0;
  // Revokes every unrevoked operator token except the one whose hash is `keep` (none when
  // nullopt). Returns how many were revoked.
  [[nodiscard]] virtual Result<int64_t> RevokeOperatorTokens(const std::optional<std::string>& keep,
                                                             int64_t now_ms) = 0;
  // Revokes a token of any kind (operator or company), for the command line. kNotFound when
  // there is no such unrevoked token.
  [[nodiscard]] virtual Result<ApiToken> RevokeAnyToken(const TokenId& id, int64_t now_ms) = 0;
  // Every token, revoked ones too, oldest first (`hookd token list`).
  [[nodiscard]] virtual Result<std::vector<ApiToken>> AllTokens() = 0;
};

class EventTypeStore {
 public:
  virtual ~EventTypeStore() = default;
  // Custom event types only; kAlreadyExists when the name is taken.
  [[nodiscard]] virtual Result<void> InsertEventType(const EventTypeDef& def, const AuditEntry* audit = nullptr) = 0;
  [[nodiscard]] virtual Result<std::vector<EventTypeDef>> ListEventTypes() = 0;
};

class EndpointStore {
 public:
  virtual ~EndpointStore() = default;
  [[nodiscard]] virtual Result<void> InsertEndpoint(const Endpoint& ep, const AuditEntry* audit = nullptr) = 0;
  // What an admin edits and what hookd changes are written apart, so that neither undoes the
  // other: this writes only `ep`'s configuration (url, event types, filter, headers, limits,
  // description, scheme, ordering) and updated_at — never its status, disabled reason, health
  // or secrets — if the endpoint is still at version `if_version` (Endpoint::version), and
  // returns its new version. kNotFound when absent; kConflict when it is at another version
  // (changed meanwhile: read it again).
  [[nodiscard]] virtual Result<int64_t> UpdateEndpointConfig(const Endpoint& ep, int64_t if_version,
                                                            const AuditEntry* audit = nullptr) = 0;
  // Makes `new_secret` the signing secret; the current one keeps signing for `grace_ms` (0:
  // not at all). One write, whatever happened since the endpoint was read. Returns the
  // endpoint as it is now. kNotFound when absent.
  [[nodiscard]] virtual Result<Endpoint> RotateEndpointSecret(const CompanyId& company, const EndpointId& id,
                                                             const std::string& new_secret,
                                                             int64_t grace_ms, int64_t now_ms,
                                                             const AuditEntry* audit = nullptr) = 0;
  // Deletes the endpoint and drops its pending/held deliveries. kNotFound when absent.
  [[nodiscard]] virtual Result<void> DeleteEndpoint(const CompanyId& company, const EndpointId& id,
                                                    const AuditEntry* audit = nullptr) = 0;
  [[nodiscard]] virtual Result<Endpoint> GetEndpoint(const CompanyId& company, const EndpointId& id) = 0;
  [[nodiscard]] virtual Result<Page<Endpoint>> ListEndpoints(const CompanyId& company,
                                                            const PageRequest& page) = 0;
  // Every endpoint of one company, or of all companies (start-up index build).
  [[nodiscard]] virtual Result<std::vector<Endpoint>> AllEndpoints(
      const std::optional<CompanyId>& company) = 0;
  // Enables the endpoint; when `release_held`, its held deliveries become pending (due now).
  // Returns how many were released.
  [[nodiscard]] virtual Result<int64_t> EnableEndpoint(const CompanyId& company,
                                                      const EndpointId& id, bool release_held,
                                                      int64_t now_ms, const AuditEntry* audit = nullptr) = 0;
  // Re-queues the endpoint's failed deliveries created at or after `since_ms`.
  [[nodiscard]] virtual Result<int64_t> RecoverDeliveries(const CompanyId& company,
                                                         const EndpointId& id, int64_t since_ms,
                                                         int64_t now_ms, const AuditEntry* audit = nullptr) = 0;
};

// One event accepted for ingestion with the deliveries its fan-out created.
struct NewEvent {
  Event event;
  std::vector<Delivery> deliveries;
};

// One ingestion request (a single POST or a batch), written all or nothing.
struct IngestRequest {
  CompanyId company;
  std::vector<NewEvent> events;
  // Idempotency: when `idempotency_key` is set and a record for (company, key) younger than
  // 24 h exists, nothing is written; the result carries the stored response instead, or
  // kConflict when `request_hash` differs.
  std::optional<std::string> idempotency_key;
  std::string request_hash;
  std::string response_body;  // stored for replays
  // Appended to the audit log with the events (a test event sent through the API); not
  // written when the request is answered from its idempotency record.
  std::optional<AuditEntry> audit;
};

struct IngestResult {
  bool replayed = false;       // true: an earlier request with this key already did it
  std::string response_body;   // the original response when replayed
};

// Filters of ListEvents; every one set must hold (AND). Unset: no filter. Ids of another
// company's rows match nothing (the listing is scoped to `company` whatever the filters).
struct EventQuery {
  std::optional<std::string> type;     // exact type name
  std::optional<std::string> subject;  // exact subject (the employee id)
  std::optional<int64_t> after_ms;     // created_at > after
  std::optional<int64_t> before_ms;    // created_at < before
  // Reconciliation: only events with at least one delivery matching both of these (either
  // may be unset: a delivery to that endpoint in any status, or in that status to any).
  std::optional<EndpointId> delivery_endpoint_id;
  std::optional<DeliveryStatus> delivery_status;
};

// Filters of ListDeliveries; every one set must hold (AND).
struct DeliveryQuery {
  std::optional<EndpointId> endpoint_id;
  std::optional<EventId> event_id;
  std::optional<DeliveryStatus> status;
  std::optional<std::string> event_type;     // the delivery's event has this type
  std::optional<std::string> subject;        // … and this subject
  std::optional<int64_t> after_ms;           // the delivery's created_at > after
  std::optional<int64_t> before_ms;          // the delivery's created_at < before
};

class EventStore {
 public:
  virtual ~EventStore() = default;
  using IngestCallback = std::move_only_function<void(Result<IngestResult>)>;
  // Durable ingestion with group commit: many requests share one transaction and one
  // fsync. `done` runs exactly once, after the data is committed and synced (or on
  // failure), on a store thread: it must not block.
  virtual void Ingest(IngestRequest req, IngestCallback done) = 0;
  // Blocking convenience over Ingest.
  [[nodiscard]] Result<IngestResult> IngestSync(IngestRequest req);

  [[nodiscard]] virtual Result<Event> GetEvent(const CompanyId& company, const EventId& id) = 0;
  [[nodiscard]] virtual Result<Page<Event>> ListEvents(const CompanyId& company,
                                                      const EventQuery& q,
                                                      const PageRequest& page) = 0;
};

// Attempts to one endpoint in one time bucket (EndpointAttemptStats).
struct AttemptStatsBucket {
  int64_t start_ms = 0;           // the bucket covers [start_ms, start_ms + bucket_ms)
  int64_t attempts = 0;
  int64_t succeeded = 0;          // attempts without an error (a 2xx answer)
  int64_t total_duration_ms = 0;  // sum over the bucket's attempts
  int64_t max_duration_ms = 0;
};

class DeliveryStore {
 public:
  virtual ~DeliveryStore() = default;
  [[nodiscard]] virtual Result<Delivery> GetDelivery(const CompanyId& company, const DeliveryId& id) = 0;
  [[nodiscard]] virtual Result<Page<Delivery>> ListDeliveries(const CompanyId& company,
                                                             const DeliveryQuery& q,
                                                             const PageRequest& page) = 0;
  // Attempts of one delivery, newest first.
  [[nodiscard]] virtual Result<Page<Attempt>> ListAttempts(const CompanyId& company,
                                                          const DeliveryId& id,
                                                          const PageRequest& page) = 0;
  // Attempts to endpoint `id` that started in [since_ms, until_ms), aggregated per bucket of
  // `bucket_ms` (> 0) counted from `since_ms`; only buckets with attempts, oldest first.
  // kNotFound when the endpoint is not one of `company`'s. For the panel's 24 h chart.
  [[nodiscard]] virtual Result<std::vector<AttemptStatsBucket>> EndpointAttemptStats(
      const CompanyId& company, const EndpointId& id, int64_t since_ms, int64_t until_ms,
      int64_t bucket_ms) = 0;
  // Ordering (SPEC §5.4), for the `waiting` of deliveries (core/delivery_wait.h): for each of
  // `ids` that is a pending delivery of `company` with a subject, the earliest pending delivery
  // of the same endpoint and subject created before it (lower id) — what the dispatcher sends
  // first — with how many such there are. Ids with none (or not pending, unknown, another
  // company's) are left out. Whether the endpoint orders by subject is the caller's to check.
  [[nodiscard]] virtual Result<std::vector<OrderingBlocker>> OrderingBlockers(const CompanyId& company,
                                                                             const std::vector<DeliveryId>& ids) = 0;
  // Makes the delivery pending and due at `now_ms`, whatever its state — but `canceled` (its
  // event was erased: nothing left to send), which is final: kConflict.
  [[nodiscard]] virtual Result<Delivery> RequeueDelivery(const CompanyId& company,
                                                        const DeliveryId& id, int64_t now_ms,
                                                        const AuditEntry* audit = nullptr) = 0;
};

// A change the dispatcher makes to a delivery, with the attempt that caused it (if any).
struct DeliveryUpdate {
  DeliveryId id;
  CompanyId company_id;
  DeliveryStatus status = DeliveryStatus::kPending;
  int attempts = 0;
  std::optional<int64_t> next_attempt_at_ms;  // when pending
  std::optional<int64_t> last_attempt_at_ms;  // nullopt: left as it is
  std::optional<Attempt> attempt;
  bool drop = false;  // delete the delivery instead (its endpoint is gone)
  // Fencing (several nodes on one database): written only while this node still holds the
  // lease on shard `lease_shard` at `lease_epoch` (core/shard_ownership.h); refused, and left
  // out of the batch, once the lease has moved on. 0: not fenced (one node).
  int lease_shard = -1;
  int64_t lease_epoch = 0;
};

struct EndpointHealth {
  EndpointId id;
  int consecutive_failures = 0;
  int64_t failing_since_ms = 0;
};

// Everything the dispatcher reads and writes — all it may see of the store (tests give it an
// in-memory fake: tests/unit/fakes/fake_dispatch_store.h).
class DispatchStore {
 public:
  virtual ~DispatchStore() = default;
  // Every endpoint (of every company), for the start-up recovery.
  [[nodiscard]] virtual Result<std::vector<Endpoint>> EndpointsToDispatch() = 0;
  // One endpoint; kNotFound once deleted.
  [[nodiscard]] virtual Result<Endpoint> EndpointToDispatch(const CompanyId& company, const EndpointId& id) = 0;
  // Deletes a REST hook whose target answered 410 (SPEC §6: unsubscribed).
  [[nodiscard]] virtual Result<void> DeleteUnsubscribedHook(const CompanyId& company, const EndpointId& id) = 0;
  // One page of `endpoint`'s pending deliveries, in id (acceptance) order: among its next
  // `scan_limit` deliveries of any status after id `after` ("" from the start) — so a page
  // costs the same however long the endpoint's history of finished deliveries is. Payloads
  // are not loaded.
  struct PendingPage {
    std::vector<PendingDelivery> deliveries;
    std::string next_after;  // where the next page starts; "" when the endpoint is done
  };
  [[nodiscard]] virtual Result<PendingPage> LoadPending(const EndpointId& endpoint, const std::string& after,
                                                        int scan_limit) = 0;
  // Payloads of these events; unknown ids, and erased events, are left out.
  [[nodiscard]] virtual Result<std::vector<std::pair<EventId, std::string>>> LoadPayloads(
      const std::vector<EventId>& ids) = 0;
  // Writes outcomes (attempt rows, delivery states, endpoint health) in the group commit.
  // `done` runs once on a store thread after they are committed — not necessarily fsynced: an
  // outcome lost to a power cut only means that delivery is sent again (at least once), and
  // the next durable commit (an ingest) makes it durable too. It must not block. A `canceled`
  // delivery is final: an update of one is left out (and so is its attempt).
  virtual void ApplyDispatchUpdates(std::vector<DeliveryUpdate> updates,
                                    std::vector<EndpointHealth> health,
                                    std::move_only_function<void(Result<void>)> done) = 0;
  // Disables an endpoint with `reason` and turns its pending deliveries into held ones.
  [[nodiscard]] virtual Result<void> DisableEndpoint(const CompanyId& company, const EndpointId& id,
                                                     DisabledReason reason, int64_t now_ms,
                                                     const AuditEntry* audit = nullptr) = 0;
};

// Filters of ListAuditLog; every one set must hold (AND). Unset: no filter.
struct AuditQuery {
  // One company's rows; nullopt: every row, of every company and of none (the operator's).
  std::optional<CompanyId> company;
  std::optional<std::string> action;     // exact action name
  std::optional<std::string> target_id;  // exact target ("ep_…", an event type's name…)
  std::optional<int64_t> after_ms;       // created_at > after
  std::optional<int64_t> before_ms;      // created_at < before
};

// The audit log (core/audit.h). Rows are written with the changes they record (the `audit`
// parameter of the mutating methods); these are the rest.
class AuditStore {
 public:
  virtual ~AuditStore() = default;
  // Appends one row alone, for an action that changes nothing else (a secret revealed: the
  // caller shows the secret only once this returned success).
  [[nodiscard]] virtual Result<void> AppendAudit(const AuditEntry& entry) = 0;
  // Newest first; the cursor is the last row's id.
  [[nodiscard]] virtual Result<Page<AuditEntry>> ListAuditLog(const AuditQuery& q, const PageRequest& page) = 0;
};

// Replays of a time range (core/replay.h): the replay rows, and what the runner
// (replay/replay_runner.h) reads and writes to turn one into deliveries. A replay's deliveries
// are ordinary deliveries carrying its id (Delivery::replay_id).
class ReplayStore {
 public:
  virtual ~ReplayStore() = default;
  // Saves a new replay. kNotFound when its endpoint is not one of its company's; kConflict
  // when it is running and another replay of that endpoint is running too (one at a time),
  // naming that one.
  [[nodiscard]] virtual Result<void> InsertReplay(const Replay& r, const AuditEntry* audit = nullptr) = 0;
  [[nodiscard]] virtual Result<Replay> GetReplay(const CompanyId& company, const ReplayId& id) = 0;
  // One endpoint's replays, newest first.
  [[nodiscard]] virtual Result<Page<Replay>> ListReplays(const CompanyId& company, const EndpointId& endpoint,
                                                        const PageRequest& page) = 0;
  // Its deliveries by status. kNotFound when the replay is not one of `company`'s.
  [[nodiscard]] virtual Result<ReplayProgress> GetReplayProgress(const CompanyId& company, const ReplayId& id) = 0;
  // Cancels a running replay and, in the same write, its deliveries not finished yet (pending
  // or held become canceled). Returns the replay as it is now. Canceling a canceled replay
  // changes nothing; kConflict when it has completed; kNotFound when it is not `company`'s.
  [[nodiscard]] virtual Result<Replay> CancelReplay(const CompanyId& company, const ReplayId& id, int64_t now_ms,
                                                     const AuditEntry* audit = nullptr) = 0;

  // ---- the runner's
  // Every running replay, of every company, oldest first.
  [[nodiscard]] virtual Result<std::vector<Replay>> RunningReplays() = 0;
  // How many events of `company` created in [since_ms, until_ms) have one of `types`.
  [[nodiscard]] virtual Result<int64_t> CountReplayEvents(const CompanyId& company, int64_t since_ms,
                                                         int64_t until_ms, const std::vector<std::string>& types) = 0;
  // The next (at most `limit`) events of `company` created in [since_ms, until_ms) with one of
  // `types`, after event id `after` ("" from the start), in id order, with their payloads (""
  // for one deleted meanwhile).
  [[nodiscard]] virtual Result<std::vector<Event>> ScanReplayEvents(const CompanyId& company, int64_t since_ms,
                                                                   int64_t until_ms,
                                                                   const std::vector<std::string>& types,
                                                                   const std::string& after, int limit) = 0;
  // One step of a replay, written all or nothing: `deliveries` (pending, due now, each with
  // replay_id = `replay`) are inserted and the replay's cursor moves from `from_cursor` to
  // `to_cursor` (created += their number; scan_done when `scan_done`). kConflict when the
  // replay is no longer running or its cursor is not at `from_cursor` (another node took the
  // step): nothing is written. kNotFound when its endpoint is gone: nothing is written.
  struct ReplayStep {
    ReplayId replay;
    CompanyId company;
    EndpointId endpoint;
    std::string from_cursor;
    std::string to_cursor;
    bool scan_done = false;
    std::vector<Delivery> deliveries;
  };
  [[nodiscard]] virtual Result<void> AppendReplayDeliveries(const ReplayStep& step) = 0;
  // The replay's deliveries with ids from `from` on ("" all) that are not finished (pending or
  // held): how many, and the smallest id among them ("" when none).
  struct Unfinished {
    int64_t count = 0;
    std::string first;
  };
  [[nodiscard]] virtual Result<Unfinished> UnfinishedReplayDeliveries(const ReplayId& id, const std::string& from) = 0;
  // Ends a running replay as `status` (kCompleted, or kCanceled when its endpoint is gone).
  // kConflict when it is not running any more; kNotFound, for kCompleted, when its endpoint is
  // gone (its deliveries went with it: cancel it instead).
  [[nodiscard]] virtual Result<void> FinishReplay(const ReplayId& id, ReplayStatus status, int64_t now_ms) = 0;
};

// Housekeeping (--retention).
class MaintenanceStore {
 public:
  virtual ~MaintenanceStore() = default;
  // Deletes, at most `limit` deliveries per call: finished (succeeded/failed/canceled) deliveries
  // created before `cutoff_ms` with their attempts; events created before it that have no
  // delivery left; idempotency keys older than 24 h. Pending and held deliveries, their
  // attempts and events, are never deleted. Returns the rows deleted. With `company`, only
  // that company's rows (its own, shorter retention).
  [[nodiscard]] virtual Result<int64_t> PurgeExpired(int64_t cutoff_ms, int limit,
                                                     const std::optional<CompanyId>& company = std::nullopt) = 0;
  // The companies with a retention of their own.
  [[nodiscard]] virtual Result<std::vector<Company>> CompaniesWithOwnRetention() = 0;
  // Deletes at most `limit` audit rows created before `cutoff_ms` (--audit-retention), oldest
  // first; returns how many. Audit rows are deleted by nothing else: PurgeExpired, whatever
  // its cutoff or company, leaves them alone.
  [[nodiscard]] virtual Result<int64_t> PurgeAuditLog(int64_t cutoff_ms, int limit) = 0;
};

// Encryption at rest (OpenOptions::cipher): the keys a database's data is sealed under, and
// re-sealing old rows under the current key (`hookd rekey`, store/encryption.h).
enum class SealedTable { kEvents, kAttempts, kEndpoints };

struct RekeyBatchResult {
  std::string next_after;  // the last row id looked at; "" when the table is done
  int64_t scanned = 0;     // rows looked at
  int64_t resealed = 0;    // rows rewritten
};

class EncryptionStore {
 public:
  virtual ~EncryptionStore() = default;
  // Ids (hex) of every key data in this database may be sealed under.
  [[nodiscard]] virtual Result<std::vector<std::string>> EncryptionKeyIds() = 0;
  // Records a key as possibly in use (idempotent), before anything is sealed with it.
  [[nodiscard]] virtual Result<void> RecordEncryptionKey(const std::string& key_id, int64_t now_ms) = 0;
  // Forgets a key no row is sealed under any more.
  [[nodiscard]] virtual Result<void> ForgetEncryptionKey(const std::string& key_id) = 0;
  // Looks at the next `limit` rows of `table` after id `after` ("" from the start) and
  // rewrites, in one transaction, those with a value not as the store's cipher writes now
  // (FieldCipher::IsCurrent) — each only if unchanged since it was read, so that a server
  // running beside it loses nothing. kInternal when a value does not open.
  [[nodiscard]] virtual Result<RekeyBatchResult> RekeyBatch(SealedTable table, const std::string& after,
                                                            int limit) = 0;
};

// Erasure of one employee (issue 13; docs/personal-data.md). An erasure is a row that says
// which company, which subject (while it runs), and which events (those before its
// `event_bound`); EraseBatch works through them a batch per transaction, so that other writes
// interleave in the group commit.
struct ErasureBatchResult {
  ErasureCounts counts;  // this batch's
  // The deliveries this batch made `canceled` (each with its endpoint): announce them
  // (ChangeListener::OnDeliveriesCanceled) so no dispatcher sends what it holds of them.
  std::vector<std::pair<DeliveryId, EndpointId>> canceled;
  Erasure erasure;  // as it is after the batch (completed when nothing was left)
};

class ErasureStore {
 public:
  virtual ~ErasureStore() = default;
  // The database's key for subject hashes (core/erasure.h). When there is none yet, `fresh`
  // becomes it: the first caller's wins, every later call (on any node) returns that one.
  [[nodiscard]] virtual Result<std::string> ErasureKey(const std::string& fresh) = 0;
  // kAlreadyExists when the id is taken.
  [[nodiscard]] virtual Result<void> InsertErasure(const Erasure& e, const AuditEntry* audit = nullptr) = 0;
  // kNotFound when absent or another company's.
  [[nodiscard]] virtual Result<Erasure> GetErasure(const CompanyId& company, const ErasureId& id) = 0;
  [[nodiscard]] virtual Result<Page<Erasure>> ListErasures(const CompanyId& company, const PageRequest& page) = 0;
  // Every running erasure, of every company, oldest first (the worker resumes them).
  [[nodiscard]] virtual Result<std::vector<Erasure>> RunningErasures() = 0;
  // One transaction: takes the next `limit` events of the erasure's subject and company with
  // ids before its event_bound, and for each — its pending and held deliveries become
  // `canceled` (reason "erased"), its deliveries' attempts lose their response headers and body,
  // and it loses its payload and subject (marked erased). Adds the counts to the erasure's row.
  // When fewer than `limit` events were left, it also deletes the idempotency records of the
  // company that answered for events of that subject before the request, and completes the
  // erasure: status completed, finished_at `now_ms`, and the subject cleared (the hash stays).
  // Several callers (nodes) may run batches of one erasure at once: batches are serialised on
  // the erasure's row and count each row once. A completed erasure: nothing, counts zero.
  // SQLite: the batch's freed bytes are overwritten (secure_delete); once complete, the WAL is
  // checkpointed and truncated, so the erased bytes are gone from the files. kNotFound when
  // the erasure is absent.
  [[nodiscard]] virtual Result<ErasureBatchResult> EraseBatch(const ErasureId& id, int limit, int64_t now_ms) = 0;
};

class Store : public CompanyStore,
              public TokenStore,
              public EventTypeStore,
              public EndpointStore,
              public EventStore,
              public DeliveryStore,
              public DispatchStore,
              public MaintenanceStore,
              public EncryptionStore,
              public ErasureStore,
              public AuditStore,
              public ReplayStore {
 public:
  // Creates or upgrades the schema. Idempotent.
  [[nodiscard]] virtual Result<void> Migrate() = 0;
  // Cheap round trip for /readyz.
  [[nodiscard]] virtual Result<void> Ping() = 0;
  // Stops background threads after finishing queued writes.
  virtual void Close() = 0;
  // Registers the backend's own metrics (group commits, fsyncs) in `registry`, which must
  // outlive the store. Optional; called once, at start-up.
  virtual void Instrument(metrics::Registry& registry) { (void)registry; }

  // The dispatcher's reads of endpoints are the API's (EndpointStore).
  Result<std::vector<Endpoint>> EndpointsToDispatch() final { return AllEndpoints(std::nullopt); }
  Result<Endpoint> EndpointToDispatch(const CompanyId& company, const EndpointId& id) final {
    return GetEndpoint(company, id);
  }
  Result<void> DeleteUnsubscribedHook(const CompanyId& company, const EndpointId& id) final {
    return DeleteEndpoint(company, id);
  }
};

struct OpenOptions {
  // This process serves or migrates the database alone. SQLite: an exclusive lock on
  // "<file>.lock" held until the store is destroyed; a second `hookd serve` or `hookd migrate`
  // on the same file is refused (kUnavailable, naming the file and the holder's pid) — two
  // dispatchers on one file would send every delivery twice. The token commands do not ask
  // for it (they may run beside a server). PostgreSQL: a session-level advisory lock on the
  // database, held by a connection of its own for the store's lifetime (same refusal, naming
  // the holder's "hookd pid N on HOST").
  bool exclusive = false;
  // Encryption at rest (core/field_cipher.h, store/sealed_fields.h): payloads, receivers'
  // answers and signing secrets are sealed with its first key and opened with any of them.
  // Null: stored plain (and sealed values do not open).
  std::shared_ptr<const FieldCipher> cipher;
};

// Opens the store named by `url`: "sqlite:<path>" (e.g. sqlite:./hookd.db), or
// "postgres://…" / "postgresql://…" (a libpq URI). Does not migrate.
[[nodiscard]] Result<std::unique_ptr<Store>> OpenStore(std::string_view url, OpenOptions options = {});

// `url` as it may be logged or printed: a password in it (postgres://user:PASSWORD@host,
// ?password=, libpq's password=) replaced by "***".
std::string RedactStoreUrl(std::string_view url);

}  // namespace hookd
