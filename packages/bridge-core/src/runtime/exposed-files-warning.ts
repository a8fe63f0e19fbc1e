/**
 * At start, one warning when data files from before (or made by hand) are open to other users
 * of the machine: the bridge creates its own private (util/private-files.ts), but never changes
 * the permissions of what is already there, which an operator may have set on purpose.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { CoreConfig } from '../config/schema';
import type { Logger } from '../logging/logger';
import { findExposedFiles } from '../util/private-files';

const LISTED = 20;

/** The data directory, the NeDB directory (when used), the registration file (it holds both tokens) and the log file. */
function dataPaths(config: CoreConfig): string[] {
  const paths = [path.resolve(config.data_dir), path.resolve(config.appservice.registration)];
  if (config.database.engine === 'nedb') paths.push(path.resolve(config.database.nedb.directory));
  if (config.logging.file) paths.push(path.resolve(config.logging.file));
  return paths;
}

export async function warnAboutExposedDataFiles(config: CoreConfig, log: Logger): Promise<void> {
  const roots = dataPaths(config);
  let exposed;
  try {
    exposed = await findExposedFiles(roots, LISTED + 1);
  } catch (err) {
    log.debug('could not check the permissions of the data files', { err: String(err) });
    return;
  }
  if (!exposed.length) return;
  const list = exposed
    .slice(0, LISTED)
    .map((f) => `${f.path} (${f.mode.toString(8).padStart(4, '0')})`)
    .join(', ');
  const more = exposed.length > LISTED ? ' and more' : '';
  // The fix names each place once: only those holding an exposed file, not a directory inside another.
  const holds = (root: string) => exposed.some((f) => f.path === root || f.path.startsWith(root + path.sep));
  const existing = roots.filter((r, i) => existsSync(r) && roots.indexOf(r) === i && holds(r));
  const outer = existing.filter((r) => !existing.some((o) => o !== r && r.startsWith(o + path.sep)));
  log.warn(
    `Data files other users of this machine can read or change: ${list}${more}. They hold message text, ` +
      `the media proxy's signing key, sessions and tokens; new ones are created private. To fix: chmod -R go-rwx ${outer.join(' ')}`,
  );
}
