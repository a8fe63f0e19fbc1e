/**
 * Print the metrics reference (docs/metrics.md) generated from the definitions:
 *   npx tsx packages/bridge-core/src/metrics/print-docs.ts [docs/metrics.md]
 */
import { writeFileSync } from 'node:fs';
import { renderMetricsDoc } from './definitions';

if (require.main === module) {
  const md = renderMetricsDoc();
  const out = process.argv[2];
  if (out) writeFileSync(out, md);
  else process.stdout.write(md);
}
