/** What every bench script needs from its command line and from V8. */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

/** The value after `--name` on the command line, or `def`. */
export function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : def;
}

/** V8's gc(), also when the script was started without --expose-gc (as `npm run bench:*` does). */
export function getGc(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}
