import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { makeTempDir } from '../../../test/support/tmp.ts';
import { MeteringStore } from '../gateway/metering.ts';
import { DeploymentStore } from '../serving/deployments/store.ts';
import { SqliteMetadataStore } from './sqlite-metadata.ts';

const tmp = makeTempDir('sqlite-open');
afterAll(() => tmp.remove());

it.each([
  ['modelplane.sqlite', (dir: string) => new SqliteMetadataStore(join(dir, 'modelplane.sqlite'))],
  ['metering.sqlite', (dir: string) => new MeteringStore(dir)],
  ['deployments.sqlite', (dir: string) => new DeploymentStore(dir)],
])('a corrupt %s fails with a coded error that names the file', (file, open) => {
  writeFileSync(join(tmp.dir, file), randomBytes(8192));
  expect(() => open(tmp.dir)).toThrow(expect.objectContaining({ code: 'MP_ERR_STORE_UNREADABLE', message: expect.stringContaining(join(tmp.dir, file)) }));
});
