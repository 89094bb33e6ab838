/**
 * Versioned schema migrations, applied in order on start. Never edit a
 * released entry: append a new one.
 */
export const MIGRATIONS: readonly (readonly string[])[] = [
  // 1: merchants, queries, contributions, releases
  [
    `CREATE TABLE merchants (
       merchant_id text PRIMARY KEY,
       signing_public_key bytea NOT NULL,
       enrolled_at timestamptz NOT NULL DEFAULT now()
     )`,
    `CREATE TABLE queries (
       query_id text PRIMARY KEY,
       kind text NOT NULL,
       spec_json text NOT NULL,
       spec_digest bytea NOT NULL,
       param_set text NOT NULL,
       key_id bytea NOT NULL,
       max_contributors integer NOT NULL,
       target_merchants integer NOT NULL,
       min_merchants integer NOT NULL,
       deadline timestamptz NOT NULL,
       status text NOT NULL CHECK (status IN ('open', 'closing', 'released', 'failed')),
       status_reason text,
       created_by text NOT NULL,
       created_at timestamptz NOT NULL DEFAULT now(),
       closed_at timestamptz
     )`,
    `CREATE TABLE contributions (
       query_id text NOT NULL REFERENCES queries (query_id),
       merchant_id text NOT NULL REFERENCES merchants (merchant_id),
       envelope_digest bytea NOT NULL UNIQUE,
       header bytea NOT NULL,
       ciphertexts bytea NOT NULL,
       received_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (query_id, merchant_id)
     )`,
    `CREATE TABLE releases (
       query_id text PRIMARY KEY REFERENCES queries (query_id),
       release_json text NOT NULL,
       keyholder_signing_key bytea NOT NULL,
       signature bytea NOT NULL,
       result_json text NOT NULL,
       created_at timestamptz NOT NULL DEFAULT now()
     )`,
  ],
  // 2: purposes and PIAs, consent attestations on contributions, the audit log
  [
    `CREATE TABLE purposes (
       name text PRIMARY KEY,
       definition_json text NOT NULL,
       digest bytea NOT NULL,
       registered_at timestamptz NOT NULL DEFAULT now()
     )`,
    `CREATE TABLE pias (
       pia_id text PRIMARY KEY,
       purpose text NOT NULL,
       record_json text NOT NULL,
       digest bytea NOT NULL,
       recorded_at timestamptz NOT NULL DEFAULT now()
     )`,
    `ALTER TABLE queries ADD COLUMN purpose text NOT NULL DEFAULT ''`,
    `ALTER TABLE queries ADD COLUMN purpose_json text NOT NULL DEFAULT '{}'`,
    `ALTER TABLE queries ADD COLUMN cutoff timestamptz NOT NULL DEFAULT now()`,
    `ALTER TABLE contributions ADD COLUMN attestation_json text NOT NULL DEFAULT ''`,
    `ALTER TABLE contributions ADD COLUMN subjects_included integer NOT NULL DEFAULT 0`,
    `CREATE TABLE audit_entries (
       seq bigint PRIMARY KEY CHECK (seq >= 0),
       entry_json text NOT NULL,
       leaf_hash bytea NOT NULL
     )`,
    `CREATE TABLE rights_reports (
       merchant_id text NOT NULL REFERENCES merchants (merchant_id),
       nonce bytea NOT NULL,
       events integer NOT NULL,
       received_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (merchant_id, nonce)
     )`,
    `CREATE TABLE audit_checkpoints (
       size bigint PRIMARY KEY CHECK (size >= 0),
       note text NOT NULL,
       created_at timestamptz NOT NULL DEFAULT now()
     )`,
  ],
  // 3: digests of configuration values, so changes are noticed and audited
  [
    `CREATE TABLE settings (
       key text PRIMARY KEY,
       digest bytea NOT NULL,
       changed_at timestamptz NOT NULL DEFAULT now()
     )`,
  ],
  // 4: iterative model fits; each round is an ordinary query linked to its fit
  [
    `CREATE TABLE fits (
       fit_id text PRIMARY KEY,
       kind text NOT NULL,
       spec_json text NOT NULL,
       purpose text NOT NULL,
       status text NOT NULL CHECK (status IN ('running', 'evaluating', 'done', 'failed')),
       status_reason text,
       round integer NOT NULL DEFAULT 0,
       state_json text NOT NULL,
       target_merchants integer NOT NULL,
       min_merchants integer NOT NULL,
       round_deadline_seconds integer NOT NULL,
       model_json text,
       evaluation_json text,
       created_at timestamptz NOT NULL DEFAULT now(),
       finished_at timestamptz
     )`,
    `ALTER TABLE queries ADD COLUMN fit_id text REFERENCES fits (fit_id)`,
    `ALTER TABLE queries ADD COLUMN fit_round integer`,
  ],
  // 5: API users with roles, granted purposes and SHA-256 token hashes
  [
    `CREATE TABLE api_users (
       user_id text PRIMARY KEY,
       role text NOT NULL CHECK (role IN ('marketer', 'compliance', 'admin', 'merchant')),
       purposes_json text NOT NULL DEFAULT '[]',
       merchant_id text,
       label text,
       token_hash bytea NOT NULL UNIQUE,
       created_by text NOT NULL,
       created_at timestamptz NOT NULL DEFAULT now(),
       revoked_at timestamptz
     )`,
  ],
  // 6: several coordinators on one database and retention: closing claims
  // with a lease, per-coordinator partial aggregates folded in the
  // contribution's own transaction, and ciphertexts that retention may erase
  [
    `ALTER TABLE queries ADD COLUMN claimed_by text`,
    `ALTER TABLE queries ADD COLUMN claimed_until timestamptz`,
    `ALTER TABLE queries ADD COLUMN purged_at timestamptz`,
    `CREATE INDEX queries_by_status ON queries (status, closed_at)`,
    `ALTER TABLE contributions ALTER COLUMN ciphertexts DROP NOT NULL`,
    `CREATE TABLE partial_aggregates (
       query_id text NOT NULL REFERENCES queries (query_id),
       coordinator_id text NOT NULL,
       contributions integer NOT NULL DEFAULT 0 CHECK (contributions >= 0),
       sums bytea,
       updated_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (query_id, coordinator_id),
       CHECK ((contributions = 0) = (sums IS NULL))
     )`,
  ],
  // 7: merchant identity: key evidence from the enrolment authority,
  // one-time tokens, the history of each merchant's keys (rotation), the key
  // every contribution was signed with, and revocation
  [
    `ALTER TABLE merchants ADD COLUMN key_sequence integer NOT NULL DEFAULT 0`,
    `ALTER TABLE merchants ADD COLUMN key_evidence text`,
    `ALTER TABLE merchants ADD COLUMN token_id bytea`,
    `ALTER TABLE merchants ADD COLUMN revoked_at timestamptz`,
    `ALTER TABLE merchants ADD COLUMN revoked_reason text`,
    `CREATE TABLE enrolment_tokens (
       token_id bytea PRIMARY KEY,
       merchant_id text NOT NULL REFERENCES merchants (merchant_id),
       signing_public_key bytea NOT NULL,
       used_at timestamptz NOT NULL DEFAULT now()
     )`,
    `CREATE TABLE merchant_keys (
       merchant_id text NOT NULL REFERENCES merchants (merchant_id),
       sequence integer NOT NULL CHECK (sequence >= 0),
       signing_public_key bytea NOT NULL,
       added_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (merchant_id, sequence)
     )`,
    `INSERT INTO merchant_keys (merchant_id, sequence, signing_public_key) SELECT merchant_id, 0, signing_public_key FROM merchants`,
    `ALTER TABLE contributions ADD COLUMN key_sequence integer NOT NULL DEFAULT 0`,
  ],
  // 8: the disclosure terms a query is published under (purpose's declared
  // block and the stated k), sent to shops and checked by the key holder
  [
    `ALTER TABLE queries ADD COLUMN terms_json text NOT NULL DEFAULT ''`,
  ],
  // 9: the stable code of a failed query or fit (the key holder's refusal
  // code or the coordinator's own), beside the words of status_reason
  [
    `ALTER TABLE queries ADD COLUMN status_code text`,
    `ALTER TABLE fits ADD COLUMN status_code text`,
  ],
  // 10: state the coordinators of one database share: export jobs with
  // their results (run under a lease by one coordinator, taken over when it
  // dies) and fixed-window rate-limit counters
  [
    `CREATE TABLE jobs (
       job_id text PRIMARY KEY,
       kind text NOT NULL,
       owner text NOT NULL,
       params_json text NOT NULL,
       status text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
       progress_done integer NOT NULL DEFAULT 0,
       progress_total integer NOT NULL,
       progress_step text NOT NULL DEFAULT 'queued',
       attempts integer NOT NULL DEFAULT 1 CHECK (attempts >= 1),
       claimed_by text,
       claimed_until timestamptz,
       created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
       finished_at timestamptz,
       error_json text,
       result_json text
     )`,
    `CREATE INDEX jobs_by_status ON jobs (status, created_at)`,
    `CREATE TABLE job_files (
       job_id text NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
       name text NOT NULL,
       body bytea NOT NULL,
       PRIMARY KEY (job_id, name)
     )`,
    `CREATE UNLOGGED TABLE rate_windows (
       bucket text NOT NULL,
       window_start bigint NOT NULL,
       count integer NOT NULL,
       expires_at timestamptz NOT NULL,
       PRIMARY KEY (bucket, window_start)
     )`,
    `CREATE INDEX rate_windows_by_expiry ON rate_windows (expires_at)`,
  ],
  // 11: on PGlite, a contribution's ciphertexts live in a file the row names
  // (coordinator/ciphertext-files.ts), not in the row
  [
    `ALTER TABLE contributions ADD COLUMN ciphertexts_file text`,
    `ALTER TABLE contributions ADD CONSTRAINT contributions_one_ciphertext_home CHECK (ciphertexts IS NULL OR ciphertexts_file IS NULL)`,
  ],
  // 12: who started a fit, so that a marketer's list holds their own fits
  // (NULL for fits started before: shown to administrators only)
  [`ALTER TABLE fits ADD COLUMN created_by text`],
];
