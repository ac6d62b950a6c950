import { join } from 'node:path';
import { definePlugin } from '@modelplane/plugin-sdk';
import { CORE_VERSION } from '../version.ts';
import { FilesystemArtifactStore } from './fs-artifacts.ts';
import { SqliteMetadataStore } from './sqlite-metadata.ts';

/**
 * The embedded stores, contributed exactly as a third-party store plugin would contribute PostgreSQL or S3.
 * `storage.metadata` / `storage.artifacts` in the config pick which registered store the core opens.
 */
export const embeddedStoresPlugin = definePlugin({
  name: '@modelplane/core/embedded-stores',
  version: CORE_VERSION,
  apiVersion: '^1',
  description: 'SQLite metadata store (node:sqlite) and filesystem content-addressed artifact store',
  setup(ctx) {
    ctx.register.metadataStore({ id: 'sqlite', open: async ({ dataDir }) => new SqliteMetadataStore(join(dataDir, 'modelplane.sqlite')) });
    ctx.register.artifactStore({ id: 'filesystem', open: async ({ dataDir }) => new FilesystemArtifactStore(dataDir) });
  },
});
