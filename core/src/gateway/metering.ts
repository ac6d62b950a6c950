import { randomUUID } from 'node:crypto';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { join } from 'node:path';
import { microToUsd } from '@modelplane/plugin-sdk';
import { openSqlite } from '../store/sqlite-open.ts';

/** One metered call (seed 003's cost_events, with the token classes and the price version). */
export interface CostEvent {
  eventId: string;
  time: string;
  requestId: string;
  model: string;
  version: string;
  provider: string;
  providerModel: string;
  principal: string;
  route: string;
  strategy: string;
  tokensIn: number;
  tokensOut: number;
  tokensCached: number;
  tokensCacheWrite: number;
  tokensReasoning: number;
  costMicroUsd: number;
  priceVersion: string;
  latencyMs: number;
  ttftMs: number | null;
  stream: boolean;
  /** `cut`: the vendor broke the stream; `abandoned`: the client went away mid-stream. */
  outcome: 'completed' | 'failed' | 'cut' | 'blocked' | 'abandoned';
  /** True when the vendor reported no usage (a cut stream) and the figures are our conservative estimate. */
  usageEstimated: boolean;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS cost_events (
    event_id TEXT PRIMARY KEY,
    time TEXT NOT NULL,
    request_id TEXT NOT NULL,
    model TEXT NOT NULL,
    version TEXT NOT NULL,
    provider TEXT NOT NULL,
    provider_model TEXT NOT NULL,
    principal TEXT NOT NULL,
    route TEXT NOT NULL,
    strategy TEXT NOT NULL,
    tokens_in INTEGER NOT NULL,
    tokens_out INTEGER NOT NULL,
    tokens_cached INTEGER NOT NULL,
    tokens_cache_write INTEGER NOT NULL,
    tokens_reasoning INTEGER NOT NULL,
    cost_micro_usd INTEGER NOT NULL,
    price_version TEXT NOT NULL,
    latency_ms REAL NOT NULL,
    ttft_ms REAL,
    stream INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    usage_estimated INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS cost_events_time ON cost_events(time);
  CREATE INDEX IF NOT EXISTS cost_events_principal_time ON cost_events(principal, time);
  CREATE INDEX IF NOT EXISTS cost_events_model_time ON cost_events(model, time);
  -- Seed 003's model_daily_costs, kept up to date in the same transaction as each event.
  CREATE TABLE IF NOT EXISTS model_daily_costs (
    model TEXT NOT NULL,
    day TEXT NOT NULL,
    total_calls INTEGER NOT NULL,
    total_cost_micro_usd INTEGER NOT NULL,
    total_tokens INTEGER NOT NULL,
    PRIMARY KEY (model, day)
  );
  CREATE TABLE IF NOT EXISTS budget_alerts (
    budget TEXT NOT NULL,
    subject TEXT NOT NULL,
    period_start TEXT NOT NULL,
    threshold INTEGER NOT NULL,
    time TEXT NOT NULL,
    PRIMARY KEY (budget, subject, period_start, threshold)
  );
`;


/**
 * A UUID version 7 (RFC 9562: 48-bit Unix milliseconds, then random bits) for a cost event. Ids that grow with time
 * append to the primary-key index instead of landing on a random page of it, which keeps each commit small as the
 * table grows; they also sort in time order. The random bits come from `randomUUID`, which draws entropy in batches
 * (a `randomBytes` call per id costs a system call).
 */
export function newEventId(now = Date.now()): string {
  const random = randomUUID();
  const time = now.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8)}-7${random.slice(15)}`;
}

export interface CostSummary {
  hours: number;
  since: string;
  total_calls: number;
  total_cost_usd: string;
  total_cost_micro_usd: number;
  cost_by_model: Record<string, string>;
  top_models: Array<{ model: string; calls: number; cost_usd: string; tokens_in: number; tokens_out: number; tokens_cached: number }>;
  efficiency_metrics: {
    avg_cost_per_call_usd: string;
    cost_per_1k_tokens_usd: string;
    cached_token_share: number;
    avg_latency_ms: number;
    failed_calls: number;
  };
}

/**
 * Cost events and their daily rollup in their own SQLite file next to the metadata store's (`metering.sqlite`),
 * so the write-heavy metering never contends with registry transactions.
 */
export class MeteringStore {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #rollup: StatementSync;
  readonly #spentAll: StatementSync;
  readonly #spentByPrincipal: StatementSync;
  readonly #spentByModel: StatementSync;
  #pending: CostEvent[] = [];
  /** Callers of `committed()` waiting for the pending events' transaction. */
  #waiting: Array<() => void> = [];
  readonly #onError: (error: unknown) => void;

  constructor(dataDir: string, onError: (error: unknown) => void = (error) => console.error(error)) {
    this.#onError = onError;
    this.#db = openSqlite(join(dataDir, 'metering.sqlite'), 'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000;');
    this.#db.exec(SCHEMA);
    // Positional parameters: binding 22 named ones costs more than the insert itself (~8 µs a row here).
    this.#insert = this.#db.prepare(`INSERT INTO cost_events VALUES (${Array.from({ length: 22 }, () => '?').join(', ')})`);
    this.#rollup = this.#db.prepare(
      `INSERT INTO model_daily_costs VALUES (?1, ?2, 1, ?3, ?4)
       ON CONFLICT (model, day) DO UPDATE SET total_calls = total_calls + 1, total_cost_micro_usd = total_cost_micro_usd + ?3, total_tokens = total_tokens + ?4`,
    );
    const sum = (where: string) => this.#db.prepare(`SELECT COALESCE(SUM(cost_micro_usd), 0) AS spent FROM cost_events WHERE time >= ? ${where}`);
    this.#spentAll = sum('');
    this.#spentByPrincipal = sum('AND principal = ?');
    this.#spentByModel = sum('AND model = ?');
  }

  /**
   * Queues a cost event; the queue is committed in one transaction at the end of this turn of the event loop (group
   * commit: under load one WAL write covers every call that finished in the turn, instead of one each). A crash
   * before that loses the queued events, so a caller that acknowledges the call awaits `committed()` first — a wait
   * of one turn, not a timer's; reads and `close()` flush first.
   */
  record(event: CostEvent): void {
    this.#pending.push(event);
    if (this.#pending.length === 1) {
      setImmediate(() => {
        try {
          this.flush();
        } catch (error) {
          this.#onError(error);
        }
      });
    }
  }

  /** Resolves once every event recorded so far is committed (or its commit failed, which `onError` reports). */
  committed(): Promise<void> {
    if (this.#pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  flush(): void {
    if (this.#pending.length === 0) return;
    const events = this.#pending.splice(0);
    const waiting = this.#waiting.splice(0);
    try {
      this.#db.exec('BEGIN');
      try {
        for (const event of events) this.#write(event);
        this.#db.exec('COMMIT');
      } catch (error) {
        this.#db.exec('ROLLBACK');
        throw error;
      }
    } finally {
      for (const resolve of waiting) resolve();
    }
  }

  #write(event: CostEvent): void {
    // In the column order of SCHEMA's cost_events.
    this.#insert.run(
      event.eventId,
      event.time,
      event.requestId,
      event.model,
      event.version,
      event.provider,
      event.providerModel,
      event.principal,
      event.route,
      event.strategy,
      event.tokensIn,
      event.tokensOut,
      event.tokensCached,
      event.tokensCacheWrite,
      event.tokensReasoning,
      event.costMicroUsd,
      event.priceVersion,
      event.latencyMs,
      event.ttftMs,
      event.stream ? 1 : 0,
      event.outcome,
      event.usageEstimated ? 1 : 0,
    );
    this.#rollup.run(event.model, event.time.slice(0, 10), event.costMicroUsd, event.tokensIn + event.tokensOut);
  }

  /** Micro-dollars spent since `since` (ISO time): everything, or one principal's, or one model's. */
  spentSince(since: string, subject: { principal?: string; model?: string } = {}): number {
    this.flush();
    const row =
      subject.principal !== undefined
        ? this.#spentByPrincipal.get(since, subject.principal)
        : subject.model !== undefined
          ? this.#spentByModel.get(since, subject.model)
          : this.#spentAll.get(since);
    return Number((row as { spent: number | bigint }).spent);
  }

  events(options: { since: string; limit: number; principal?: string }): CostEvent[] {
    this.flush();
    const rows = this.#db
      .prepare(`SELECT * FROM cost_events WHERE time >= ? ${options.principal === undefined ? '' : 'AND principal = ?'} ORDER BY time DESC LIMIT ?`)
      .all(...(options.principal === undefined ? [options.since, options.limit] : [options.since, options.principal, options.limit])) as Record<string, unknown>[];
    return rows.map((r) => ({
      eventId: String(r.event_id),
      time: String(r.time),
      requestId: String(r.request_id),
      model: String(r.model),
      version: String(r.version),
      provider: String(r.provider),
      providerModel: String(r.provider_model),
      principal: String(r.principal),
      route: String(r.route),
      strategy: String(r.strategy),
      tokensIn: Number(r.tokens_in),
      tokensOut: Number(r.tokens_out),
      tokensCached: Number(r.tokens_cached),
      tokensCacheWrite: Number(r.tokens_cache_write),
      tokensReasoning: Number(r.tokens_reasoning),
      costMicroUsd: Number(r.cost_micro_usd),
      priceVersion: String(r.price_version),
      latencyMs: Number(r.latency_ms),
      ttftMs: r.ttft_ms === null ? null : Number(r.ttft_ms),
      stream: r.stream === 1 || r.stream === 1n,
      outcome: r.outcome as CostEvent['outcome'],
      usageEstimated: r.usage_estimated === 1 || r.usage_estimated === 1n,
    }));
  }

  dailyCosts(sinceDay: string): Array<{ model: string; day: string; total_calls: number; total_cost_usd: string; total_tokens: number }> {
    this.flush();
    const rows = this.#db.prepare('SELECT * FROM model_daily_costs WHERE day >= ? ORDER BY day, model').all(sinceDay) as Record<string, unknown>[];
    return rows.map((r) => ({
      model: String(r.model),
      day: String(r.day),
      total_calls: Number(r.total_calls),
      total_cost_usd: microToUsd(Number(r.total_cost_micro_usd)),
      total_tokens: Number(r.total_tokens),
    }));
  }

  /** Seed 003's `GET /api/models/costs?hours=24` answer, amounts as 6-decimal USD strings (exact). */
  summary(hours: number, now = Date.now()): CostSummary {
    this.flush();
    const since = new Date(now - hours * 3_600_000).toISOString();
    const rows = this.#db
      .prepare(
        `SELECT model, COUNT(*) AS calls, SUM(cost_micro_usd) AS cost, SUM(tokens_in) AS tin, SUM(tokens_out) AS tout, SUM(tokens_cached) AS tcached,
                SUM(latency_ms) AS latency, SUM(outcome != 'completed') AS failed
         FROM cost_events WHERE time >= ? GROUP BY model ORDER BY cost DESC, model`,
      )
      .all(since) as Record<string, number | bigint | string>[];
    const n = (v: unknown) => Number(v ?? 0);
    const calls = rows.reduce((s, r) => s + n(r.calls), 0);
    const cost = rows.reduce((s, r) => s + n(r.cost), 0);
    const tokensIn = rows.reduce((s, r) => s + n(r.tin), 0);
    const tokens = tokensIn + rows.reduce((s, r) => s + n(r.tout), 0);
    const cached = rows.reduce((s, r) => s + n(r.tcached), 0);
    return {
      hours,
      since,
      total_calls: calls,
      total_cost_usd: microToUsd(cost),
      total_cost_micro_usd: cost,
      cost_by_model: Object.fromEntries(rows.map((r) => [String(r.model), microToUsd(n(r.cost))])),
      top_models: rows.slice(0, 10).map((r) => ({
        model: String(r.model),
        calls: n(r.calls),
        cost_usd: microToUsd(n(r.cost)),
        tokens_in: n(r.tin),
        tokens_out: n(r.tout),
        tokens_cached: n(r.tcached),
      })),
      efficiency_metrics: {
        avg_cost_per_call_usd: microToUsd(calls === 0 ? 0 : Math.round(cost / calls)),
        cost_per_1k_tokens_usd: microToUsd(tokens === 0 ? 0 : Math.round((cost * 1000) / tokens)),
        cached_token_share: tokensIn === 0 ? 0 : cached / tokensIn,
        avg_latency_ms: calls === 0 ? 0 : rows.reduce((s, r) => s + n(r.latency), 0) / calls,
        failed_calls: rows.reduce((s, r) => s + n(r.failed), 0),
      },
    };
  }

  /** Records a threshold crossing; false when it was already recorded for this period (fire once). */
  markThreshold(budget: string, subject: string, periodStart: string, threshold: number): boolean {
    const result = this.#db
      .prepare('INSERT OR IGNORE INTO budget_alerts VALUES (?, ?, ?, ?, ?)')
      .run(budget, subject, periodStart, threshold, new Date().toISOString());
    return Number(result.changes) === 1;
  }

  close(): void {
    this.flush();
    this.#db.close();
  }
}
