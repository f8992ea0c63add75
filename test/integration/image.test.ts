/**
 * The container image without a Docker engine (none runs here). Two parts:
 *
 * 1. The Dockerfile's structure: multi-stage, a Node LTS line with support left, Debian's tini as
 *    PID 1, a numeric non-root USER, OCI labels that match package.json, a .dockerignore that
 *    lets only the build's inputs into the context.
 * 2. Its steps replayed on this machine: the instructions are READ FROM THE DOCKERFILE (COPY from
 *    the .dockerignore-filtered context or an earlier stage, WORKDIR, RUN, ENV) into one temp root
 *    per stage, absolute paths rooted there. Deviations, all stated: the RUN that installs Debian
 *    packages is not replayed (the test uses the machine's /usr/bin/tini from the same Debian
 *    release); npm gets `prefer-offline` so `npm ci` extracts from npm's local cache instead of
 *    downloading again; the build steps run on the machine's Node, the roles on the image's Node
 *    major (the official linux-x64 binary, hack/ensure-node.sh) placed at /usr/local/bin/node of
 *    the replayed root as in the base image; /tmp of the image
 *    is a temp dir (TMPDIR points at it). Then every role starts from the pruned tree through the
 *    image's ENTRYPOINT and ENV, as uid/gid 65532 when the test runs as root, with the app tree
 *    not writable: `--help`, `train --help`, gen-data + a tiny train, `serve` answering
 *    /v2/health/ready and /predict, and `controller` against the local kube-apiserver answering
 *    /healthz and /readyz and releasing its Lease on SIGTERM (forwarded by tini).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { builtinModules } from 'node:module';
import { dockerignoreFilter, execForm, keyValues, listFiles, parseDockerfile, type Stage } from './dockerfile.js';
import { CLUSTER_SKIP, KUBECONFIG, repoPath, ROOT, runOk } from './packaging-helpers.js';
import { deleteNamespace, ensureNamespace, installCRDs, testClient, uniqueNamespace, waitFor } from './controller-helpers.js';
import { GVRS } from '../../src/controller/runtime/kube.js';
import type { Lease } from '../../src/controller/runtime/leader.js';

const dockerfile = parseDockerfile(readFileSync(repoPath('Dockerfile'), 'utf8'));
const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string; license: string; dependencies: Record<string, string>; devDependencies: Record<string, string> };
const finalStage = dockerfile.stages[dockerfile.stages.length - 1];
const ops = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op);
const IMAGE_UID = 65532;

/** Node LTS lines and their end of life (nodejs.org release schedule). */
const NODE_LTS_END: Record<number, string> = { 18: '2025-04-30', 20: '2026-04-30', 22: '2027-04-30', 24: '2028-04-30', 26: '2029-04-30' };

describe('Dockerfile structure', () => {
  test('multi-stage: a named build stage, and a final stage on the same Node base', () => {
    assert.ok(dockerfile.stages.length >= 2, 'at least a build and a runtime stage');
    const build = dockerfile.stages[0];
    assert.ok(build.name, 'the build stage is named (COPY --from=<name>)');
    assert.equal(finalStage.image, build.image, 'build and runtime use the same Node, so native addons match');
    assert.ok(ops(finalStage, 'COPY').every((c) => /--from=/.test(c.args)), 'the runtime stage copies only build outputs, never the context');
    assert.ok(ops(build, 'RUN').some((r) => /\bnpm ci\b/.test(r.args)) && !ops(build, 'RUN').some((r) => /\bnpm (install|i)\b/.test(r.args)), 'npm ci (the lock file), never npm install');
    assert.ok(ops(build, 'RUN').some((r) => /npm prune --omit=dev/.test(r.args)), 'dev dependencies are pruned before the copy');
  });

  test('the base is a Node LTS line with at least a year of support left', () => {
    const m = /^node:(\d+)-([a-z]+)-slim$/.exec(finalStage.image);
    assert.ok(m, `base image '${finalStage.image}' is node:<major>-<debian>-slim`);
    const major = Number(m[1]);
    const end = NODE_LTS_END[major];
    assert.ok(end, `Node ${major} is not an LTS line (${Object.keys(NODE_LTS_END).join(', ')})`);
    const yearAhead = new Date(Date.now() + 365 * 86400_000).toISOString().slice(0, 10);
    assert.ok(end >= yearAhead, `Node ${major} reaches end of life on ${end}: bump NODE_VERSION`);
  });

  test('tini is PID 1, the user is numeric and not root, labels match package.json', () => {
    const entry = execForm(ops(finalStage, 'ENTRYPOINT').at(-1)!.args);
    assert.deepEqual(entry.slice(0, 2), ['/usr/bin/tini', '--'], 'tini runs first and hands signals to node');
    assert.ok(ops(finalStage, 'RUN').some((r) => /apt-get install[^&]*\btini\b/.test(r.args)), "Debian's tini is installed in the runtime stage");
    const user = ops(finalStage, 'USER').at(-1)?.args ?? '';
    assert.match(user, /^\d+:\d+$/, 'USER uid:gid, numeric, so runAsNonRoot can verify it');
    assert.ok(user.split(':').every((n) => Number(n) !== 0), 'not root');
    assert.equal(Number(user.split(':')[0]), IMAGE_UID, 'the chart and the controller run pods as 65532');
    const args = Object.fromEntries(ops(finalStage, 'ARG').map((a) => a.args.split('=')));
    const labels = Object.assign({}, ...ops(finalStage, 'LABEL').map((l) => keyValues(l.args))) as Record<string, string>;
    for (const k of ['title', 'description', 'version', 'licenses']) assert.ok(labels[`org.opencontainers.image.${k}`], `label org.opencontainers.image.${k}`);
    assert.equal(labels['org.opencontainers.image.licenses'], pkg.license);
    assert.equal(labels['org.opencontainers.image.version'].replace('${VERSION}', args.VERSION), pkg.version, 'ARG VERSION follows package.json');
    const chart = readFileSync(repoPath('charts/etaops/Chart.yaml'), 'utf8');
    assert.match(chart, new RegExp(`^appVersion: "?${pkg.version.replace(/\./g, '\\.')}"?$`, 'm'), "the chart's appVersion (its default image tag) is the package version");
  });

  test('a read-only root filesystem suffices: HOME and ETAOPS_HOME are under /tmp', () => {
    const env = Object.assign({}, ...ops(finalStage, 'ENV').map((e) => keyValues(e.args))) as Record<string, string>;
    assert.equal(env.NODE_ENV, 'production');
    assert.match(env.HOME, /^\/tmp(\/|$)/);
    assert.match(env.ETAOPS_HOME, /^\/tmp(\/|$)/);
  });

  test('.dockerignore lets in the build inputs and nothing else', () => {
    const allowed = dockerignoreFilter(readFileSync(repoPath('.dockerignore'), 'utf8'));
    const files = listFiles(ROOT, new Set(['.git', 'node_modules', 'dist', 'test/bench/.venv', 'test/bench/.venv-drift', 'test/bench/.venv-serve']));
    const context = files.filter(allowed);
    for (const c of dockerfile.stages.flatMap((s) => ops(s, 'COPY')).filter((c) => !/--from=/.test(c.args))) {
      for (const src of c.args.split(/\s+/).slice(0, -1)) {
        const s = src.replace(/\/$/, '');
        assert.ok(context.some((f) => f === s || f.startsWith(`${s}/`)), `COPY ${src} (line ${c.line}) is in the context`);
      }
    }
    for (const banned of ['test/', 'docs/', 'charts/', 'hack/', 'manifests/', '.github/', 'README.md', 'Dockerfile']) {
      assert.ok(!context.some((f) => f.startsWith(banned) || f === banned), `${banned} stays out of the build context`);
    }
    assert.ok(!allowed('node_modules/x/index.js') && !allowed('dist/src/cli/main.js') && !allowed('.git/HEAD'), 'node_modules, dist and .git stay out');
  });
});

/** The Dockerfile's stages replayed into temp roots; see the file header for what differs. */
class Replay {
  readonly roots = new Map<string, string>();
  /** The image's Node (its major from the base image), copied into the final root. */
  node = '';
  readonly base = mkdtempSync(path.join(tmpdir(), 'etaops-image-'));
  readonly skipped: string[] = [];
  finalRoot = '';
  finalEnv: Record<string, string> = {};
  finalWorkdir = '/';
  private readonly allowed = dockerignoreFilter(readFileSync(repoPath('.dockerignore'), 'utf8'));

  run(): void {
    chmodSync(this.base, 0o755);
    dockerfile.stages.forEach((stage, i) => this.stage(stage, i));
    // Where node:<major>-*-slim has its node; copied (not linked) so that uid 65532 can run it.
    const major = /^node:(\d+)-/.exec(finalStage.image)?.[1] ?? assert.fail(`base image '${finalStage.image}' names no Node major`);
    this.node = path.join(this.finalRoot, 'usr', 'local', 'bin', 'node');
    mkdirSync(path.dirname(this.node), { recursive: true });
    cpSync(runOk(repoPath('hack/ensure-node.sh'), [major]).trim(), this.node);
    chmodSync(this.node, 0o755);
  }

  private stage(stage: Stage, index: number): void {
    const root = path.join(this.base, stage.name ?? `stage${index}`);
    mkdirSync(root, { recursive: true });
    this.roots.set(stage.name ?? String(index), root);
    let workdir = '/';
    const env: Record<string, string> = {};
    for (const ins of stage.instructions) {
      if (ins.op === 'WORKDIR') {
        workdir = path.posix.resolve(workdir, ins.args);
        mkdirSync(path.join(root, workdir), { recursive: true });
      } else if (ins.op === 'COPY') this.copy(root, workdir, ins.args);
      else if (ins.op === 'ENV') Object.assign(env, keyValues(ins.args));
      else if (ins.op === 'RUN') this.runStep(root, workdir, env, ins.args);
    }
    this.finalRoot = root;
    this.finalEnv = env;
    this.finalWorkdir = workdir;
  }

  private copy(root: string, workdir: string, args: string): void {
    const words = args.split(/\s+/);
    const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
    const rest = words.filter((w) => !w.startsWith('--'));
    const dest = rest.pop()!;
    const destAbs = path.join(root, path.posix.resolve(workdir, dest));
    const intoDir = dest.endsWith('/') || rest.length > 1;
    for (const src of rest) {
      const srcAbs = from ? path.join(this.roots.get(from) ?? assert.fail(`COPY --from=${from}: no such stage`), src) : path.join(ROOT, src);
      if (!from) assert.ok(this.allowed(src.replace(/\/$/, '')), `COPY ${src}: excluded by .dockerignore`);
      const target = intoDir && !statSync(srcAbs).isDirectory() ? path.join(destAbs, path.basename(src)) : destAbs;
      mkdirSync(path.dirname(target), { recursive: true });
      cpSync(srcAbs, target, {
        recursive: true,
        verbatimSymlinks: true,
        // From the context, only what .dockerignore lets through.
        filter: from ? undefined : (p) => this.allowed(path.relative(ROOT, p).split(path.sep).join('/')),
      });
    }
  }

  private runStep(root: string, workdir: string, env: Record<string, string>, cmd: string): void {
    if (/^apt-get\b/.test(cmd)) {
      this.skipped.push(cmd);
      return;
    }
    // Absolute paths in the command live in this stage's root.
    const rooted = cmd.replace(/(^|[\s=])(\/[\w.\-/]+)/g, (_, pre: string, p: string) => {
      mkdirSync(path.join(root, path.posix.dirname(p)), { recursive: true });
      return `${pre}${path.join(root, p)}`;
    });
    runOk('bash', ['-euo', 'pipefail', '-c', rooted], {
      cwd: path.join(root, workdir),
      env: { ...process.env, ...env, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' },
      timeout: 300_000,
    });
  }
}

/** A role started through the image's ENTRYPOINT and ENV from the replayed tree. */
function imageProcess(r: Replay, args: string[], opts: { tini: boolean; uid?: number }): ChildProcess {
  const entry = execForm(ops(finalStage, 'ENTRYPOINT').at(-1)!.args);
  const argv = entry.map((a) => (a === 'node' ? r.node : a.startsWith('/app/') ? path.join(r.finalRoot, a) : a));
  const cmd = opts.tini ? argv : argv.slice(2);
  const imageTmp = path.join(r.finalRoot, 'tmp');
  const env: Record<string, string> = { PATH: `${path.dirname(r.node)}:/usr/bin:/bin`, TMPDIR: imageTmp };
  for (const [k, v] of Object.entries(r.finalEnv)) env[k] = v.startsWith('/') ? path.join(r.finalRoot, v) : v;
  return spawn(cmd[0], [...cmd.slice(1), ...args], { cwd: path.join(r.finalRoot, r.finalWorkdir), env, uid: opts.uid, gid: opts.uid, stdio: ['ignore', 'pipe', 'pipe'] });
}

async function finish(p: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  p.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
  p.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const [code] = (await once(p, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/** Resolves with the first match of `re` in the process's output (stdout and stderr). */
function waitForOutput(p: ChildProcess, re: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re} in:\n${seen}`)), timeoutMs);
    const onData = (d: Buffer) => {
      seen += d.toString();
      const m = re.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    p.stdout!.on('data', onData);
    p.stderr!.on('data', onData);
    p.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before ${re}:\n${seen}`));
    });
  });
}

/** Bare package names that compiled code imports (static and dynamic). */
function importedPackages(dir: string): Set<string> {
  const out = new Set<string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.js')) {
        const text = readFileSync(p, 'utf8');
        const specs = [
          ...text.matchAll(/^\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/gm),
          ...text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
          ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
        ].map((m) => m[1]).filter((x) => !x.startsWith('.') && !x.startsWith('/'));
        for (const spec of specs) {
          if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
          out.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
        }
      }
    }
  };
  walk(dir);
  return out;
}

describe('the Dockerfile replayed on this machine', () => {
  const r = new Replay();
  const tini = existsSync('/usr/bin/tini');
  const uid = process.getuid?.() === 0 ? IMAGE_UID : undefined;
  let imageTmp = '';

  before(() => {
    r.run();
    imageTmp = path.join(r.finalRoot, 'tmp');
    mkdirSync(imageTmp, { recursive: true });
    chmodSync(imageTmp, 0o1777);
  });
  after(() => rmSync(r.base, { recursive: true, force: true }));

  test('the build produced the runtime tree with production dependencies only', (t) => {
    t.diagnostic(`not replayed (system packages): ${r.skipped.join(' | ')}`);
    const nm = path.join(r.finalRoot, 'app', 'node_modules');
    // Every package the lock file marks dev-only (a dev dependency or needed only by one) is gone.
    const lock = JSON.parse(readFileSync(repoPath('package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.entries(lock.packages).filter(([p, v]) => p.startsWith('node_modules/') && v.dev).map(([p]) => p);
    assert.ok(devOnly.length > 50 && devOnly.includes('node_modules/typescript'), `the lock file marks dev-only packages (${devOnly.length})`);
    const leftovers = devOnly.filter((p) => existsSync(path.join(r.finalRoot, 'app', p, 'package.json')));
    assert.deepEqual(leftovers, [], 'dev-only packages left in the image');
    for (const dep of Object.keys(pkg.dependencies)) assert.ok(existsSync(path.join(nm, dep, 'package.json')), `dependency ${dep} is in the image`);
    const imported = importedPackages(path.join(r.finalRoot, 'app', 'dist', 'src'));
    assert.ok(imported.size >= 5, `found the compiled imports (${[...imported].join(', ')})`);
    for (const name of imported) assert.ok(name in pkg.dependencies, `dist/src imports '${name}', which is not a production dependency`);
    assert.ok(!existsSync(path.join(r.finalRoot, 'app', 'dist', 'test')), 'no compiled tests in the image');
    for (let d = path.dirname(path.join(r.finalRoot, 'app')); d !== path.dirname(d); d = path.dirname(d)) {
      assert.ok(!existsSync(path.join(d, 'node_modules')), `${d}/node_modules would leak packages into the replayed image`);
    }
    const link = path.join(r.finalRoot, 'usr', 'local', 'bin', 'etaops');
    assert.ok(lstatSync(link).isSymbolicLink() && readlinkSync(link).endsWith('/app/dist/src/cli/main.js'), 'etaops is on PATH');
    // The app tree is the image's read-only layer: the roles below run as 65532 and cannot write it.
    if (uid !== undefined) chownSync(imageTmp, uid, uid);
  });

  const role = (args: string[]) => finish(imageProcess(r, args, { tini, uid }));

  test('the roles run on the image\'s Node major, not the machine\'s', async () => {
    const major = /^node:(\d+)-/.exec(finalStage.image)![1];
    const v = await finish(spawn(r.node, ['-p', 'process.versions.node'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, new RegExp(`^${major}\\.`), `node at ${r.node} is ${v.stdout}`);
  });

  test('the default CMD and `train --help` answer', async (t) => {
    if (!tini) t.diagnostic('no /usr/bin/tini here: roles run without it (hack/ensure-packaging-tools.sh installs it)');
    const cmd = execForm(ops(finalStage, 'CMD').at(-1)!.args);
    const help = await role(cmd);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout + help.stderr, /Commands:[\s\S]*controller/);
    const train = await role(['train', '--help']);
    assert.equal(train.code, 0, train.stderr);
    assert.match(train.stdout + train.stderr, /Usage: etaops train --data URI --model-dir DIR/);
  });

  test('gen-data and a tiny train job, then `serve` answers /v2/health/ready and /predict', async () => {
    const csv = path.join(imageTmp, 'orders.csv');
    const modelDir = path.join(imageTmp, 'model');
    const gen = await role(['gen-data', '--rows', '3000', '--out', csv, '--seed', '7']);
    assert.equal(gen.code, 0, gen.stderr);
    if (uid !== undefined) assert.equal(statSync(csv).uid, uid, 'the roles run as the image USER');
    const train = await role(['train', '--data', csv, '--model-dir', modelDir, '--json', '--quiet', '--params', JSON.stringify({ numTrees: 20, learningRate: 0.3, earlyStoppingRounds: 0 })]);
    assert.equal(train.code, 0, train.stderr);
    const summary = JSON.parse(train.stdout) as { bestIteration: number; metrics: { overall: { count: number; mae: number } } };
    assert.equal(summary.bestIteration, 20);
    assert.ok(summary.metrics.overall.count > 400 && summary.metrics.overall.mae > 0, JSON.stringify(summary.metrics.overall));

    const serve = imageProcess(r, ['serve', '--model-dir', modelDir, '--port', '0', '--no-log'], { tini, uid });
    const done = finish(serve);
    try {
      const [, url] = await waitForOutput(serve, /ready on (http:\/\/\S+)/);
      const ready = await fetch(`${url}/v2/health/ready`);
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), { ready: true });
      const [header, row] = readFileSync(csv, 'utf8').split('\n');
      const names = header.split(',');
      const order = Object.fromEntries(row.split(',').map((v, i) => [names[i], v]).filter(([k, v]) => v !== '' && k !== 'actual_delivery_time'));
      const res = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(order) });
      const body = (await res.json()) as { prediction: number };
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.ok(Number.isFinite(body.prediction) && body.prediction > 0, `prediction ${body.prediction}`);
    } finally {
      serve.kill('SIGTERM');
    }
    const exit = await done;
    assert.equal(exit.code, 0, `serve drains and exits 0 on SIGTERM:\n${exit.stderr}`);
  });

  describe('controller against the local kube-apiserver', { skip: CLUSTER_SKIP }, () => {
    const ns = uniqueNamespace('etaops-image-test');
    const c = CLUSTER_SKIP ? undefined : testClient();
    before(async () => {
      await installCRDs(c!);
      await ensureNamespace(c!, ns);
    });
    after(async () => {
      await deleteNamespace(c!, ns);
      c!.close();
    });

    test('answers /healthz and /readyz, and releases its Lease on SIGTERM', async () => {
      // The role runs as 65532, which cannot read the admin kubeconfig under root's home.
      const kubeconfig = path.join(imageTmp, 'kubeconfig');
      writeFileSync(kubeconfig, readFileSync(KUBECONFIG!), { mode: 0o600 });
      if (uid !== undefined) chownSync(kubeconfig, uid, uid);
      const ctl = imageProcess(r, ['controller', '--kubeconfig', kubeconfig, '--namespace', ns, '--lease-namespace', ns, '--port', '0'], { tini, uid });
      const done = finish(ctl);
      try {
        const [, base] = await waitForOutput(ctl, /health and metrics on (http:\/\/\S+)/);
        const health = await fetch(`${base}/healthz`);
        assert.equal(health.status, 200);
        await waitFor('/readyz 200', async () => ((await fetch(`${base}/readyz`)).status === 200 ? true : undefined));
        await waitFor('the Lease held by this controller', async () => {
          const lease = await c!.getOrUndefined<Lease>(GVRS.leases, ns, 'etaops-controller');
          return lease?.spec?.holderIdentity ? true : undefined;
        });
      } finally {
        ctl.kill('SIGTERM');
      }
      const exit = await done;
      assert.equal(exit.code, 0, `controller exits 0 on SIGTERM:\n${exit.stderr}`);
      const lease = await c!.getOrUndefined<Lease>(GVRS.leases, ns, 'etaops-controller');
      assert.ok(!lease?.spec?.holderIdentity, `Lease released: ${JSON.stringify(lease?.spec)}`);
    });
  });
});
