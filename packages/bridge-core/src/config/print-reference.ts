/**
 * Print the core config reference as Markdown:
 *   npx tsx packages/bridge-core/src/config/print-reference.ts [out.md]
 * A bridge prints its full reference (core + connector) with `<bridge> config-reference`.
 */
import { writeFileSync } from 'node:fs';
import { generateConfigReference } from './docs';
import { CoreConfigSchema } from './schema';

if (require.main === module) {
  const md = generateConfigReference(CoreConfigSchema, 'Causeway core configuration reference');
  const out = process.argv[2];
  if (out) writeFileSync(out, md + '\n');
  else process.stdout.write(md + '\n');
}
