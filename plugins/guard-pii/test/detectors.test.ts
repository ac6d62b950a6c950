import { describe, expect, it } from 'vitest';
import { detect, holdWindow, ibanChecksumValid, luhnValid, mask, type PiiType } from '../src/index.ts';

/** Masks the text and lists the rules that fired. */
function run(text: string): { masked: string; rules: string[] } {
  const { findings } = detect(text);
  return { masked: mask(text, findings), rules: findings.map((f) => f.rule) };
}

function only(type: PiiType, text: string): string[] {
  return detect(text, { types: new Set([type]) }).findings.map((f) => text.slice(f.start, f.end));
}

/** Appends the Luhn check digit, so tests can build valid numbers with any prefix. */
function withCheckDigit(body: string): string {
  for (let d = 0; d <= 9; d++) if (luhnValid(body + d)) return body + d;
  throw new Error('unreachable');
}

describe('emails', () => {
  it.each([
    ['Write to jane.doe+billing@example.co.uk today.', 'jane.doe+billing@example.co.uk'],
    ['<bob_smith@mail.sub-domain.example.org>', 'bob_smith@mail.sub-domain.example.org'],
    ['contact: X9@x.io.', 'X9@x.io'],
  ])('finds %s', (text, email) => {
    expect(only('email', text)).toEqual([email]);
  });

  it.each(['root@localhost', 'follow @handle on social', 'name at example dot com', 'a@b', 'user@.com', 'git@github'])(
    'leaves %s alone',
    (text) => {
      expect(only('email', text)).toEqual([]);
    },
  );
});

describe('phone numbers', () => {
  it.each([
    ['Call (415) 555-0132 now', '(415) 555-0132'],
    ['Office: 212-555-0147.', '212-555-0147'],
    ['dots 212.555.0147', '212.555.0147'],
    ['US +1 650 253 0000', '+1 650 253 0000'],
    ['London +44 20 7946 0958', '+44 20 7946 0958'],
    ['Berlin +49 30 901820', '+49 30 901820'],
    ['Paris +33 1 42 68 53 00', '+33 1 42 68 53 00'],
    ['Tokyo +81-3-1234-5678', '+81-3-1234-5678'],
  ])('finds %s', (text, phone) => {
    expect(only('phone', text)).toEqual([phone]);
  });

  it.each([
    'released 2024-01-15',
    'ISBN 978-3-16-148410-0',
    'version 10.2.3',
    'invalid area 123-456-7890', // area codes never start with 1
    'invalid exchange 555-123-4567', // nor exchanges
    'N11 service code 411-555-0100',
    'a sum: +1 2', // too few digits
    'order 5551234567', // bare 10 digits are too often ids to call phones
  ])('leaves "%s" alone', (text) => {
    expect(only('phone', text)).toEqual([]);
  });
});

describe('card numbers', () => {
  it.each([
    '4111 1111 1111 1111', // Visa
    '4012888888881881',
    '5555-5555-5555-4444', // Mastercard
    '2223 0031 2200 3222', // Mastercard 2-series
    '3782 822463 10005', // Amex, 15 digits
    '6011111111111117', // Discover
    '3530111333300000', // JCB
    '30569309025904', // Diners, 14 digits
    '4222222222222', // Visa, 13 digits
  ])('finds %s', (card) => {
    expect(only('card', `pay with ${card} please`)).toEqual([card]);
  });

  it('a 16-digit order number that fails Luhn is not a card', () => {
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(only('card', 'order 4111111111111112 shipped')).toEqual([]);
    expect(only('card', 'order 1234 5678 9012 3456')).toEqual([]);
  });

  it('a Luhn-valid number outside the card ranges is not a card either', () => {
    const tracking = withCheckDigit('100000000000004'); // starts with 1: no card network
    expect(luhnValid(tracking)).toBe(true);
    expect(only('card', `tracking ${tracking}`)).toEqual([]);
    expect(only('card', 'epoch 1700000000000 ms')).toEqual([]);
    expect(only('card', 'zeros 0000 0000 0000 0000')).toEqual([]);
  });

  it('too short or too long', () => {
    const twelve = withCheckDigit('41111111111');
    const twenty = withCheckDigit('4111111111111111111');
    expect([twelve.length, twenty.length]).toEqual([12, 20]);
    expect(only('card', `a ${twelve} b ${twenty} c`)).toEqual([]);
  });

  it('finds the card in a card followed by more digits', () => {
    expect(only('card', 'card 4111 1111 1111 1111 12 months')).toEqual(['4111 1111 1111 1111']);
    expect(only('card', `id ${'4'.repeat(1)}${'1'.repeat(23)}`)).toEqual([]);
  });
});

describe('IBANs', () => {
  it.each([
    'DE89 3704 0044 0532 0130 00',
    'GB82WEST12345698765432',
    'FR14 2004 1010 0505 0001 3M02 606',
    'NL91ABNA0417164300',
    'CH9300762011623852957',
    'gb82 west 1234 5698 7654 32',
  ])('finds %s', (iban) => {
    expect(only('iban', `transfer to ${iban} today`)).toEqual([iban]);
  });

  it('rejects a wrong check, an unknown country and a wrong length', () => {
    expect(ibanChecksumValid('DE89370400440532013001')).toBe(false);
    expect(only('iban', 'DE89 3704 0044 0532 0130 01')).toEqual([]);
    expect(only('iban', 'XX89 3704 0044 0532 0130 00')).toEqual([]);
    expect(only('iban', 'DE89 3704 0044 0532 0130')).toEqual([]);
    expect(only('iban', 'the words AB12 are not an iban and ZZ99 ABCDEFGHIJKLMNOP neither')).toEqual([]);
  });
});

describe('US social security numbers', () => {
  it('finds valid ones, with dashes or spaces', () => {
    expect(only('ssn', 'SSN 123-45-6789, spouse 234 56 7890')).toEqual(['123-45-6789', '234 56 7890']);
  });

  it.each(['000-12-3456', '666-12-3456', '900-12-3456', '987-65-4321', '123-00-4567', '123-45-0000', '078-05-1120', '219-09-9999', '123-45 6789', '1123-45-6789'])(
    'never issued or malformed: %s',
    (ssn) => {
      expect(only('ssn', `ssn ${ssn}`)).toEqual([]);
    },
  );
});

describe('IP addresses', () => {
  it('finds IPv4 and IPv6', () => {
    expect(only('ip', 'hosts 192.168.1.20, 10.0.0.1. and 8.8.8.8')).toEqual(['192.168.1.20', '10.0.0.1', '8.8.8.8']);
    expect(only('ip', 'v6 2001:db8::8a2e:370:7334, fe80::1 and ::1 and ::ffff:192.0.2.128')).toEqual([
      '2001:db8::8a2e:370:7334',
      'fe80::1',
      '::1',
      '::ffff:192.0.2.128',
    ]);
  });

  it.each(['999.1.1.1', '1.2.3.4.5', 'v1.2.3.4', 'time 12:30:45', 'mac 00:1A:2B:3C:4D:5E', 'std::vector<int>', 'a::b', '256.0.0.1'])(
    'leaves "%s" alone',
    (text) => {
      expect(only('ip', text)).toEqual([]);
    },
  );
});

describe('API keys and secrets', () => {
  const openai = 'sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z';
  const anthropic = `sk-ant-api03-${'aB3_dE6-fG9'.repeat(8)}`;
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
  const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\n4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0\n-----END RSA PRIVATE KEY-----';

  it.each([
    ['secret.openai', `export OPENAI_API_KEY=${openai}`, openai],
    ['secret.openai', 'legacy sk-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0PpOo', 'sk-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0PpOo'],
    ['secret.anthropic', `x-api-key: ${anthropic}`, anthropic],
    ['secret.aws', 'aws_access_key_id = AKIAIOSFODNN7EXAMPLE', 'AKIAIOSFODNN7EXAMPLE'],
    ['secret.github', 'token ghp_1234567890abcdefghijklmnopqrstuvwxyzAB', 'ghp_1234567890abcdefghijklmnopqrstuvwxyzAB'],
    ['secret.slack', 'SLACK=xoxb-123456789012-abcdefghij', 'xoxb-123456789012-abcdefghij'],
    ['secret.jwt', `Authorization: Bearer ${jwt}`, jwt],
    ['secret.bearer', 'curl -H "Authorization: Bearer 9f8e7D6c5B4a3F2e1D0c9B8a"', '9f8e7D6c5B4a3F2e1D0c9B8a'],
    ['secret.generic', 'config = { "client_secret": "Zx9Qw3Er5Ty7Ui9Op1As" }', 'Zx9Qw3Er5Ty7Ui9Op1As'],
    ['secret.generic', 'aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
    ['secret.password', 'db password: hunter22', 'hunter22'],
    ['private_key.pem', `key:\n${pem}\nthanks`, pem],
  ])('%s in %s', (rule, text, secret) => {
    const found = detect(text).findings;
    expect(found.map((f) => [f.rule, text.slice(f.start, f.end)])).toEqual([[rule, secret]]);
  });

  it('masks only the value of an assignment', () => {
    expect(run('api_key = "Zx9Qw3Er5Ty7Ui9Op1As"').masked).toBe('api_key = "[SECRET]"');
    expect(run('password=hunter22;').masked).toBe('password=[SECRET];');
  });

  it('an unterminated private key is masked to the end', () => {
    expect(run('here: -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC').masked).toBe('here: [PRIVATE_KEY]');
  });

  it.each([
    'we use sk-learn and sk-ant for short',
    'a task-oriented design',
    'the token: hello_world_value_name', // an identifier, not a secret
    'password: required',
    'api_key: see the docs',
    'AKIA is the prefix of AWS key ids',
    'Bearer tokens are described in RFC 6750',
    'ghp_short',
  ])('leaves "%s" alone', (text) => {
    expect(detect(text).findings).toEqual([]);
  });
});

describe('masking a realistic prompt', () => {
  it('replaces each finding with its typed placeholder and nothing else', () => {
    const prompt = [
      'Hi, I am Jane (jane.doe@example.com, +44 20 7946 0958).',
      'Please refund card 4111 1111 1111 1111 to IBAN DE89 3704 0044 0532 0130 00.',
      'My SSN is 123-45-6789 and the server is 10.0.0.7.',
      'Order #4111111111111112 arrived on 2024-01-15.',
    ].join('\n');
    expect(run(prompt).masked).toBe(
      [
        'Hi, I am Jane ([EMAIL], [PHONE]).',
        'Please refund card [CARD] to IBAN [IBAN].',
        'My SSN is [SSN] and the server is [IP].',
        'Order #4111111111111112 arrived on 2024-01-15.',
      ].join('\n'),
    );
  });

  it('overlaps go to the more specific detector', () => {
    // The key is also a high-entropy token= value; it is reported once, as what it is.
    expect(run('token=sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z').rules).toEqual(['secret.openai']);
  });

  it('an allow list keeps known values', () => {
    const text = 'write to support@modelplane.dev or jane@example.com';
    const { findings } = detect(text, { allow: new Set(['support@modelplane.dev']) });
    expect(mask(text, findings)).toBe('write to support@modelplane.dev or [EMAIL]');
  });

  it('the hold window covers the longest pattern still forming', () => {
    expect(holdWindow()).toBe(256);
    expect(holdWindow(new Set(['card', 'ssn']))).toBe(40);
  });

  it('stays linear on hostile input', () => {
    const hostile = `${'a-'.repeat(20_000)}@ ${'1 '.repeat(20_000)} ${'ab:'.repeat(10_000)} ${'token'.repeat(5000)}=`;
    const start = performance.now();
    detect(hostile);
    expect(performance.now() - start).toBeLessThan(2000);
  });
});
