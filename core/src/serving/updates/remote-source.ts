import { Readable } from 'node:stream';
import type { ModelSource } from '@modelplane/plugin-sdk';
import { Errors } from '../../errors.ts';

interface RemoteVersion {
  version: string;
  status: string;
  metadata: Record<string, unknown>;
  files: Array<{ path: string; digest: string; size: number }>;
}

/** Another Modelplane server's registry, read through its REST API: the source `remote:<name>`. */
export function remoteRegistrySource(remote: { name: string; url: string; apiKey?: string }): ModelSource {
  const base = remote.url.replace(/\/+$/, '');
  const headers = remote.apiKey ? { authorization: `Bearer ${remote.apiKey}` } : undefined;
  const get = async (path: string): Promise<Response> => {
    const response = await fetch(`${base}${path}`, { ...(headers ? { headers } : {}), signal: AbortSignal.timeout(30_000) });
    if (!response.ok) {
      await response.body?.cancel();
      throw new Errors.UpstreamFailed(`remote registry ${remote.name} answered ${response.status} for ${path}`);
    }
    return response;
  };
  const versionPath = (model: string, version: string) => `/api/v1/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(version)}`;
  return {
    id: `remote:${remote.name}`,
    async listVersions(model) {
      const body = (await (await get(`/api/v1/models/${encodeURIComponent(model)}`)).json()) as { versions: RemoteVersion[] };
      return body.versions.filter((v) => v.status !== 'retired').map((v) => ({ version: v.version, metadata: v.metadata, status: v.status }));
    },
    async fetchVersion(model, version) {
      const record = (await (await get(versionPath(model, version))).json()) as RemoteVersion;
      return {
        metadata: record.metadata,
        files: record.files.map((file) => ({
          path: file.path,
          size: file.size,
          digest: file.digest,
          open: async () => Readable.fromWeb((await get(`${versionPath(model, version)}/files/${file.path.split('/').map(encodeURIComponent).join('/')}`)).body! as never),
        })),
      };
    },
  };
}
