import type { Finding, ScannerPlugin, Severity } from '@modelplane/plugin-sdk';

export interface Signature {
  rule: string;
  /** Bytes to look for, as text. */
  pattern: string;
  severity: Severity;
}

/** The EICAR anti-virus test string: harmless, and every scanner's first fixture. */
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

export function signatureScanner(signatures: readonly Signature[], version: string): ScannerPlugin {
  const patterns = signatures.map((s) => ({ ...s, bytes: Buffer.from(s.pattern) }));
  // Keep the end of the previous chunk so a signature split across two chunks is still found.
  const overlap = Math.max(0, ...patterns.map((p) => p.bytes.length - 1));
  return {
    id: 'template-scanner',
    version,
    async scan(target): Promise<Finding[]> {
      const found = new Set<string>();
      let tail = Buffer.alloc(0);
      // Files can be gigabytes: stream them, never read them whole.
      for await (const chunk of target.open()) {
        const window = Buffer.concat([tail, chunk as Buffer]);
        for (const p of patterns) if (window.includes(p.bytes)) found.add(p.rule);
        tail = window.subarray(Math.max(0, window.length - overlap));
      }
      return patterns
        .filter((p) => found.has(p.rule))
        .map((p) => ({ severity: p.severity, file: target.path, rule: p.rule, detail: `contains the ${p.rule} signature` }));
    },
  };
}
