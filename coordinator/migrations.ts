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
];
