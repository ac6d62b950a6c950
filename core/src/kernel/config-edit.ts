import { extname } from 'node:path';
import YAML, { isMap, isScalar, isSeq } from 'yaml';
import { Errors } from '../errors.ts';

export interface ConfigEdit {
  text: string;
  changed: boolean;
}

type Entry = string | { package?: unknown };
const names = (entry: Entry, name: string) => (typeof entry === 'string' ? entry === name : entry?.package === name);

/**
 * Adds a plugin (by package name) to the `plugins` list of a config file's text, or removes it. YAML goes through
 * the `yaml` Document API, so comments, quoting and layout elsewhere in the file survive the rewrite; JSON has no
 * comments and is rewritten with two-space indentation.
 */
export function editConfigPlugins(text: string, file: string, action: 'add' | 'remove', name: string): ConfigEdit {
  const notAMapping = () =>
    new Errors.ConfigInvalid(`${file}: the config must be a mapping of keys (server, plugins, …)`, { details: [{ path: '(root)', message: 'expected a mapping' }] });
  const notAList = () => new Errors.ConfigInvalid(`${file}: plugins must be a list`, { details: [{ path: 'plugins', message: 'expected a list' }] });
  if (extname(file) === '.json') {
    let config: { plugins?: Entry[] | null };
    try {
      config = (text.trim() === '' ? {} : JSON.parse(text)) as typeof config;
    } catch (error) {
      throw new Errors.ConfigSyntax(`${file}: invalid JSON: ${(error as Error).message}`);
    }
    if (config === null || typeof config !== 'object' || Array.isArray(config)) throw notAMapping();
    if (config.plugins !== undefined && config.plugins !== null && !Array.isArray(config.plugins)) throw notAList();
    const plugins = config.plugins ?? [];
    const listed = plugins.some((entry) => names(entry, name));
    if (action === 'add' ? listed : !listed) return { text, changed: false };
    config.plugins = action === 'add' ? [...plugins, name] : plugins.filter((entry) => !names(entry, name));
    return { text: `${JSON.stringify(config, null, 2)}\n`, changed: true };
  }
  const doc = YAML.parseDocument(text);
  if (doc.errors.length > 0) throw new Errors.ConfigSyntax(`${file}: invalid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  if (doc.contents !== null && !isMap(doc.contents)) throw notAMapping();
  const plugins = doc.get('plugins', true);
  if (plugins !== undefined && plugins !== null && !isSeq(plugins)) throw notAList();
  const index = plugins
    ? plugins.items.findIndex((item) => {
        if (isScalar(item)) return item.value === name;
        return isMap(item) && item.get('package') === name;
      })
    : -1;
  if (action === 'add') {
    if (index >= 0) return { text, changed: false };
    if (plugins) plugins.add(doc.createNode(name));
    else doc.set('plugins', doc.createNode([name]));
  } else {
    if (index < 0) return { text, changed: false };
    plugins!.delete(index);
  }
  return { text: doc.toString(), changed: true };
}
