/** Scanner extension point: inspect a version's files for security problems. */
import type { Readable } from 'node:stream';
import type { Contribution } from './contribution.ts';

export type Severity = 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW';

export interface Finding {
  severity: Severity;
  file: string;
  rule: string;
  detail: string;
}

export interface ScanTarget {
  path: string;
  size: number;
  open(): Readable;
}

export interface ScannerPlugin extends Contribution {
  readonly version: string;
  scan(file: ScanTarget): Promise<Finding[]>;
}
