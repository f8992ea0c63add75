/**
 * Runs one `etaops` command in this process and reports its peak RSS and wall time on the last
 * stderr line as `BENCH {"peakRssMB":…,"seconds":…,"exitCode":…}` (compare.ts reads it), so the
 * whole pipeline's memory (CSV reading, features, training, ONNX, metrics) is measured.
 *
 *   node dist/test/bench/ml/cli-peak.js train --data FILE --model-dir DIR --quiet
 */
import { main } from '../../../src/cli/main.js';

const t0 = performance.now();
const exitCode = await main(process.argv.slice(2));
const seconds = (performance.now() - t0) / 1000;
process.stderr.write(`BENCH ${JSON.stringify({ peakRssMB: process.resourceUsage().maxRSS / 1024, seconds, exitCode })}\n`);
process.exitCode = exitCode;
