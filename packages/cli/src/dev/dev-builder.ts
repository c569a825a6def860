/**
 * Incremental builds for `px-plugin dev`: one esbuild context (same options as `px-plugin
 * build`, see build/bundle.ts) rebuilt on every change, so a rebuild costs milliseconds. Each good
 * build is written to `<project>/.px-dev/build/` as a build output core can take as it is:
 * manifest.json (normalized from plugin.yaml), dist/…, and the admin static folder. A failed
 * build writes nothing, so what core may read is always the last good build.
 */
import { cp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { readManifestSource } from '@powerx/package-format';
import type { Manifest } from '@powerx/protocol';
import { buildFailed, bundleEntries, esbuildOptions, type BundleEntry } from '../build/bundle.ts';

export type DevBuild =
  { ok: true; dir: string; manifest: Manifest; ms: number } | { ok: false; error: Error; ms: number };

export class DevBuilder {
  readonly projectDir: string;
  readonly outDir: string;
  #ctx: esbuild.BuildContext<esbuild.BuildOptions & { write: false }> | undefined;
  #entriesKey = '';

  constructor(projectDir: string) {
    this.projectDir = resolve(projectDir);
    this.outDir = join(this.projectDir, '.px-dev', 'build');
  }

  async build(): Promise<DevBuild> {
    const t0 = performance.now();
    try {
      // plugin.yaml is read every time: a change of version, config or health path is a reload too.
      const manifest = await readManifestSource(this.projectDir);
      const entries = bundleEntries(manifest, this.projectDir);
      const ctx = await this.#context(entries);
      let result: esbuild.BuildResult<{ write: false }>;
      try {
        result = await ctx.rebuild();
      } catch (error) {
        throw buildFailed(error);
      }
      await this.#write(manifest, result.outputFiles ?? []);
      return { ok: true, dir: this.outDir, manifest, ms: performance.now() - t0 };
    } catch (error) {
      return { ok: false, error: error as Error, ms: performance.now() - t0 };
    }
  }

  async #context(
    entries: BundleEntry[],
  ): Promise<esbuild.BuildContext<esbuild.BuildOptions & { write: false }>> {
    const key = JSON.stringify(entries);
    if (this.#ctx && key === this.#entriesKey) return this.#ctx;
    await this.#ctx?.dispose();
    this.#ctx = await esbuild.context(esbuildOptions(this.projectDir, entries));
    this.#entriesKey = key;
    return this.#ctx;
  }

  /** Writes next to the output and swaps it in, so a reader never sees half a build. */
  async #write(manifest: Manifest, files: esbuild.OutputFile[]): Promise<void> {
    const next = `${this.outDir}.next`;
    await rm(next, { recursive: true, force: true });
    await mkdir(next, { recursive: true });
    await writeFile(join(next, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    for (const file of files) {
      const rel = relative(this.projectDir, file.path);
      await mkdir(dirname(join(next, rel)), { recursive: true });
      await writeFile(join(next, rel), file.contents);
    }
    const adminDir = manifest.admin?.staticDir?.replace(/^\.\//, '').replace(/\/+$/, '');
    if (adminDir && existsSync(join(this.projectDir, adminDir)))
      await cp(join(this.projectDir, adminDir), join(next, adminDir), {
        recursive: true,
        verbatimSymlinks: true,
      });
    if (manifest.runtime.kind === 'process') {
      const top = manifest.runtime.entry.split('/')[0];
      if (existsSync(join(this.projectDir, top)))
        await cp(join(this.projectDir, top), join(next, top), { recursive: true, verbatimSymlinks: true });
    }
    await rm(this.outDir, { recursive: true, force: true });
    await rename(next, this.outDir);
  }

  async dispose(): Promise<void> {
    await this.#ctx?.dispose();
    this.#ctx = undefined;
  }

  async clean(): Promise<void> {
    await rm(join(this.projectDir, '.px-dev'), { recursive: true, force: true });
  }
}
