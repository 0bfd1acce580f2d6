// Bundles src/main.js (preact + htm + uPlot, and the CSS it imports) with
// esbuild into OUT/assets/ under content-hashed names, then writes
// OUT/index.html naming them. Run by scripts/build-web.sh:
//   node build.mjs OUT_DIR NODE_MODULES_DIR
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [outDir, nodeModules] = process.argv.slice(2);
if (!outDir || !nodeModules) {
  console.error('usage: node build.mjs OUT_DIR NODE_MODULES_DIR');
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
// The packages live outside the source tree (npm ci in the build directory).
const require = createRequire(path.join(path.resolve(nodeModules), 'resolver.js'));
const esbuild = require('esbuild');

const assets = path.join(outDir, 'assets');
rmSync(outDir, { recursive: true, force: true });  // no stale hashed bundles
mkdirSync(assets, { recursive: true });

const result = await esbuild.build({
  entryPoints: [path.join(here, 'src', 'main.js')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  outdir: assets,
  entryNames: '[name]-[hash]',
  nodePaths: [path.resolve(nodeModules)],
  metafile: true,
  legalComments: 'eof',
  logLevel: 'warning',
});

const outputs = Object.entries(result.metafile.outputs);
const script = outputs.find(([file, o]) => file.endsWith('.js') && o.entryPoint);
if (!script) throw new Error('esbuild wrote no entry bundle');
const style = script[1].cssBundle;
const href = (file) => 'assets/' + path.basename(file);
const html = readFileSync(path.join(here, 'src', 'index.html'), 'utf8')
  .replace('%SCRIPT%', href(script[0]))
  .replace('%STYLE%', style ? href(style) : '');
writeFileSync(path.join(outDir, 'index.html'), html);
console.log(`build-web: ${outDir}: index.html, ${outputs.map(([f]) => href(f)).join(', ')}`);
