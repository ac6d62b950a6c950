import type { Finding } from '@modelplane/plugin-sdk';
import { classifyGlobal, DUNDER_GADGETS } from './globals.ts';

/** Argument encodings of every opcode of pickle protocols 0–5 (Lib/pickletools.py), so the reader never loses sync. */
type Arg = 'none' | 'u1' | 'u2' | 'i4' | 'u4' | 'u8' | 'line' | 'line2' | 'len1' | 'len4' | 'len8' | 'f8';
const OPCODES: Record<number, { name: string; arg: Arg }> = {};
const define = (code: string, name: string, arg: Arg) => {
  OPCODES[code.charCodeAt(0)] = { name, arg };
};
define('(', 'MARK', 'none');
define('.', 'STOP', 'none');
define('0', 'POP', 'none');
define('1', 'POP_MARK', 'none');
define('2', 'DUP', 'none');
define('F', 'FLOAT', 'line');
define('I', 'INT', 'line');
define('J', 'BININT', 'i4');
define('K', 'BININT1', 'u1');
define('L', 'LONG', 'line');
define('M', 'BININT2', 'u2');
define('N', 'NONE', 'none');
define('P', 'PERSID', 'line');
define('Q', 'BINPERSID', 'none');
define('R', 'REDUCE', 'none');
define('S', 'STRING', 'line');
define('T', 'BINSTRING', 'len4');
define('U', 'SHORT_BINSTRING', 'len1');
define('V', 'UNICODE', 'line');
define('X', 'BINUNICODE', 'len4');
define('a', 'APPEND', 'none');
define('b', 'BUILD', 'none');
define('c', 'GLOBAL', 'line2');
define('d', 'DICT', 'none');
define('}', 'EMPTY_DICT', 'none');
define('e', 'APPENDS', 'none');
define('g', 'GET', 'line');
define('h', 'BINGET', 'u1');
define('i', 'INST', 'line2');
define('j', 'LONG_BINGET', 'u4');
define('l', 'LIST', 'none');
define(']', 'EMPTY_LIST', 'none');
define('o', 'OBJ', 'none');
define('p', 'PUT', 'line');
define('q', 'BINPUT', 'u1');
define('r', 'LONG_BINPUT', 'u4');
define('s', 'SETITEM', 'none');
define('t', 'TUPLE', 'none');
define(')', 'EMPTY_TUPLE', 'none');
define('u', 'SETITEMS', 'none');
define('G', 'BINFLOAT', 'f8');
define('\x80', 'PROTO', 'u1');
define('\x81', 'NEWOBJ', 'none');
define('\x82', 'EXT1', 'u1');
define('\x83', 'EXT2', 'u2');
define('\x84', 'EXT4', 'u4');
define('\x85', 'TUPLE1', 'none');
define('\x86', 'TUPLE2', 'none');
define('\x87', 'TUPLE3', 'none');
define('\x88', 'NEWTRUE', 'none');
define('\x89', 'NEWFALSE', 'none');
define('\x8a', 'LONG1', 'len1');
define('\x8b', 'LONG4', 'len4');
define('B', 'BINBYTES', 'len4');
define('C', 'SHORT_BINBYTES', 'len1');
define('\x8c', 'SHORT_BINUNICODE', 'len1');
define('\x8d', 'BINUNICODE8', 'len8');
define('\x8e', 'BINBYTES8', 'len8');
define('\x8f', 'EMPTY_SET', 'none');
define('\x90', 'ADDITEMS', 'none');
define('\x91', 'FROZENSET', 'none');
define('\x92', 'NEWOBJ_EX', 'none');
define('\x93', 'STACK_GLOBAL', 'none');
define('\x94', 'MEMOIZE', 'none');
define('\x95', 'FRAME', 'u8');
define('\x96', 'BYTEARRAY8', 'len8');
define('\x97', 'NEXT_BUFFER', 'none');
define('\x98', 'READONLY_BUFFER', 'none');

/** What the symbolic stack knows about a value: a string (possibly a module or name), a global, or anything else. */
type Value = { kind: 'str'; value: string } | { kind: 'global'; ref: string } | { kind: 'other' };
const MARK = Symbol('mark');
type Slot = Value | typeof MARK;
const OTHER: Value = { kind: 'other' };

/** Opcodes a protocol 0/1 pickle (which has no PROTO opcode) can start with. */
export const PROTOCOL0_START = new Set([...'c(]}ldNIJKSVXi'].map((c) => c.charCodeAt(0)));

/** The findings that name a known code, file or network gadget: random data that only looks like a pickle never spells one. */
export function knownGadgets(findings: Finding[]): Finding[] {
  return findings.filter((finding) => finding.severity === 'CRITICAL');
}

export class PickleError extends Error {
  /** What was read before the error: an unpickler runs each opcode as it reads it, so those ran too. */
  readonly findings: Finding[];
  constructor(message: string, findings: Finding[] = []) {
    super(message);
    this.findings = findings;
  }
}

export interface PickleScan {
  globals: Array<{ ref: string; opcode: string; offset: number }>;
  findings: Finding[];
  /** Bytes consumed, through the STOP of the last pickle read. */
  end: number;
}

/**
 * Reads one or more concatenated pickles with a symbolic stack and memo: GLOBAL, INST and STACK_GLOBAL operands are
 * resolved through the memo (PUT/BINPUT/LONG_BINPUT/MEMOIZE/GET/BINGET/LONG_BINGET), so splitting a module name off
 * into the memo does not hide it. Nothing is executed.
 */
export function scanPickle(bytes: Uint8Array, file: string, start = 0, maxPickles = Infinity): PickleScan {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const findings: Finding[] = [];
  const globals: PickleScan['globals'] = [];
  const seenFindings = new Set<string>();
  const add = (severity: Finding['severity'], rule: string, detail: string) => {
    const key = `${severity}|${rule}|${detail}`;
    if (seenFindings.has(key)) return;
    seenFindings.add(key);
    findings.push({ severity, file, rule, detail });
  };
  let offset = start;
  let end = start;
  let pickles = 0;
  while (offset < view.length && pickles < maxPickles) {
    if (pickles > 0 && view[offset] !== 0x80) {
      if (!PROTOCOL0_START.has(view[offset]!)) break; // Trailing data that is not another pickle (e.g. joblib's raw arrays).
      // Another pickle without a PROTO opcode (protocol 0/1), which a loader reading pickle after pickle (legacy
      // torch.load) runs as well; if it does not parse it is trailing data, but the gadgets read before the error count.
      let next: PickleScan;
      try {
        next = scanPickle(view, file, offset, 1);
      } catch (error) {
        if (!(error instanceof PickleError)) throw error;
        findings.push(...knownGadgets(error.findings));
        break;
      }
      findings.push(...next.findings);
      globals.push(...next.globals);
      offset = end = next.end;
      pickles++;
      continue;
    }
    const stack: Slot[] = [];
    const memo = new Map<number, Value>();
    let stopped = false;
    const pop = (): Slot => {
      if (stack.length === 0) throw new PickleError(`stack underflow at byte ${offset}`, findings);
      return stack.pop()!;
    };
    const popToMark = (): Slot[] => {
      const index = stack.lastIndexOf(MARK);
      if (index < 0) throw new PickleError(`no MARK on the stack at byte ${offset}`, findings);
      return stack.splice(index).slice(1);
    };
    const reference = (module: string, name: string, opcode: string, at: number) => {
      const ref = `${module}.${name}`;
      globals.push({ ref, opcode, offset: at });
      const verdict = classifyGlobal(module, name);
      if (verdict.severity) add(verdict.severity, `pickle-global:${ref}`, `${opcode} at byte ${at}: ${verdict.reason}`);
      return { kind: 'global' as const, ref };
    };
    const noteString = (value: string) => {
      if (DUNDER_GADGETS.has(value)) add('CRITICAL', 'pickle-dunder-gadget', `the pickle refers to "${value}", a way into Python internals`);
      return { kind: 'str' as const, value };
    };
    while (!stopped) {
      const at = offset;
      if (offset >= view.length) throw new PickleError(`truncated: no STOP before the end of the data (pickle starting at byte ${start})`, findings);
      const op = OPCODES[view[offset]!];
      if (!op) throw new PickleError(`unknown opcode 0x${view[offset]!.toString(16)} at byte ${offset}`, findings);
      offset++;
      const need = (n: number) => {
        if (offset + n > view.length) throw new PickleError(`truncated ${op.name} argument at byte ${at}`, findings);
      };
      const readLine = () => {
        const nl = view.indexOf(0x0a, offset);
        if (nl < 0) throw new PickleError(`truncated ${op.name} at byte ${at}: no newline`, findings);
        const line = view.toString('latin1', offset, nl);
        offset = nl + 1;
        return line;
      };
      let arg: number | bigint | string | undefined;
      let raw: Buffer | undefined;
      switch (op.arg) {
        case 'u1': need(1); arg = view.readUInt8(offset); offset += 1; break;
        case 'u2': need(2); arg = view.readUInt16LE(offset); offset += 2; break;
        case 'i4': need(4); arg = view.readInt32LE(offset); offset += 4; break;
        case 'u4': need(4); arg = view.readUInt32LE(offset); offset += 4; break;
        case 'u8': need(8); arg = view.readBigUInt64LE(offset); offset += 8; break;
        case 'f8': need(8); offset += 8; break;
        case 'line': arg = readLine(); break;
        case 'line2': arg = `${readLine()}\n${readLine()}`; break;
        case 'len1': case 'len4': case 'len8': {
          const size = op.arg === 'len1' ? 1 : op.arg === 'len4' ? 4 : 8;
          need(size);
          const length = size === 1 ? view.readUInt8(offset) : size === 4 ? view.readUInt32LE(offset) : Number(view.readBigUInt64LE(offset));
          offset += size;
          need(length);
          raw = view.subarray(offset, offset + length);
          offset += length;
          break;
        }
        case 'none': break;
      }
      switch (op.name) {
        case 'MARK': stack.push(MARK); break;
        case 'STOP': stopped = true; break;
        case 'POP': pop(); break;
        case 'POP_MARK': popToMark(); break;
        case 'DUP': stack.push(stack.at(-1) ?? OTHER); break;
        case 'STRING': {
          const text = String(arg).trim();
          stack.push(noteString(text.replace(/^(['"])(.*)\1$/s, '$2')));
          break;
        }
        case 'UNICODE': stack.push(noteString(String(arg))); break;
        case 'BINSTRING': case 'SHORT_BINSTRING': stack.push(noteString(raw!.toString('latin1'))); break;
        case 'BINUNICODE': case 'SHORT_BINUNICODE': case 'BINUNICODE8': stack.push(noteString(raw!.toString('utf8'))); break;
        case 'GLOBAL': case 'INST': {
          const [module, name] = String(arg).split('\n') as [string, string];
          const value = reference(module, name, op.name, at);
          if (op.name === 'INST') {
            popToMark();
            stack.push(OTHER);
          } else stack.push(value);
          break;
        }
        case 'STACK_GLOBAL': {
          const name = pop();
          const module = pop();
          if (name !== MARK && module !== MARK && name.kind === 'str' && module.kind === 'str') {
            stack.push(reference(module.value, name.value, op.name, at));
          } else {
            add('HIGH', 'pickle-unresolved-global', `STACK_GLOBAL at byte ${at} takes its module or name from a computed value; it cannot be checked`);
            stack.push(OTHER);
          }
          break;
        }
        case 'PUT': case 'BINPUT': case 'LONG_BINPUT': {
          const top = stack.at(-1);
          memo.set(Number(arg), top && top !== MARK ? top : OTHER);
          break;
        }
        case 'MEMOIZE': {
          const top = stack.at(-1);
          memo.set(memo.size, top && top !== MARK ? top : OTHER);
          break;
        }
        case 'GET': case 'BINGET': case 'LONG_BINGET': {
          const value = memo.get(Number(arg));
          if (!value) add('HIGH', 'pickle-bad-memo', `${op.name} at byte ${at} reads memo slot ${String(arg)}, which was never written`);
          stack.push(value ?? OTHER);
          break;
        }
        case 'EXT1': case 'EXT2': case 'EXT4':
          add('HIGH', 'pickle-extension-registry', `${op.name} at byte ${at} imports through the copyreg extension registry (code ${String(arg)}), which cannot be checked`);
          stack.push(OTHER);
          break;
        case 'REDUCE': case 'BUILD': case 'NEWOBJ': { pop(); pop(); stack.push(OTHER); break; }
        case 'NEWOBJ_EX': { pop(); pop(); pop(); stack.push(OTHER); break; }
        case 'OBJ': { popToMark(); stack.push(OTHER); break; }
        case 'BINPERSID': pop(); stack.push(OTHER); break;
        case 'APPEND': pop(); break;
        case 'SETITEM': pop(); pop(); break;
        case 'APPENDS': case 'SETITEMS': case 'ADDITEMS': popToMark(); break;
        case 'TUPLE': case 'LIST': case 'DICT': case 'FROZENSET': popToMark(); stack.push(OTHER); break;
        case 'TUPLE1': pop(); stack.push(OTHER); break;
        case 'TUPLE2': pop(); pop(); stack.push(OTHER); break;
        case 'TUPLE3': pop(); pop(); pop(); stack.push(OTHER); break;
        case 'PROTO': case 'FRAME': break;
        case 'NEXT_BUFFER': stack.push(OTHER); break;
        case 'READONLY_BUFFER': break;
        default: stack.push(OTHER); // constants: ints, floats, None, bools, bytes, empty containers, PERSID
      }
    }
    pickles++;
    end = offset;
  }
  return { globals, findings, end };
}
