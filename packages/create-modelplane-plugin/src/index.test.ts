import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { makeTempDir, repoRoot } from '../../../test/support/tmp.ts';
import { createPlugin, pluginPackageName, TEMPLATES } from './index.ts';

const exec = promisify(execFile);
// Inside the repository, so the generated packages resolve the SDK, vitest and typescript from its node_modules.
const tmp = makeTempDir('create-plugin');
afterAll(() => tmp.remove());

describe('pluginPackageName', () => {
  it.each([
    ['foo', 'modelplane-plugin-foo'],
    ['modelplane-plugin-foo', 'modelplane-plugin-foo'],
    ['@acme/foo', '@acme/modelplane-plugin-foo'],
    ['@acme/modelplane-plugin-foo', '@acme/modelplane-plugin-foo'],
    ['@modelplane/runtime-foo', '@modelplane/runtime-foo'],
  ])('%s → %s', (input, expected) => expect(pluginPackageName(input)).toBe(expected));

  it.each(['Foo', 'has space', '.hidden', '@acme/', `x${'y'.repeat(214)}`, '@modelplane/foo'])('refuses %j', (input) => {
    expect(() => pluginPackageName(input)).toThrow(/not a valid npm package name|naming convention/);
  });
});

describe('createPlugin', () => {
  it('refuses an unknown template and a non-empty target', () => {
    expect(() => createPlugin({ template: 'webapp', name: 'x', dir: join(tmp.dir, 'x') })).toThrow('choose one of: runtime, scanner, router-strategy, guard');
    writeFileSync(join(tmp.dir, 'occupied'), '');
    expect(() => createPlugin({ template: 'guard', name: 'x', dir: tmp.dir })).toThrow('already exists and is not empty');
  });

  it('generates every template as a renamed package that typechecks and passes its conformance kit', async () => {
    const generated = join(tmp.dir, 'generated');
    for (const template of TEMPLATES) {
      const created = createPlugin({ template, name: `@acme/my-${template}`, dir: join(generated, template) });
      expect(created.packageName).toBe(`@acme/modelplane-plugin-my-${template}`);
      const pkg = JSON.parse(readFileSync(join(created.dir, 'package.json'), 'utf8'));
      expect(pkg).toMatchObject({ name: created.packageName, peerDependencies: { '@modelplane/plugin-sdk': '^1' }, keywords: ['modelplane-plugin'] });
      expect(existsSync(join(created.dir, '.gitignore')) && !existsSync(join(created.dir, '_gitignore'))).toBe(true);
      expect(readFileSync(join(created.dir, 'src/index.ts'), 'utf8')).toContain(`name: '${created.packageName}'`);
      // The README's config snippets are pasted as they are: a scoped name must not break the YAML.
      const readme = readFileSync(join(created.dir, 'README.md'), 'utf8');
      for (const [, snippet] of readme.matchAll(/```yaml\n([\s\S]*?)```/g)) {
        expect(parseYaml(snippet!)).toMatchObject({ plugins: [{ package: created.packageName }] });
      }
    }
    // One tsc and one vitest over all four packages keep this test short.
    writeFileSync(
      join(generated, 'tsconfig.json'),
      JSON.stringify({ extends: './runtime/tsconfig.json', include: TEMPLATES.flatMap((t) => [`${t}/src`, `${t}/test`]) }),
    );
    const bin = (name: string) => join(repoRoot, 'node_modules', '.bin', name);
    await exec(bin('tsc'), ['-p', join(generated, 'tsconfig.json')]);
    const { stdout } = await exec(bin('vitest'), ['run', '--root', generated, '--reporter=dot'], { env: { ...process.env, NO_COLOR: '1' } });
    expect(stdout).toMatch(/Test Files\s+4 passed/);
  }, 120_000);
});
