/**
 * `@opentelemetry/api` is an optional peer dependency (issue 13): the main entry never loads it, so an app
 * without it works and an app that never calls `instrument()` pays nothing. Checked twice: on the import
 * graph of the sources, and by running a session in a process where the package cannot be found.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Every module `entry` loads (following relative static and dynamic imports), and the packages they import. */
function importGraph(entry: string): { modules: Set<string>; packages: Set<string> } {
  const modules = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (modules.has(file)) return;
    modules.add(file);
    const source = readFileSync(file, 'utf8');
    // Type-only imports are erased: they load nothing.
    const pattern = /(?:^|\n)\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
    for (const match of source.matchAll(pattern)) {
      const specifier = match[1] ?? match[2]!;
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else packages.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!);
    }
  };
  visit(resolve(ROOT, entry));
  return { modules, packages };
}

describe('@opentelemetry/api, an optional peer', () => {
  it('the main entry and the logger never import it; the opentelemetry entry does, and only its own modules', () => {
    const main = importGraph('src/index.ts');
    expect(main.modules.size).toBeGreaterThan(50);
    expect(main.packages).toContain('eventemitter3');
    expect([...main.packages].filter((name) => name.startsWith('@opentelemetry/'))).toEqual([]);
    expect(main.modules).toContain(resolve(ROOT, 'src/observe/hub.ts'));
    const logger = importGraph('src/observe/index.ts');
    expect([...logger.packages].filter((name) => name.startsWith('@opentelemetry/'))).toEqual([]);

    const otel = importGraph('src/observe/opentelemetry/index.ts');
    expect(otel.packages).toContain('@opentelemetry/api');
    const importers = [...otel.modules].filter((file) => /from '@opentelemetry\//.test(readFileSync(file, 'utf8').replace(/import type[^;]+;/g, '')));
    expect(importers.map((file) => relative(ROOT, file)).sort()).toEqual(['src/observe/opentelemetry/index.ts', 'src/observe/opentelemetry/traces.ts']);
  });

  it('a process where the package cannot be found runs sessions with a logger; only the opentelemetry entry fails to load', { timeout: 60_000 }, async () => {
    const script = `
      const { startEmulator } = await import('./src/emulator/index.ts');
      const { CardSession, FeishuClient } = await import('./src/index.ts');
      const { setLogger } = await import('./src/observe/index.ts');
      const emulator = await startEmulator({ port: 0 });
      const lines = [];
      const log = (level) => (fields) => lines.push(level + ' ' + fields.event);
      setLogger({ debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') });
      const client = new FeishuClient({ appId: 'cli_x', appSecret: 's_x', domain: emulator.url });
      const session = await CardSession.start(client, { to: { chat_id: 'oc_a' } });
      session.append('hello');
      const result = await session.finish();
      await new Promise((resolve) => setTimeout(resolve, 10));
      const otel = await import('./src/observe/opentelemetry/index.ts').then(() => 'loaded', (error) => error.code);
      await emulator.close();
      console.log(JSON.stringify({ text: result.text, lines, otel }));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--import', join(ROOT, 'test/observe/fixtures/no-otel.mjs'), '--input-type=module', '-e', script], {
      cwd: ROOT,
    });
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({
      text: 'hello',
      lines: ['debug session_opened', 'info session_ended'],
      otel: 'ERR_MODULE_NOT_FOUND',
    });
  });
});
