import type { VersionRecord } from '@modelplane/plugin-sdk';

export interface LicenseTerms {
  id: string;
  name: string;
  commercialUse: boolean;
  derivatives: boolean;
  /** Monthly active users above which the license needs a separate agreement. */
  mauLimit?: number;
  note?: string;
}

/** Known licenses; a version's own `license.restrictions` override these flags. */
export const LICENSES: Readonly<Record<string, LicenseTerms>> = {
  'Apache-2.0': { id: 'Apache-2.0', name: 'Apache License 2.0', commercialUse: true, derivatives: true },
  MIT: { id: 'MIT', name: 'MIT License', commercialUse: true, derivatives: true },
  'llama-3.1-community': {
    id: 'llama-3.1-community',
    name: 'Llama 3.1 Community License',
    commercialUse: true,
    derivatives: true,
    mauLimit: 700_000_000,
    note: 'services above 700M monthly active users need a license from Meta; attribution required',
  },
  'mistral-research': {
    id: 'mistral-research',
    name: 'Mistral AI Research License',
    commercialUse: false,
    derivatives: true,
    note: 'research and non-commercial use only',
  },
  'openai-tos': {
    id: 'openai-tos',
    name: 'OpenAI Terms of Use (hosted model)',
    commercialUse: true,
    derivatives: false,
    note: 'outputs may not be used to develop competing models',
  },
  custom: { id: 'custom', name: 'Custom license', commercialUse: false, derivatives: false, note: 'read the license before use' },
};

export interface LicensePolicy {
  commercialUse: boolean;
  derivatives: boolean;
  /** Expected monthly active users of the product using the model. */
  expectedMau?: number;
}

export interface LicenseDecision {
  decision: 'allowed' | 'warning' | 'blocked';
  license: string;
  reasons: string[];
  terms: LicenseTerms | null;
}

/** Checks a version's license against the configured usage policy. */
export function checkLicense(version: VersionRecord, policy: LicensePolicy): LicenseDecision {
  const declared = version.metadata.license as { id: string; restrictions?: Record<string, unknown> } | undefined;
  const id = declared?.id ?? 'unknown';
  // SPDX license ids are case-insensitive: "mit" is MIT.
  const known = LICENSES[id] ?? Object.entries(LICENSES).find(([catalogued]) => catalogued.toLowerCase() === id.toLowerCase())?.[1];
  const r = declared?.restrictions ?? {};
  const commercial = typeof r.commercial_use === 'boolean' ? r.commercial_use : known?.commercialUse;
  const derivatives = typeof r.derivatives === 'boolean' ? r.derivatives : known?.derivatives;
  const mauLimit = typeof r.mau_limit === 'number' ? r.mau_limit : known?.mauLimit;
  const blocked: string[] = [];
  const warnings: string[] = [];
  if (!known && commercial === undefined) warnings.push(`license "${id}" is not in the catalogue and declares no restrictions; review it`);
  if (policy.commercialUse && commercial === false) blocked.push(`license "${id}" does not allow commercial use, which the policy requires`);
  if (policy.derivatives && derivatives === false) blocked.push(`license "${id}" does not allow derivatives, which the policy requires`);
  if (mauLimit !== undefined) {
    if (policy.expectedMau !== undefined && policy.expectedMau > mauLimit) {
      blocked.push(`license "${id}" limits use to ${mauLimit.toLocaleString('en')} monthly active users; the policy expects ${policy.expectedMau.toLocaleString('en')}`);
    } else {
      warnings.push(`license "${id}" has a monthly-active-user limit of ${mauLimit.toLocaleString('en')}`);
    }
  }
  if (known?.note && blocked.length === 0) warnings.push(known.note);
  return {
    decision: blocked.length > 0 ? 'blocked' : warnings.length > 0 ? 'warning' : 'allowed',
    license: id,
    reasons: [...blocked, ...warnings],
    terms: known ?? null,
  };
}
