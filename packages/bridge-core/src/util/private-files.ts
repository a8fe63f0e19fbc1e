/**
 * The bridge's data files are private to the user it runs as: the journal holds raw
 * transactions (message text, a `!storepass` typed in an admin room until it is handled), the
 * store holds the media proxy's signing key, provisioning sessions and encrypted passwords.
 * Under the usual umask 022 a plain `open` or `mkdir` would make them readable by every user
 * of the machine, so every data directory and file is created through here: directories 0700,
 * files 0600, whatever the umask.
 *
 * Modes apply when something is created; files from before (or made by hand) keep theirs, so
 * `findExposedFiles` lists what others can still read, for a warning at start.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Modes for NeDB datastores (`modes` option of @seald-io/nedb). */
export const NEDB_PRIVATE_MODES = { fileMode: PRIVATE_FILE_MODE, dirMode: PRIVATE_DIR_MODE } as const;

/** `mkdir -p`, every directory it creates 0700. */
export function makePrivateDirSync(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

export async function makePrivateDir(dir: string): Promise<void> {
  await fs.promises.mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/** `open`, creating the file 0600 when it does not exist. */
export function openPrivateSync(file: string, flags: string): number {
  return fs.openSync(file, flags, PRIVATE_FILE_MODE);
}

export function openPrivate(file: string, flags: string): Promise<fs.promises.FileHandle> {
  return fs.promises.open(file, flags, PRIVATE_FILE_MODE);
}

/**
 * Replaces `file` whole and crash-safely: `write` fills a private temp file beside it, which is
 * fsynced and renamed over `file` (a crash leaves the old file or the new one, never half of it).
 * A caller appending to `file` reopens its handle afterwards: the old one points at the old file.
 */
export async function replacePrivateFile(file: string, write: (out: fs.promises.FileHandle) => Promise<void>): Promise<void> {
  const tmp = `${file}~`;
  const out = await openPrivate(tmp, 'w');
  try {
    await write(out);
    await out.sync();
  } finally {
    await out.close();
  }
  await fs.promises.rename(tmp, file);
}

export function writePrivateFile(file: string, data: string | Buffer, flag = 'w'): Promise<void> {
  return fs.promises.writeFile(file, data, { mode: PRIVATE_FILE_MODE, flag });
}

export interface ExposedFile {
  path: string;
  /** Permission bits, e.g. 0o644. */
  mode: number;
}

/**
 * Files and directories under `roots` (the roots included, walked recursively) that users other
 * than the owner may read, write or enter. Missing roots are skipped; at most `limit` are listed.
 */
export async function findExposedFiles(roots: readonly string[], limit = 50): Promise<ExposedFile[]> {
  const out: ExposedFile[] = [];
  const seen = new Set<string>();
  const visit = async (p: string): Promise<void> => {
    if (out.length >= limit || seen.has(p)) return;
    seen.add(p);
    let st: fs.Stats;
    try {
      st = await fs.promises.lstat(p);
    } catch {
      return;
    }
    if (st.isSymbolicLink()) return;
    const mode = st.mode & 0o777;
    if (mode & 0o077) out.push({ path: p, mode });
    if (!st.isDirectory()) return;
    let names: string[];
    try {
      names = await fs.promises.readdir(p);
    } catch {
      return;
    }
    for (const name of names.sort()) await visit(path.join(p, name));
  };
  for (const root of roots) await visit(path.resolve(root));
  return out;
}
