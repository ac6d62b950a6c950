import type { LoadedConfig } from '../kernel/config.ts';
import type { LoadedPlugin } from '../kernel/kernel.ts';
import { CORE_VERSION, PLUGIN_API_VERSION } from '../version.ts';

/** The load tree printed by `modelplane plugins list --tree`. */
export function formatPluginTree(plugins: readonly LoadedPlugin[], loaded: LoadedConfig): string {
  const lines = [
    `modelplane ${CORE_VERSION} (plugin API ${PLUGIN_API_VERSION}) — config: ${loaded.path ?? 'embedded defaults'}`,
  ];
  if (plugins.length === 0) lines.push('└─ (no plugins)');
  plugins.forEach((plugin, i) => {
    const last = i === plugins.length - 1;
    const where = plugin.builtin ? 'built in' : `plugins[${plugin.configIndex}]`;
    lines.push(`${last ? '└─' : '├─'} ${plugin.name}@${plugin.version}  (${where}, api ${plugin.apiVersion})`);
    const children: string[] = [];
    if (plugin.package) children.push(`from: ${plugin.package.dir}`);
    for (const [point, ids] of Object.entries(plugin.contributions)) children.push(`${point}: ${ids.join(', ')}`);
    if (plugin.hooks.length > 0) children.push(`hooks: ${plugin.hooks.join(', ')}`);
    if (children.length === 0) children.push('(registered nothing)');
    children.forEach((child, j) => {
      lines.push(`${last ? '   ' : '│  '}${j === children.length - 1 ? '└─' : '├─'} ${child}`);
    });
  });
  return lines.join('\n');
}

export function formatPluginList(plugins: readonly LoadedPlugin[]): string {
  if (plugins.length === 0) return 'no plugins loaded';
  const rows = plugins.map((p) => [
    p.name,
    p.version,
    p.builtin ? 'built in' : `plugins[${p.configIndex}]`,
    Object.entries(p.contributions)
      .map(([point, ids]) => `${point}:${ids.join(',')}`)
      .join(' ') || '-',
  ]);
  const header = ['NAME', 'VERSION', 'SOURCE', 'CONTRIBUTES'];
  const widths = header.map((h, col) => Math.max(h.length, ...rows.map((r) => r[col]!.length)));
  return [header, ...rows]
    .map((row) =>
      row
        .map((cell, col) => cell.padEnd(widths[col]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
