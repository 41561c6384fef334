// The per-module table of docs/testing.md from Stryker's JSON report (npm run mutation writes
// reports/mutation/mutation.json), and the survivors and uncovered mutants by file and line.
// Score = (killed + timeout) / (all but ignored and compile errors), as Stryker counts it.
//   node tools/mutation-table.mjs [reports/mutation/mutation.json] [--survivors]
import fs from 'node:fs';

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--')) ?? 'reports/mutation/mutation.json';
const report = JSON.parse(fs.readFileSync(file, 'utf8'));

const KINDS = ['Killed', 'Timeout', 'RuntimeError', 'Survived', 'NoCoverage', 'Ignored', 'CompileError'];
const rows = [];
const total = Object.fromEntries(KINDS.map((k) => [k, 0]));
for (const [name, { mutants }] of Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b))) {
  const n = Object.fromEntries(KINDS.map((k) => [k, 0]));
  for (const m of mutants) n[m.status] = (n[m.status] ?? 0) + 1;
  for (const k of KINDS) total[k] += n[k];
  rows.push([name, n]);
}

const score = (n) => {
  const detected = n.Killed + n.Timeout + n.RuntimeError;
  const valid = detected + n.Survived + n.NoCoverage;
  return valid ? ((100 * detected) / valid).toFixed(1) : '–';
};
const line = (name, n) =>
  `| ${name} | ${n.Killed} | ${n.Timeout + n.RuntimeError} | ${n.Survived} | ${n.NoCoverage} | ${n.Ignored} | ${n.CompileError} | ${score(n)} |`;

console.log('| file | killed | timeout/runtime error | survived | no coverage | ignored (static) | compile error | score % |');
console.log('|---|---|---|---|---|---|---|---|');
for (const [name, n] of rows) console.log(line(name, n));
console.log(line('**all**', total).replace(/\| ([\d.–]+) \|$/, '| **$1** |'));

if (args.includes('--survivors')) {
  console.log('\nsurvived (S) or not covered (N):');
  for (const [name, { mutants }] of Object.entries(report.files)) {
    for (const m of mutants.filter((x) => x.status === 'Survived' || x.status === 'NoCoverage')) {
      console.log(
        `${m.status === 'Survived' ? 'S' : 'N'} ${name}:${m.location.start.line} ${m.mutatorName} ${JSON.stringify(m.replacement ?? '').slice(0, 80)}`,
      );
    }
  }
}
