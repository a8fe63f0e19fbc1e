#!/usr/bin/env node
/**
 * The import rules of the layout (CONTRIBUTING.md, docs/architecture.md), checked: exits 1 with a
 * list of every break, 0 when there is none.
 *
 * 1. No import cycle within a package's src/ (type-only imports count: they tie the files just
 *    the same for a reader, and a cycle of types is one refactor away from a cycle at run time).
 * 2. bridge-core's connector/ (the contract) is a leaf: of the core it imports only connector/,
 *    util/ and logging/.
 * 3. A package reaches another only through its public entry points (its package.json
 *    "exports", or the bare name): never `../../<pkg>/src`, `@causeway/<pkg>/dist/...`.
 * 4. A bridge's protocol layer (src/irc/, src/slack/, src/gitter/) imports no Matrix code: not
 *    `@causeway/bridge-core`, no Matrix SDK, and nothing of its own package outside its folder.
 *
 * Imports are read with the TypeScript compiler's own pre-processor (imports, `export ... from`,
 * `import()` and `require()`), so comments and strings never count.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const packagesDir = path.join(root, 'packages');
const PROTOCOL_DIRS = ['irc', 'slack', 'gitter'];
const CONTRACT_MAY_IMPORT = ['connector', 'util', 'logging'];
const MATRIX_SDK = /^(matrix-|@matrix-org\/|@vector-im\/)/;

/** @typedef {{ name: string, dir: string, src: string, exports: string[], isBridge: boolean }} Pkg */

/** @returns {Pkg[]} */
function workspacePackages() {
  return readdirSync(packagesDir)
    .map((d) => path.join(packagesDir, d))
    .filter((dir) => existsSync(path.join(dir, 'package.json')))
    .map((dir) => {
      const json = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
      const exports = json.exports && typeof json.exports === 'object' ? Object.keys(json.exports) : ['.'];
      return { name: json.name, dir, src: path.join(dir, 'src'), exports, isBridge: path.basename(dir).endsWith('-bridge') };
    });
}

/** Every .ts file under `dir` (declaration files and node_modules/dist left out). */
function tsFiles(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'dist') continue;
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...tsFiles(full));
    else if (/\.(ts|tsx|mts|cts)$/.test(entry) && !entry.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

function importsOf(file) {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles.map((f) => f.fileName);
}

/** The file a relative specifier names (`./x`, `./x.js`, `./dir` → index.ts), if it exists. */
function resolveRelative(from, spec) {
  const base = path.resolve(path.dirname(from), spec);
  const stem = base.replace(/\.(c|m)?js$/, '');
  const candidates = [base, `${stem}.ts`, `${stem}.tsx`, `${stem}.mts`, `${stem}.cts`, path.join(base, 'index.ts')];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

const rel = (p) => path.relative(root, p);
const inside = (dir, file) => file === dir || file.startsWith(dir + path.sep);

const problems = { cycles: [], contract: [], internals: [], protocol: [] };
const packages = workspacePackages();
const packageOf = (file) => packages.find((p) => inside(p.dir, file));

// Rule 3 covers every TypeScript file of the repository that belongs to a package or crosses into one.
const scanned = [...packages.flatMap((p) => tsFiles(p.dir)), ...['spec', 'bench', 'scripts'].flatMap((d) => tsFiles(path.join(root, d)))];

/** @type {Map<string, string[]>} src file → the src files of its own package it imports */
const graph = new Map();

for (const file of scanned) {
  const own = packageOf(file);
  const inSrc = own && inside(own.src, file);
  if (inSrc) graph.set(file, []);
  for (const spec of importsOf(file)) {
    if (spec.startsWith('.')) {
      const target = resolveRelative(file, spec);
      const targetPkg = target ? packageOf(target) : packageOf(path.resolve(path.dirname(file), spec));
      // 3: a relative path into another package, or from outside the packages into one's files.
      if (targetPkg && targetPkg !== own) {
        problems.internals.push(`${rel(file)} imports ${spec}: use ${targetPkg.name}'s public entry point instead`);
        continue;
      }
      if (!target || !inSrc) continue;
      if (inside(own.src, target)) graph.get(file).push(target);
      // 2: the contract is a leaf.
      if (own.name === '@causeway/bridge-core' && inside(path.join(own.src, 'connector'), file)) {
        const top = path.relative(own.src, target).split(path.sep)[0];
        if (!CONTRACT_MAY_IMPORT.includes(top))
          problems.contract.push(
            `${rel(file)} imports ${spec} (${rel(target)}): connector/ may import only ${CONTRACT_MAY_IMPORT.join('/, ')}/`,
          );
      }
      // 4: the protocol layer stays in its folder.
      const layer = own.isBridge ? protocolDirOf(own, file) : undefined;
      if (layer && !inside(layer, target))
        problems.protocol.push(
          `${rel(file)} imports ${spec} (${rel(target)}): the protocol layer imports nothing of the bridge outside ${rel(layer)}/`,
        );
      continue;
    }
    // 3: a package's internals by name (`@causeway/x/dist/...`, `@causeway/x/src/...`).
    const target = packages.find((p) => spec === p.name || spec.startsWith(`${p.name}/`));
    if (target && target !== own) {
      const sub = spec === target.name ? '.' : `.${spec.slice(target.name.length)}`;
      if (!target.exports.includes(sub))
        problems.internals.push(`${rel(file)} imports ${spec}: not one of ${target.name}'s entry points (${target.exports.join(', ')})`);
    }
    // 4: no Matrix code in a protocol layer.
    if (
      own?.isBridge &&
      inSrc &&
      protocolDirOf(own, file) &&
      (spec === '@causeway/bridge-core' || spec.startsWith('@causeway/bridge-core/') || MATRIX_SDK.test(spec))
    ) {
      problems.protocol.push(`${rel(file)} imports ${spec}: the protocol layer imports no Matrix code`);
    }
  }
}

function protocolDirOf(pkg, file) {
  return PROTOCOL_DIRS.map((d) => path.join(pkg.src, d)).find((d) => inside(d, file));
}

// 1: cycles, as the strongly connected components of each package's graph (Tarjan).
function cycles() {
  const index = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const found = [];
  let next = 0;
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) === index.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component);
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** One path round a component, so the report shows the loop, not just its members. */
function loopIn(component) {
  const members = new Set(component);
  const start = [...component].sort()[0];
  const seen = new Map([[start, null]]);
  const queue = [start];
  while (queue.length) {
    const v = queue.shift();
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const loop = [start];
        for (let u = v; u !== start; u = seen.get(u)) loop.splice(1, 0, u);
        return [...loop, start];
      }
      if (!seen.has(w)) {
        seen.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

for (const component of cycles()) {
  const loop = loopIn(component).map(rel).join(' → ');
  problems.cycles.push(
    `${component.length} files: ${loop}${component.length > loop.split(' → ').length - 1 ? ` (and ${component.length - (loop.split(' → ').length - 1)} more in the same knot)` : ''}`,
  );
}

const sections = [
  ['Import cycles within a package', problems.cycles],
  ['bridge-core connector/ importing the rest of the core', problems.contract],
  ["Imports of another package's internals", problems.internals],
  ['Protocol layers importing Matrix code', problems.protocol],
];
const total = sections.reduce((n, [, list]) => n + list.length, 0);
if (total === 0) {
  console.log(`check-imports: ${graph.size} source files, no import rule broken.`);
  process.exit(0);
}
for (const [title, list] of sections) {
  if (!list.length) continue;
  console.error(`${title} (${list.length}):`);
  for (const line of [...new Set(list)].sort()) console.error(`  - ${line}`);
}
console.error(`check-imports: ${total} import rule(s) broken.`);
process.exit(1);
