/**
 * `npm run bench`: every benchmark (each `bench:<name>` script in package.json), one after the
 * other, then one Markdown table of their headline figures — figure, same-run baseline, ratio,
 * target, met or not, peak RSS — written to bench-results.md at the repository root.
 *
 *   npm run bench                    # all of them
 *   npm run bench -- coding claims   # only these
 *
 * Each benchmark runs in its own process (so its peak RSS is its own) with BENCH_RESULTS naming a
 * JSON-lines file its figures are appended to (scripts/bench/results.ts). Their own printout is
 * passed through, prefixed with the benchmark's name. A benchmark that exits non-zero is listed
 * under the table; the others still run.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchFigure } from './results.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OUTPUT = join(ROOT, 'bench-results.md');

/** Issue 17's targets that no benchmark measures yet: listed so the table never hides a gap. */
const UNMEASURED: readonly { readonly target: string; readonly why: string }[] = [
  { target: '`npm test` ≤ 120 s', why: 'the suite prints its own time; see the closing notes' },
  { target: 'several processes share one MongoDB', why: 'needs MONGODB_URL (a replica set)' },
];

interface Row extends BenchFigure {
  readonly peakRssMb: number;
}

interface Run {
  readonly name: string;
  readonly code: number;
  readonly seconds: number;
}

function benchNames(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  return Object.keys(pkg.scripts)
    .filter((s) => s.startsWith('bench:'))
    .map((s) => s.slice('bench:'.length));
}

function runOne(name: string, resultsFile: string, index: number, total: number): Promise<Run> {
  const started = Date.now();
  console.log(`\n[${index}/${total}] bench:${name}…`);
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', `bench:${name}`], {
      cwd: ROOT,
      env: { ...process.env, BENCH_RESULTS: resultsFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const relay = (stream: NodeJS.ReadableStream, out: NodeJS.WriteStream): void => {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) {
          out.write(`[${name}] ${line}\n`);
        }
      });
      stream.on('end', () => {
        if (rest !== '') {
          out.write(`[${name}] ${rest}\n`);
        }
      });
    };
    relay(child.stdout, process.stdout);
    relay(child.stderr, process.stderr);
    child.on('close', (code) => {
      const seconds = (Date.now() - started) / 1000;
      console.log(
        `[${index}/${total}] bench:${name} ${code === 0 ? 'done' : `exited ${code}`} in ${seconds.toFixed(0)} s`,
      );
      resolve({ name, code: code ?? 1, seconds });
    });
  });
}

const number = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: 3 });

function table(rows: readonly Row[], runs: readonly Run[]): string {
  const out: string[] = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` on ${new Date().toISOString()}: Node ${process.version}, ${cpus().length} cores, ` +
      `load average at the end ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' / ')}. Each figure's baseline was measured in the same run of the same benchmark; ` +
      "the ratio is figure ÷ baseline. Peak RSS is the benchmark process's high-water mark when the figure was recorded.",
    '',
    '| benchmark | figure | value | baseline | ratio | target | met | peak RSS |',
    '|---|---|---:|---|---:|---|---|---:|',
  ];
  for (const r of rows) {
    const baseline = r.baseline ? `${number(r.baseline.value)} ${r.unit} (${r.baseline.name})` : '—';
    const ratio = r.baseline && r.baseline.value !== 0 ? (r.value / r.baseline.value).toFixed(2) : '—';
    const met = r.met === undefined ? '—' : r.met ? 'met' : '**not met**';
    out.push(
      `| ${r.bench} | ${r.figure} | ${number(r.value)} ${r.unit} | ${baseline} | ${ratio} | ${r.target ?? '—'} | ${met} | ${r.peakRssMb} MB |`,
    );
  }
  out.push('', '## Runs', '', '| benchmark | exit | seconds |', '|---|---:|---:|');
  for (const run of runs) {
    out.push(`| ${run.name} | ${run.code} | ${run.seconds.toFixed(0)} |`);
  }
  out.push('', '## Targets no benchmark here measures', '');
  for (const u of UNMEASURED) {
    out.push(`- ${u.target}: ${u.why}.`);
  }
  return `${out.join('\n')}\n`;
}

async function main(): Promise<void> {
  const known = benchNames();
  const asked = process.argv.slice(2);
  const unknown = asked.filter((a) => !known.includes(a));
  if (unknown.length > 0) {
    console.error(`unknown benchmark(s): ${unknown.join(', ')} (known: ${known.join(', ')})`);
    process.exit(2);
  }
  const names = asked.length > 0 ? asked : known;
  const dir = mkdtempSync(join(tmpdir(), 'dripline-bench-'));
  const resultsFile = join(dir, 'results.jsonl');
  writeFileSync(resultsFile, '');
  const runs: Run[] = [];
  try {
    for (const [i, name] of names.entries()) {
      runs.push(await runOne(name, resultsFile, i + 1, names.length));
    }
    const rows = readFileSync(resultsFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Row);
    writeFileSync(OUTPUT, table(rows, runs));
    console.log(`\n${rows.length} figures from ${runs.length} benchmarks written to bench-results.md`);
    if (runs.some((r) => r.code !== 0)) {
      process.exitCode = 1;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
