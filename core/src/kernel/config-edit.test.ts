import { describe, expect, it } from 'vitest';
import { editConfigPlugins } from './config-edit.ts';

const yaml = `# Our server
server:
  port: \${PORT:-8080} # from the environment

plugins:
  # the ONNX runtime, tuned
  - package: '@modelplane/runtime-onnx'
    options: { intraOpThreads: 2 }
  - modelplane-plugin-hello # says hello
`;

describe('editConfigPlugins', () => {
  it('appends a plugin to a YAML list, keeping every comment and the rest of the layout', () => {
    const { text, changed } = editConfigPlugins(yaml, 'modelplane.config.yaml', 'add', 'modelplane-plugin-linear');
    expect(changed).toBe(true);
    expect(text).toBe(`${yaml}  - modelplane-plugin-linear\n`);
  });

  it('leaves a plugin that is already listed alone, by name or by package', () => {
    for (const name of ['modelplane-plugin-hello', '@modelplane/runtime-onnx']) {
      expect(editConfigPlugins(yaml, 'c.yaml', 'add', name)).toEqual({ text: yaml, changed: false });
    }
  });

  it('removes a plugin listed either way, and nothing else', () => {
    const { text } = editConfigPlugins(yaml, 'c.yaml', 'remove', '@modelplane/runtime-onnx');
    expect(text).not.toContain('runtime-onnx');
    expect(text).toContain('# Our server');
    expect(text).toContain('- modelplane-plugin-hello # says hello');
    expect(editConfigPlugins(yaml, 'c.yaml', 'remove', 'not-there')).toEqual({ text: yaml, changed: false });
  });

  it('creates the list in a file without one', () => {
    expect(editConfigPlugins('# empty\nserver: { port: 1 }\n', 'c.yaml', 'add', 'p').text).toBe('# empty\nserver: { port: 1 }\nplugins:\n  - p\n');
    expect(editConfigPlugins('', 'c.yaml', 'add', 'p').text).toBe('plugins:\n  - p\n');
  });

  it('edits JSON configs', () => {
    const { text } = editConfigPlugins('{"plugins": [{"package": "a"}]}', 'c.json', 'add', 'b');
    expect(JSON.parse(text)).toEqual({ plugins: [{ package: 'a' }, 'b'] });
  });

  it('refuses a plugins key that is not a list', () => {
    expect(() => editConfigPlugins('plugins: nope\n', 'c.yaml', 'add', 'p')).toThrow('plugins must be a list');
    expect(() => editConfigPlugins('{"plugins": "nope"}', 'c.json', 'add', 'p')).toThrow('c.json: plugins must be a list');
  });

  it('refuses, with a coded error, a file that does not parse or is not a mapping', () => {
    const refusal = (text: string, file: string) => {
      try {
        editConfigPlugins(text, file, 'add', 'p');
      } catch (error) {
        return `${(error as { code: string }).code}: ${(error as Error).message}`;
      }
      throw new Error('expected a refusal');
    };
    expect(refusal('{"plugins": [', 'c.json')).toMatch(/^MP_ERR_CONFIG_SYNTAX: c\.json: invalid JSON: /);
    for (const [text, file] of [['[1]', 'c.json'], ['null', 'c.json'], ['- a\n', 'c.yaml'], ['hello\n', 'c.yaml']] as const) {
      expect(refusal(text, file)).toBe(`MP_ERR_CONFIG_INVALID: ${file}: the config must be a mapping of keys (server, plugins, …)`);
    }
    expect(editConfigPlugins('# only a comment\n', 'c.yaml', 'add', 'p').text).toContain('plugins:\n  - p\n');
  });
});
