// Preload (`node --import ./bench/ops-plans-apply.mjs ...`): applies the plans bench/ops-plans.mjs
// wrote (ops-plans.json in LBRX_BENCH_OUT or the working directory) to ROW_TUNING before a run.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROW_TUNING } from '../dist/ops/rows.js';

const file = join(process.env.LBRX_BENCH_OUT ?? '.', 'ops-plans.json');
if (existsSync(file)) {
  Object.assign(ROW_TUNING, JSON.parse(readFileSync(file, 'utf8')));
  console.error(`row plans from ${file}: ${JSON.stringify(ROW_TUNING)}`);
} else {
  console.error(`no ${file}: the default row plans`);
}
