/** Checks that turn a pattern match into a finding: checksums, allocation rules, entropy. */

/** The Luhn (mod 10) check used by every payment card number. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/**
 * Card numbers start with 2–6 (Mastercard 2-series, Amex/Diners/JCB, Visa, Mastercard, Discover/UnionPay/
 * Maestro); requiring it, on top of Luhn, turns away most order and tracking numbers that pass Luhn by chance.
 */
export function cardNumberValid(digits: string): boolean {
  if (digits.length < 13 || digits.length > 19) return false;
  const first = digits.charCodeAt(0) - 48;
  if (first < 2 || first > 6) return false;
  if (/^(\d)\1+$/.test(digits)) return false;
  return luhnValid(digits);
}

/** IBAN lengths by country (ISO 13616 registry); a country not listed is not an IBAN. */
export const IBAN_LENGTHS: Readonly<Record<string, number>> = Object.freeze({
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28, CH: 21,
  CR: 22, CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FK: 18, FO: 18,
  FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26,
  IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20, LV: 21, LY: 25, MC: 27, MD: 24,
  ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28, NL: 18, NO: 15, OM: 23, PK: 24, PL: 28, PS: 29,
  PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24, SC: 31, SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23,
  ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24, XK: 20, YE: 30,
});

/** ISO 7064 mod 97-10 over the rearranged IBAN (country and check digits moved to the end). */
export function ibanChecksumValid(compact: string): boolean {
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (let i = 0; i < rearranged.length; i++) {
    const code = rearranged.charCodeAt(i);
    if (code >= 48 && code <= 57) {
      remainder = (remainder * 10 + (code - 48)) % 97;
    } else if (code >= 65 && code <= 90) {
      remainder = (remainder * 100 + (code - 55)) % 97;
    } else {
      return false;
    }
  }
  return remainder === 1;
}

/**
 * US Social Security numbers never issued: area 000, 666 or 900–999, group 00, serial 0000, plus the
 * numbers printed on sample cards and in advertising (078-05-1120, 219-09-9999, 457-55-5462).
 */
export function ssnValid(area: string, group: string, serial: string): boolean {
  const a = Number(area);
  if (a === 0 || a === 666 || a >= 900) return false;
  if (group === '00' || serial === '0000') return false;
  const whole = `${area}${group}${serial}`;
  return whole !== '078051120' && whole !== '219099999' && whole !== '457555462';
}

/** North American numbering plan: area code and exchange start with 2–9, area is not an N11 service code. */
export function nanpValid(digits: string): boolean {
  const national = digits.length === 11 && digits[0] === '1' ? digits.slice(1) : digits;
  if (national.length !== 10) return false;
  if (national[0]! < '2' || national[3]! < '2') return false;
  return !(national[1] === '1' && national[2] === '1');
}

/** Shannon entropy in bits per character: random tokens score 4+, words and repeated text far less. */
export function shannonEntropy(text: string): number {
  if (text.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/**
 * A value that looks machine-made: long enough, at least two of lower case, upper case and digits
 * (identifiers like `hello_world_value` have one), and varied enough.
 */
export function looksLikeSecret(value: string, minLength = 16, minEntropy = 3): boolean {
  if (value.length < minLength) return false;
  const classes = Number(/[a-z]/.test(value)) + Number(/[A-Z]/.test(value)) + Number(/\d/.test(value));
  return classes >= 2 && shannonEntropy(value) >= minEntropy;
}

/** Password-like: at least 6 characters, and not a bare lowercase word ("password: required"). */
export function looksLikePassword(value: string): boolean {
  return value.length >= 6 && !/^[a-z]+$/.test(value);
}
