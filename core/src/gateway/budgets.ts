import { type BudgetThresholdEvent, microToUsd } from '@modelplane/plugin-sdk';
import { Errors } from '../errors.ts';
import type { MeteringStore } from './metering.ts';

export interface BudgetDefinition {
  name: string;
  /** `key` and `model` budgets apply to one subject when `subject` is set, else to each key / model apart. */
  scope: 'global' | 'key' | 'model';
  subject?: string;
  period: 'daily' | 'monthly';
  limitMicroUsd: number;
}

export const THRESHOLDS = [70, 90, 100] as const;
const LEVEL = { 70: 'warning', 90: 'critical', 100: 'exhausted' } as const;

interface Account {
  definition: BudgetDefinition;
  subject: string;
  periodStart: string;
  spent: number;
  reserved: number;
}

export interface Reservation {
  readonly amount: number;
  readonly accounts: readonly Account[];
  settled: boolean;
}

export function periodStart(period: 'daily' | 'monthly', now: number): string {
  const date = new Date(now);
  const start = period === 'daily' ? Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()) : Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
  return new Date(start).toISOString();
}

function periodEnd(period: 'daily' | 'monthly', start: string): number {
  const date = new Date(start);
  return period === 'daily' ? date.getTime() + 86_400_000 : Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
}

/**
 * Budgets that never overspend: a call reserves its worst case (every input byte a token, plus max_tokens of
 * output) on every budget that applies before any vendor is called, and is refused when that does not fit;
 * afterwards the reservation is replaced by the real cost. All of it is synchronous within this process,
 * so concurrent calls cannot race between the check and the reservation.
 */
export class Budgets {
  readonly #definitions: readonly BudgetDefinition[];
  readonly #metering: MeteringStore;
  readonly #accounts = new Map<string, Account>();
  readonly #onThreshold: (event: BudgetThresholdEvent) => void;

  constructor(options: { definitions: readonly BudgetDefinition[]; metering: MeteringStore; onThreshold: (event: BudgetThresholdEvent) => void }) {
    this.#definitions = options.definitions;
    this.#metering = options.metering;
    this.#onThreshold = options.onThreshold;
  }

  /** The budgets that apply to a call by this principal to this model, plus the key's own budget if it has one. */
  #applicable(principal: string, model: string, keyBudget: BudgetDefinition | undefined, now: number): Account[] {
    const accounts: Account[] = [];
    const definitions = keyBudget ? [...this.#definitions, keyBudget] : this.#definitions;
    for (const definition of definitions) {
      let subject: string;
      if (definition.scope === 'global') subject = 'global';
      else if (definition.scope === 'key') {
        if (definition.subject !== undefined && definition.subject !== principal) continue;
        subject = `key:${principal}`;
      } else {
        if (definition.subject !== undefined && definition.subject !== model) continue;
        subject = `model:${model}`;
      }
      accounts.push(this.#account(definition, subject, now));
    }
    return accounts;
  }

  #account(definition: BudgetDefinition, subject: string, now: number): Account {
    const start = periodStart(definition.period, now);
    const key = `${definition.name}\u0000${subject}\u0000${start}`;
    let account = this.#accounts.get(key);
    if (!account) {
      // The first call of a period (or after a restart) starts from what the cost events say was spent.
      const filter = subject.startsWith('key:') ? { principal: subject.slice(4) } : subject.startsWith('model:') ? { model: subject.slice(6) } : {};
      account = { definition, subject, periodStart: start, spent: this.#metering.spentSince(start, filter), reserved: 0 };
      this.#accounts.set(key, account);
    }
    return account;
  }

  reserve(call: { principal: string; model: string; keyBudget?: BudgetDefinition; worstCaseMicroUsd: number; now?: number }): Reservation {
    const now = call.now ?? Date.now();
    const accounts = this.#applicable(call.principal, call.model, call.keyBudget, now);
    for (const account of accounts) {
      const { definition } = account;
      const left = definition.limitMicroUsd - account.spent - account.reserved;
      if (account.spent >= definition.limitMicroUsd) {
        const resetSeconds = Math.ceil((periodEnd(definition.period, account.periodStart) - now) / 1000);
        throw new Errors.BudgetExceeded(
          `budget "${definition.name}" (${account.subject}, ${definition.period}) is exhausted: $${microToUsd(account.spent)} spent of $${microToUsd(definition.limitMicroUsd)}; it resets in ${resetSeconds} s`,
          { details: { budget: definition.name, subject: account.subject, retryAfterSeconds: resetSeconds } },
        );
      }
      if (call.worstCaseMicroUsd > left) {
        // Reservations keep spend from ever reaching the limit exactly, so "exhausted" is also the first refusal
        // that no amount of waiting for calls in flight would lift.
        if (call.worstCaseMicroUsd > definition.limitMicroUsd - account.spent) this.#crossed(account, 100);
        throw new Errors.BudgetExceeded(
          `budget "${definition.name}" (${account.subject}, ${definition.period}) has $${microToUsd(Math.max(0, left))} left ` +
            `($${microToUsd(account.reserved)} of it held by calls in flight) and this call may cost up to $${microToUsd(call.worstCaseMicroUsd)}; lower max_tokens or retry later`,
          { details: { budget: definition.name, subject: account.subject, retryAfterSeconds: 1 } },
        );
      }
    }
    for (const account of accounts) account.reserved += call.worstCaseMicroUsd;
    return { amount: call.worstCaseMicroUsd, accounts, settled: false };
  }

  /** Replaces the reservation by the real cost (0 for a call that cost nothing); idempotent. */
  settle(reservation: Reservation, costMicroUsd: number): void {
    if (reservation.settled) return;
    reservation.settled = true;
    for (const account of reservation.accounts) {
      account.reserved -= reservation.amount;
      const before = account.spent;
      account.spent += costMicroUsd;
      this.#checkThresholds(account, before);
    }
  }

  #checkThresholds(account: Account, before: number): void {
    for (const threshold of THRESHOLDS) {
      const line = (account.definition.limitMicroUsd * threshold) / 100;
      if (account.spent >= line && before < line) this.#crossed(account, threshold);
    }
  }

  /** Fires a threshold once per budget, subject and period, even across restarts (recorded in the metering store). */
  #crossed(account: Account, threshold: (typeof THRESHOLDS)[number]): void {
    const { definition } = account;
    if (this.#metering.markThreshold(definition.name, account.subject, account.periodStart, threshold)) {
      this.#onThreshold({
        budget: definition.name,
        subject: account.subject,
        period: definition.period,
        periodStart: account.periodStart,
        threshold,
        level: LEVEL[threshold],
        spentMicroUsd: account.spent,
        limitMicroUsd: definition.limitMicroUsd,
      });
    }
  }

  /** Every budget account touched in its current period, for `GET /api/v1/budgets`. */
  status(now = Date.now()): Array<{ budget: string; subject: string; period: string; period_start: string; limit_usd: string; spent_usd: string; reserved_usd: string; used: number }> {
    for (const definition of this.#definitions) {
      if (definition.scope === 'global' || definition.subject !== undefined) {
        this.#account(definition, definition.scope === 'global' ? 'global' : `${definition.scope}:${definition.subject}`, now);
      }
    }
    return [...this.#accounts.values()]
      .filter((a) => a.periodStart === periodStart(a.definition.period, now))
      .map((a) => ({
        budget: a.definition.name,
        subject: a.subject,
        period: a.definition.period,
        period_start: a.periodStart,
        limit_usd: microToUsd(a.definition.limitMicroUsd),
        spent_usd: microToUsd(a.spent),
        reserved_usd: microToUsd(a.reserved),
        used: a.definition.limitMicroUsd === 0 ? 1 : a.spent / a.definition.limitMicroUsd,
      }));
  }
}
