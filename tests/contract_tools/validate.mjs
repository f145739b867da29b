// Validates AsyncAPI documents with the AsyncAPI initiative's own parser; prints each problem, exits 1 on an error.
import { Parser } from '@asyncapi/parser';
import { readFileSync } from 'node:fs';
const parser = new Parser();
let failed = false;
for (const path of process.argv.slice(2)) {
  const { document, diagnostics } = await parser.parse(readFileSync(path, 'utf8'));
  for (const d of diagnostics) {
    const level = ['error', 'warning', 'info', 'hint'][d.severity];
    console.log(`${path}: ${level} ${d.code} ${d.path.join('/')}: ${d.message}`);
    if (d.severity === 0) failed = true;
  }
  if (!document) failed = true;
  else console.log(`${path}: ok (${document.operations().length} operations)`);
}
process.exit(failed ? 1 : 0);
