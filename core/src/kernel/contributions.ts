import {
  type Contribution,
  EXTENSION_POINTS,
  type ExtensionPointName,
  type ExtensionPoints,
  type Register,
} from '@modelplane/plugin-sdk';
import { Errors } from '../errors.ts';

export interface Contributed<T> {
  contribution: T;
  /** Name of the plugin that registered it. */
  plugin: string;
}

/** What each extension point cannot work without: checked at registration, so a typo fails the boot, not a request. */
const REQUIRED: Record<ExtensionPointName, ReadonlyArray<readonly [member: string, kind: 'function' | 'list']>> = {
  runtime: [['frameworks', 'list'], ['load', 'function']],
  scanner: [['scan', 'function']],
  routerStrategy: [['rank', 'function']],
  guard: [],
  provider: [['chat', 'function'], ['stream', 'function']],
  metadataStore: [['open', 'function']],
  artifactStore: [['open', 'function']],
  source: [['listVersions', 'function']],
  validator: [['validate', 'function']],
};

/** What plugins registered for one extension point, by id. */
export class ExtensionRegistry<T extends Contribution> {
  readonly point: ExtensionPointName;
  readonly #byId = new Map<string, Contributed<T>>();

  constructor(point: ExtensionPointName) {
    this.point = point;
  }

  add(plugin: string, contribution: T): void {
    if (
      typeof contribution !== 'object' ||
      contribution === null ||
      typeof contribution.id !== 'string' ||
      contribution.id === ''
    ) {
      throw new Errors.InvalidContribution(`plugin ${plugin} registered a ${this.point} without a string "id"`);
    }
    const record = contribution as unknown as Record<string, unknown>;
    const missing = REQUIRED[this.point].filter(([member, kind]) => (kind === 'list' ? !Array.isArray(record[member]) : typeof record[member] !== 'function'));
    if (missing.length > 0) {
      throw new Errors.InvalidContribution(
        `plugin ${plugin} registered ${this.point} "${contribution.id}" without ${missing.map(([member, kind]) => `${member} (a ${kind})`).join(' and ')}`,
        { details: { plugin, point: this.point, id: contribution.id, missing: missing.map(([member]) => member) } },
      );
    }
    const existing = this.#byId.get(contribution.id);
    if (existing) {
      throw new Errors.DuplicateContribution(
        `${this.point} "${contribution.id}" is registered by both ${existing.plugin} and ${plugin}; ` +
          'ids must be unique per extension point (remove one plugin or give the contribution another id)',
        { details: { point: this.point, id: contribution.id, plugins: [existing.plugin, plugin] } },
      );
    }
    this.#byId.set(contribution.id, { contribution, plugin });
  }

  get(id: string): T | undefined {
    return this.#byId.get(id)?.contribution;
  }

  list(): Contributed<T>[] {
    return [...this.#byId.values()];
  }

  idsBy(plugin: string): string[] {
    return this.list()
      .filter((entry) => entry.plugin === plugin)
      .map((entry) => entry.contribution.id);
  }
}

export type Contributions = { readonly [P in ExtensionPointName]: ExtensionRegistry<ExtensionPoints[P]> };

export function createContributions(): Contributions {
  return Object.freeze(
    Object.fromEntries(EXTENSION_POINTS.map((point) => [point, new ExtensionRegistry(point)])),
  ) as Contributions;
}

/** The `ctx.register` object handed to one plugin: every call is attributed to that plugin. */
export function registerFor(contributions: Contributions, plugin: string): Register {
  return Object.freeze(
    Object.fromEntries(
      EXTENSION_POINTS.map((point) => [
        point,
        (contribution: Contribution) =>
          (contributions[point] as ExtensionRegistry<Contribution>).add(plugin, contribution),
      ]),
    ),
  ) as unknown as Register;
}

/** `{ runtime: ['onnx'], guard: [] … }` for one plugin, leaving out empty points. */
export function contributionsOf(
  contributions: Contributions,
  plugin: string,
): Partial<Record<ExtensionPointName, string[]>> {
  const result: Partial<Record<ExtensionPointName, string[]>> = {};
  for (const point of EXTENSION_POINTS) {
    const ids = contributions[point].idsBy(plugin);
    if (ids.length > 0) result[point] = ids;
  }
  return result;
}
