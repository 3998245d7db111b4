// Command-line flags of the benchmark scripts: `--name value`, or the fallback when absent.

export function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

export function numFlag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/**
 * --torch-malloc keep: the environment that runs PyTorch with glibc's malloc told to keep freed
 * pages (no mmap, no trim), the effect flare's CPU memory cache has on its tensors; "default"
 * (the flag's default) runs it as installed. README: "CPU memory cache".
 */
export function torchMallocEnv(): { mode: "default" | "keep"; env: NodeJS.ProcessEnv } {
  const mode = flag("torch-malloc", "default");
  if (mode !== "default" && mode !== "keep") throw new Error(`--torch-malloc must be default or keep, got ${mode}`);
  return { mode, env: mode === "keep" ? { GLIBC_TUNABLES: "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736" } : {} };
}
