/**
 * The SQL of the PostgreSQL engine (src/hub/postgres.ts): its tables, its one function (an append
 * is one round trip, atomic, whatever it trims) and its queries, all in one schema of their own.
 *
 * Layout, in schema `S` (default `ssekit`):
 * - `S.logs`: one row per log (`key`, the last id handed out, the count of entries ever
 *   appended, the expiry); an append locks its log's row, which orders the appends of one log;
 * - `S.entries`: the entries, keyed `(log_id, ms, seq)`, with `n` (the entry's ordinal, for
 *   trimming by count) and `token` (an assigned-id append's retry token);
 * - `S.kv`: values with expiries (run state, leases, cancel flags).
 * Times are the database's clock in epoch milliseconds (`S.now_ms()`), the same for every instance.
 */

/** A schema name the engine accepts: it becomes part of identifiers and the NOTIFY channel. */
export const SCHEMA_NAME: RegExp = /^[a-z_][a-z0-9_]{0,47}$/;

/** The statements that create (or update) the engine's tables and functions, in order. */
export function setupStatements(schema: string): string[] {
  const s = `"${schema}"`;
  return [
    `CREATE SCHEMA IF NOT EXISTS ${s}`,
    `CREATE TABLE IF NOT EXISTS ${s}.logs (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      key text NOT NULL UNIQUE,
      last_ms bigint NOT NULL DEFAULT 0,
      last_seq bigint NOT NULL DEFAULT 0,
      appended bigint NOT NULL DEFAULT 0,
      expires_at bigint
    )`,
    `CREATE INDEX IF NOT EXISTS logs_expires_at ON ${s}.logs (expires_at) WHERE expires_at IS NOT NULL`,
    `CREATE TABLE IF NOT EXISTS ${s}.entries (
      log_id bigint NOT NULL REFERENCES ${s}.logs (id) ON DELETE CASCADE,
      ms bigint NOT NULL,
      seq bigint NOT NULL,
      n bigint NOT NULL,
      event text,
      data text,
      token text,
      PRIMARY KEY (log_id, ms, seq)
    )`,
    `CREATE INDEX IF NOT EXISTS entries_n ON ${s}.entries (log_id, n)`,
    `CREATE TABLE IF NOT EXISTS ${s}.kv (
      key text PRIMARY KEY,
      value text NOT NULL,
      expires_at bigint NOT NULL
    )`,
    `CREATE INDEX IF NOT EXISTS kv_expires_at ON ${s}.kv (expires_at)`,
    `CREATE OR REPLACE FUNCTION ${s}.now_ms() RETURNS bigint LANGUAGE sql VOLATILE AS
      $$ SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint $$`,
    appendFunction(schema),
  ];
}

/**
 * `S.append(key, id_ms, id_seq, event, data, max_len, max_age_ms, ttl_ms, token, retry_since_ms)`
 * returns the entry's id, or NULL for an explicit id that another entry holds (a conflict).
 *
 * - Locking the log's row orders the appends of one log: the next one waits for this one's
 *   commit, so ids become visible in increasing order (a reader never sees `n + 1` before `n`).
 * - An assigned id is `<now>-0`, or `<last ms>-<last seq + 1>` when the clock has not moved past
 *   the last id (or stepped back).
 * - A retried assigned append (`retry_since_ms` set: the first attempt's reply was lost with the
 *   connection) returns the id its token already has, if the first attempt committed.
 * - The NOTIFY carries the log's key only; readers fetch the rows. It is sent at commit.
 */
function appendFunction(schema: string): string {
  const s = `"${schema}"`;
  return `CREATE OR REPLACE FUNCTION ${s}.append(
    p_key text, p_ms bigint, p_seq bigint, p_event text, p_data text,
    p_max_len bigint, p_max_age_ms bigint, p_ttl_ms bigint, p_token text, p_retry_since_ms bigint
  ) RETURNS text LANGUAGE plpgsql AS $fn$
  DECLARE
    now_ms bigint := ${s}.now_ms();
    log ${s}.logs%ROWTYPE;
    v_ms bigint := p_ms;
    v_seq bigint := p_seq;
    stored ${s}.entries%ROWTYPE;
  BEGIN
    SELECT * INTO log FROM ${s}.logs WHERE key = p_key FOR UPDATE;
    IF NOT FOUND THEN
      INSERT INTO ${s}.logs (key) VALUES (p_key) ON CONFLICT (key) DO NOTHING;
      SELECT * INTO log FROM ${s}.logs WHERE key = p_key FOR UPDATE;
    END IF;
    IF log.expires_at IS NOT NULL AND log.expires_at <= now_ms THEN
      -- An expired log is missing: appending to it starts a new one.
      DELETE FROM ${s}.entries WHERE log_id = log.id;
      log.last_ms := 0; log.last_seq := 0; log.appended := 0; log.expires_at := NULL;
    END IF;
    IF p_ms IS NULL THEN
      IF p_retry_since_ms IS NOT NULL THEN
        SELECT * INTO stored FROM ${s}.entries
          WHERE log_id = log.id AND ms >= p_retry_since_ms AND token = p_token LIMIT 1;
        IF FOUND THEN RETURN stored.ms || '-' || stored.seq; END IF;
      END IF;
      IF now_ms > log.last_ms THEN
        v_ms := now_ms; v_seq := 0;
      ELSE
        v_ms := log.last_ms; v_seq := log.last_seq + 1;
      END IF;
    ELSIF log.appended > 0 AND (v_ms, v_seq) <= (log.last_ms, log.last_seq) THEN
      -- The same entry again (a re-sent append) is a success; anything else is a conflict.
      SELECT * INTO stored FROM ${s}.entries WHERE log_id = log.id AND ms = v_ms AND seq = v_seq;
      IF FOUND AND stored.event IS NOT DISTINCT FROM p_event
          AND stored.data IS NOT DISTINCT FROM p_data THEN
        RETURN v_ms || '-' || v_seq;
      END IF;
      RETURN NULL;
    END IF;
    INSERT INTO ${s}.entries (log_id, ms, seq, n, event, data, token)
      VALUES (log.id, v_ms, v_seq, log.appended + 1, p_event, p_data, p_token);
    UPDATE ${s}.logs SET last_ms = v_ms, last_seq = v_seq, appended = log.appended + 1,
      expires_at = CASE WHEN p_ttl_ms IS NULL THEN log.expires_at ELSE now_ms + p_ttl_ms END
      WHERE id = log.id;
    IF p_max_len IS NOT NULL AND log.appended + 1 > p_max_len THEN
      DELETE FROM ${s}.entries WHERE log_id = log.id AND n <= log.appended + 1 - p_max_len;
    END IF;
    IF p_max_age_ms IS NOT NULL THEN
      DELETE FROM ${s}.entries WHERE log_id = log.id AND ms < now_ms - p_max_age_ms
        AND (ms, seq) < (v_ms, v_seq);
    END IF;
    PERFORM pg_notify('${schema}', 'l' || p_key);
    RETURN v_ms || '-' || v_seq;
  END
  $fn$`;
}

/** The queries, by name, for one schema. Parameters are `$n`, never spliced. */
export interface Queries {
  append: string;
  range: string;
  follow: string;
  rangeAll: string;
  bounds: string;
  cursor: string;
  setValue: string;
  getValue: string;
  notify: string;
  sweepValues: string;
  sweepLogs: string;
}

export function queries(schema: string): Queries {
  const s = `"${schema}"`;
  const live = `l.key = $1 AND (l.expires_at IS NULL OR l.expires_at > ${s}.now_ms())`;
  const columns = `e.ms::text || '-' || e.seq::text AS id, e.event, e.data`;
  return {
    append: `SELECT ${s}.append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) AS id`,
    range: `SELECT ${columns} FROM ${s}.entries e JOIN ${s}.logs l ON l.id = e.log_id
      WHERE ${live} AND (e.ms, e.seq) > ($2::bigint, $3::bigint)
      ORDER BY e.ms, e.seq LIMIT $4`,
    // A tail's read: `n` (the entry's ordinal in its log) tells it whether retention trimmed
    // entries between its cursor and the first row it gets.
    follow: `SELECT ${columns}, e.n::text AS n FROM ${s}.entries e JOIN ${s}.logs l ON l.id = e.log_id
      WHERE ${live} AND (e.ms, e.seq) > ($2::bigint, $3::bigint)
      ORDER BY e.ms, e.seq LIMIT $4`,
    rangeAll: `SELECT ${columns} FROM ${s}.entries e JOIN ${s}.logs l ON l.id = e.log_id
      WHERE ${live} ORDER BY e.ms, e.seq LIMIT $2`,
    bounds: `SELECT
      (SELECT ms::text || '-' || seq::text FROM ${s}.entries WHERE log_id = l.id
        ORDER BY ms, seq LIMIT 1) AS first,
      (SELECT ms::text || '-' || seq::text FROM ${s}.entries WHERE log_id = l.id
        ORDER BY ms DESC, seq DESC LIMIT 1) AS last
      FROM ${s}.logs l WHERE ${live}`,
    // Where a new tail starts: the last id handed out (trimmed or not); none for a missing log.
    cursor: `SELECT l.last_ms::text || '-' || l.last_seq::text AS id, l.appended::text AS n
      FROM ${s}.logs l
      WHERE ${live} AND l.appended > 0`,
    setValue: `INSERT INTO ${s}.kv (key, value, expires_at) VALUES ($1, $2, ${s}.now_ms() + $3)
      ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`,
    getValue: `SELECT value FROM ${s}.kv WHERE key = $1 AND expires_at > ${s}.now_ms()`,
    notify: `SELECT pg_notify('${schema}', $1)`,
    // The outer condition again: a row an append renewed meanwhile is rechecked, and kept.
    sweepValues: `DELETE FROM ${s}.kv WHERE expires_at <= ${s}.now_ms() AND key IN (
      SELECT key FROM ${s}.kv WHERE expires_at <= ${s}.now_ms() LIMIT 1000)`,
    sweepLogs: `DELETE FROM ${s}.logs WHERE expires_at <= ${s}.now_ms() AND id IN (
      SELECT id FROM ${s}.logs WHERE expires_at <= ${s}.now_ms() LIMIT 100)`,
  };
}
