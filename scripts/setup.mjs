#!/usr/bin/env node
// @ts-check
/**
 * growlab install command (`npm run setup`). Plain Node ESM, built-ins only.
 *
 *  1. `npm ci --no-audit --no-fund --ignore-scripts` when node_modules is missing or stale (never rewrites package-lock.json).
 *  2. Makes the native backend of @tensorflow/tfjs-node work:
 *     a. detect a working addon (spawned `node -e`, backend must be 'tensorflow') -> done;
 *     b. unless GROWLAB_TF_OFFLINE=1: the package's own install (downloads libtensorflow 2.9.1 + a
 *        prebuilt addon from Google storage), with a short timeout;
 *     c. fallback: stage the TF C API from the tensorflow-cpu==2.21.0 wheel (GROWLAB_TF_WHEEL, then
 *        GROWLAB_LIBTENSORFLOW_DIR, then ~/.cache/growlab/wheels, then `pip download`) into the
 *        package's deps/ and build the addon from source (node-pre-gyp --build-from-source);
 *     d. verify again and write node_modules/.growlab/tf-native.json.
 *  3. A Python venv at .growlab/venv with pinned TensorFlow/Keras, onnx, onnxruntime, safetensors, torch
 *     (the export tests load exports with them); warns instead of failing when python3 is missing.
 *  Idempotent: with everything in place it only stats a few files and loads TF once (~1 s).
 *  See docs/setup.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NM = path.join(ROOT, 'node_modules');
const TF_PKG = '@tensorflow/tfjs-node';
const PKG_DIR = path.join(NM, '@tensorflow', 'tfjs-node');
const DEPS = path.join(PKG_DIR, 'deps');
const STAGE_STAMP = path.join(DEPS, '.growlab-staged.json');
const CUSTOM_BINARY = path.join(PKG_DIR, 'scripts', 'custom-binary.json');
const STATE_DIR = path.join(NM, '.growlab');
const MARKER = path.join(STATE_DIR, 'tf-native.json');
const BUILD_LOG = path.join(STATE_DIR, 'tf-build.log');

const WHEEL_PROJECT = 'tensorflow-cpu';
const WHEEL_TF_VERSION = '2.21.0';
/** install.js skips its download when deps/lib/libtensorflow.so.<this> exists. */
const PKG_LIBTF_VERSION = '2.9.1';
const CACHE_ROOT = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'growlab');
const WHEEL_CACHE = path.join(CACHE_ROOT, 'wheels');

const OFFLINE = process.env.GROWLAB_TF_OFFLINE === '1';
const DOWNLOAD_TIMEOUT_S = Number(process.env.GROWLAB_TF_DOWNLOAD_TIMEOUT || 60);
const PROBE_MARK = '@@growlab-tf-probe@@';

const t0 = Date.now();
const secs = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
const log = (/** @type {string} */ msg) => console.log(`[setup] ${msg}`);

class SetupError extends Error {
  /** @param {string} message @param {string[]} [hints] */
  constructor(message, hints = []) {
    super(message);
    this.hints = hints;
  }
}

const FIX_HINTS = [
  `Point the setup at the TensorFlow C library, then rerun \`npm run setup\`:`,
  `  GROWLAB_TF_WHEEL=/path/to/tensorflow_cpu-${WHEEL_TF_VERSION}-<tags>.whl   (from \`python3 -m pip download --no-deps ${WHEEL_PROJECT}==${WHEEL_TF_VERSION}\`)`,
  `  or GROWLAB_LIBTENSORFLOW_DIR=/path/to/libtensorflow   (a folder with include/ and lib/)`,
  `  or put the wheel in ${WHEEL_CACHE}/`,
  `See docs/setup.md.`,
];

// ---------------------------------------------------------------------------------------------
// process helpers

/**
 * Runs a command; resolves {code, out, timedOut}. With `capture`, stdout+stderr are collected
 * (and appended to `logFile`); otherwise they are inherited. The child gets its own process
 * group so that a timeout kills it and everything it started.
 * @param {string} cmd @param {string[]} args
 * @param {{cwd?: string, env?: NodeJS.ProcessEnv, timeoutS?: number, capture?: boolean, logFile?: string}} [o]
 * @returns {Promise<{code: number | null, out: string, timedOut: boolean}>}
 */
function run(cmd, args, o = {}) {
  return new Promise((resolve) => {
    const capture = o.capture ?? true;
    let child;
    try {
      child = spawn(cmd, args, {
        cwd: o.cwd ?? ROOT,
        env: o.env ?? process.env,
        stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit',
        detached: process.platform !== 'win32',
      });
    } catch (e) {
      resolve({ code: -1, out: String(e), timedOut: false });
      return;
    }
    let out = '';
    const logFd = o.logFile ? fs.openSync(o.logFile, 'a') : null;
    if (logFd !== null) fs.writeSync(logFd, `\n$ (cd ${o.cwd ?? ROOT} && ${cmd} ${args.join(' ')})\n`);
    const onData = (/** @type {Buffer} */ d) => {
      out += d.toString();
      if (out.length > 4_000_000) out = out.slice(-2_000_000);
      if (logFd !== null) fs.writeSync(logFd, d);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    let timedOut = false;
    /** @type {NodeJS.Timeout | undefined} */
    let timer;
    const killGroup = (/** @type {NodeJS.Signals} */ sig) => {
      try {
        if (child.pid) process.kill(process.platform === 'win32' ? child.pid : -child.pid, sig);
      } catch { /* already gone */ }
    };
    if (o.timeoutS) {
      timer = setTimeout(() => {
        timedOut = true;
        killGroup('SIGTERM');
        setTimeout(() => killGroup('SIGKILL'), 5000).unref();
      }, o.timeoutS * 1000);
    }
    child.on('error', (e) => { out += `\n${e.message}`; });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      if (logFd !== null) fs.closeSync(logFd);
      resolve({ code, out, timedOut });
    });
  });
}

/** @param {string} out @param {number} n */
const tail = (out, n) => out.trimEnd().split('\n').slice(-n).map((l) => `    ${l}`).join('\n');

/** First line that looks like the reason of a failure (ENOTFOUND, Error: ...). @param {string} out */
function failureReason(out) {
  const lines = out.split('\n');
  const pick = (/** @type {RegExp} */ re) => lines.find((l) => re.test(l));
  return (pick(/E(NOTFOUND|CONNREFUSED|CONNRESET|TIMEDOUT|AI_AGAIN)|getaddrinfo/) ??
    pick(/^\s*(\w*Error|error):/) ?? pick(/failed/i) ?? lines.filter(Boolean).pop() ?? '').trim();
}

/** @param {string} p */
const mtime = (p) => { try { return fs.statSync(p).mtimeMs; } catch { return -1; } };
/** @param {string} p */
const readJson = (p) => { try { return JSON.parse(fs.readFileSync(p, 'utf8')); } catch { return null; } };
/** @param {string} p */
const rm = (p) => fs.rmSync(p, { recursive: true, force: true });
/** @param {string} cmd */
const hasCommand = (cmd) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;

// ---------------------------------------------------------------------------------------------
// 1. npm ci

function workspacePackageJsons() {
  const pkg = readJson(path.join(ROOT, 'package.json')) ?? {};
  const ws = Array.isArray(pkg.workspaces) ? pkg.workspaces : pkg.workspaces?.packages ?? [];
  /** @type {string[]} */
  const files = [];
  for (const pattern of ws) {
    if (pattern.endsWith('/*')) {
      const dir = path.join(ROOT, pattern.slice(0, -2));
      let entries = [];
      try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { continue; }
      for (const e of entries) if (e.isDirectory()) files.push(path.join(dir, e.name, 'package.json'));
    } else if (!pattern.includes('*')) {
      files.push(path.join(ROOT, pattern, 'package.json'));
    }
  }
  return files.filter((f) => fs.existsSync(f));
}

async function ensureNodeModules() {
  const hidden = path.join(NM, '.package-lock.json');
  const hiddenM = mtime(hidden);
  let reason = '';
  if (!fs.existsSync(NM)) reason = 'node_modules is missing';
  else if (hiddenM < 0) reason = 'node_modules/.package-lock.json is missing';
  else {
    const inputs = [path.join(ROOT, 'package.json'), path.join(ROOT, 'package-lock.json'), ...workspacePackageJsons()];
    const newer = inputs.find((f) => mtime(f) > hiddenM);
    if (newer) reason = `${path.relative(ROOT, newer)} changed since the last install`;
  }
  if (!reason) {
    log('node_modules up to date');
    return;
  }
  // `npm ci` installs exactly what package-lock.json says and never rewrites it (a fresh clone stays clean); it
  // refuses a lockfile out of sync with package.json instead of quietly "fixing" it.
  log(`npm ci (${reason}) ...`);
  const r = await run('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts'], { capture: false });
  if (r.code !== 0) {
    throw new SetupError(`npm ci failed (exit ${r.code})`, [
      'Check the npm registry is reachable. If npm says package.json and package-lock.json are out of sync, run `npm install` once and commit package-lock.json.',
    ]);
  }
  // npm may leave the hidden lockfile untouched when nothing changed: stamp it so the next run is a no-op.
  const now = new Date();
  if (fs.existsSync(hidden)) fs.utimesSync(hidden, now, now);
  log(`npm ci done (${secs()})`);
}

// ---------------------------------------------------------------------------------------------
// 2a. probe

const PROBE_SRC = `
const t = Date.now();
let r;
try {
  const tf = require(${JSON.stringify(TF_PKG)});
  const backend = tf.getBackend();
  let tfVersion = null;
  try { tfVersion = tf.backend().binding.TF_Version; } catch {}
  const sum = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])).sum().dataSync()[0]);
  r = { ok: backend === 'tensorflow' && sum === 10, backend, tfVersion,
        tfjsVersion: tf.version['tfjs-node'], loadMs: Date.now() - t };
  if (sum !== 10) r.error = 'sanity op returned ' + sum;
} catch (e) {
  r = { ok: false, error: String((e && e.message) || e).split('\\n')[0] };
}
console.log(${JSON.stringify(PROBE_MARK)} + JSON.stringify(r));
`;

/** @returns {Promise<{ok: boolean, backend?: string, tfVersion?: string, tfjsVersion?: string, loadMs?: number, error?: string}>} */
async function probe() {
  const r = await run(process.execPath, ['-e', PROBE_SRC], {
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '3' },
    timeoutS: 120,
  });
  const line = r.out.split('\n').find((l) => l.startsWith(PROBE_MARK));
  if (!line) {
    return { ok: false, error: r.timedOut ? 'probe timed out' : `probe crashed (exit ${r.code}): ${failureReason(r.out)}` };
  }
  return JSON.parse(line.slice(PROBE_MARK.length));
}

function addonFiles() {
  const lib = path.join(PKG_DIR, 'lib');
  try {
    return fs.readdirSync(lib)
      .filter((d) => d.startsWith('napi-v'))
      .map((d) => path.join(lib, d, 'tfjs_binding.node'))
      .filter((f) => fs.existsSync(f));
  } catch { return []; }
}

/**
 * @param {{backend?: string, tfVersion?: string, tfjsVersion?: string}} p
 * @param {string} source
 * @param {string} [builtAt]
 */
function writeMarker(p, source, builtAt) {
  const old = readJson(MARKER);
  const data = {
    backend: p.backend,
    tfVersion: p.tfVersion,
    tfjsVersion: p.tfjsVersion,
    source,
    builtAt: builtAt ?? new Date().toISOString(),
  };
  if (old && old.backend === data.backend && old.tfVersion === data.tfVersion &&
      old.tfjsVersion === data.tfjsVersion && old.source === data.source && !builtAt) {
    return; // unchanged: keep the file (and its mtime) as is
  }
  fs.mkdirSync(STATE_DIR, { recursive: true });
  fs.writeFileSync(MARKER, `${JSON.stringify(data, null, 2)}\n`);
}

/** @param {{tfVersion?: string, tfjsVersion?: string, loadMs?: number}} p @param {string} source */
const summary = (p, source) =>
  `tfjs-node ${p.tfjsVersion} native backend OK: TensorFlow ${p.tfVersion} (source: ${source}, load ${p.loadMs} ms, total ${secs()})`;

// ---------------------------------------------------------------------------------------------
// 2b. the package's own install (download)

/**
 * Runs the package's install script (scripts/install.js) through `npm rebuild` with scripts
 * enabled, restoring the package.json that install.js rewrites (it does not revert on failure).
 * @param {{timeoutS: number, label: string}} o
 */
async function runPackageInstall(o) {
  const pkgJson = path.join(PKG_DIR, 'package.json');
  const original = fs.readFileSync(pkgJson, 'utf8');
  const env = { ...process.env, npm_config_ignore_scripts: 'false', npm_config_foreground_scripts: 'true' };
  if (!env.npm_config_nodedir && fs.existsSync('/usr/include/node/node_api.h')) env.npm_config_nodedir = '/usr';
  try {
    for (const f of addonFiles()) rm(f);
    let r = await run('npm', ['rebuild', TF_PKG, '--ignore-scripts=false', '--foreground-scripts'], {
      env, timeoutS: o.timeoutS, logFile: BUILD_LOG,
    });
    const ran = r.out.includes('scripts/install.js');
    if (!r.timedOut && !ran) {
      // npm did not run the dependency's install script (e.g. an allowScripts policy): run it directly.
      log(`npm rebuild did not run ${TF_PKG}'s install script; running scripts/install.js directly`);
      const npmGyp = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
      const direct = {
        ...env,
        PATH: [path.join(PKG_DIR, 'node_modules', '.bin'), path.join(NM, '.bin'), env.PATH].join(path.delimiter),
      };
      if (!direct.npm_config_node_gyp && fs.existsSync(npmGyp)) direct.npm_config_node_gyp = npmGyp;
      r = await run(process.execPath, ['scripts/install.js'], { cwd: PKG_DIR, env: direct, timeoutS: o.timeoutS, logFile: BUILD_LOG });
    }
    return r;
  } finally {
    if (fs.readFileSync(pkgJson, 'utf8') !== original) fs.writeFileSync(pkgJson, original);
  }
}

async function tryDownload() {
  log(`trying ${TF_PKG}'s own install (downloads libtensorflow ${PKG_LIBTF_VERSION}; timeout ${DOWNLOAD_TIMEOUT_S}s) ...`);
  rm(CUSTOM_BINARY); // a leftover "tf-lib" entry would redirect the download
  rm(DEPS);
  const r = await runPackageInstall({ timeoutS: DOWNLOAD_TIMEOUT_S, label: 'download' });
  if (r.code === 0 && !r.timedOut) {
    const p = await probe();
    if (p.ok) return p;
    log(`own install finished but the addon does not work: ${p.error ?? `backend ${p.backend}`}`);
  } else {
    log(`own install failed${r.timedOut ? ` (timed out after ${DOWNLOAD_TIMEOUT_S}s)` : ''}: ${failureReason(r.out) || `exit ${r.code}`}`);
  }
  rm(DEPS);
  return null;
}

// ---------------------------------------------------------------------------------------------
// 2c. stage the TF C API from a wheel / libtensorflow folder

/** @param {string} f */
function wheelVersion(f) {
  const m = /^tensorflow(?:[_-]cpu)?-(\d+\.\d+\.\d+)-/.exec(path.basename(f));
  return m ? m[1] : undefined;
}

function cachedWheel() {
  let names = [];
  try { names = fs.readdirSync(WHEEL_CACHE); } catch { return undefined; }
  const hits = names
    .filter((n) => n.endsWith('.whl') && wheelVersion(n) === WHEEL_TF_VERSION && /^tensorflow[_-]cpu-/.test(n))
    .map((n) => path.join(WHEEL_CACHE, n))
    .sort((a, b) => mtime(b) - mtime(a));
  return hits[0];
}

/** Picks the source, downloading the wheel with pip if nothing is given or cached. */
async function resolveSource() {
  const envWheel = process.env.GROWLAB_TF_WHEEL;
  if (envWheel) {
    const p = path.resolve(envWheel);
    if (!fs.statSync(p, { throwIfNoEntry: false })?.isFile()) {
      throw new SetupError(`GROWLAB_TF_WHEEL=${envWheel}: no such file`, FIX_HINTS);
    }
    return { kind: 'wheel', from: p, expectVersion: wheelVersion(p) };
  }
  const envDir = process.env.GROWLAB_LIBTENSORFLOW_DIR;
  if (envDir) {
    const p = path.resolve(envDir);
    if (!fs.existsSync(path.join(p, 'include', 'tensorflow', 'c', 'c_api.h')) || !fs.existsSync(path.join(p, 'lib'))) {
      throw new SetupError(`GROWLAB_LIBTENSORFLOW_DIR=${envDir} must contain include/tensorflow/c/c_api.h and lib/`, FIX_HINTS);
    }
    return { kind: 'libtensorflow-dir', from: p, expectVersion: undefined };
  }
  const cached = cachedWheel();
  if (cached) return { kind: 'wheel', from: cached, expectVersion: WHEEL_TF_VERSION };

  const py = process.env.PYTHON || 'python3';
  if (!hasCommand(py)) {
    throw new SetupError(`no ${WHEEL_PROJECT} wheel given or cached, and ${py} is not available to download one`, FIX_HINTS);
  }
  log(`downloading ${WHEEL_PROJECT}==${WHEEL_TF_VERSION} wheel with pip into ${WHEEL_CACHE} ...`);
  fs.mkdirSync(WHEEL_CACHE, { recursive: true });
  const r = await run(py, ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--progress-bar', 'off',
    `${WHEEL_PROJECT}==${WHEEL_TF_VERSION}`, '-d', WHEEL_CACHE], { capture: false, timeoutS: 1800 });
  const got = cachedWheel();
  if (r.code !== 0 || !got) {
    throw new SetupError(`pip download of ${WHEEL_PROJECT}==${WHEEL_TF_VERSION} failed (exit ${r.code})`, FIX_HINTS);
  }
  log(`wheel downloaded: ${path.basename(got)} (${secs()})`);
  return { kind: 'wheel', from: got, expectVersion: WHEEL_TF_VERSION };
}

/** Python: extract only the C API headers and the two shared libraries, laid out as deps/. */
const EXTRACT_PY = `
import os, shutil, sys, zipfile
whl, dest = sys.argv[1], sys.argv[2]
PRE = 'tensorflow/include/'
LIBS = ('tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2')
def target(n):
    if n.endswith('/'):
        return None
    if n in LIBS:
        return 'lib/' + n.rsplit('/', 1)[1]
    if not n.startswith(PRE):
        return None
    r = n[len(PRE):]
    if r.startswith('tensorflow/c/') or r.startswith('xla/tsl/c/'):
        return 'include/' + r
    d, _, base = r.rpartition('/')
    if base.startswith('ctstring') and d in ('tensorflow/core/platform', 'tsl/platform', 'tensorflow/tsl/platform'):
        return 'include/' + r
    return None
n_files = 0
with zipfile.ZipFile(whl) as z:
    for info in z.infolist():
        t = target(info.filename)
        if t is None:
            continue
        p = os.path.join(dest, t)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with z.open(info) as src, open(p, 'wb') as dst:
            shutil.copyfileobj(src, dst, 1 << 22)
        n_files += 1
print('extracted', n_files)
`;

const UNZIP_PATTERNS = [
  'tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2',
  'tensorflow/include/tensorflow/c/*', 'tensorflow/include/xla/tsl/c/*',
  'tensorflow/include/tensorflow/core/platform/ctstring*', 'tensorflow/include/tsl/platform/ctstring*',
  'tensorflow/include/tensorflow/tsl/platform/ctstring*',
];

/** @param {string} whl @param {string} dest */
async function extractWheel(whl, dest) {
  const py = process.env.PYTHON || 'python3';
  if (hasCommand(py)) {
    const r = await run(py, ['-c', EXTRACT_PY, whl, dest], { logFile: BUILD_LOG });
    if (r.code !== 0) throw new SetupError(`extracting ${whl} failed: ${failureReason(r.out)}`, [`Is it a complete ${WHEEL_PROJECT} wheel? Delete it and rerun, or set GROWLAB_TF_WHEEL.`]);
  } else if (spawnSync('unzip', ['-v'], { stdio: 'ignore' }).status === 0) {
    const raw = path.join(dest, 'raw');
    const r = await run('unzip', ['-q', '-o', whl, ...UNZIP_PATTERNS, '-d', raw], { logFile: BUILD_LOG });
    if (r.code !== 0 && r.code !== 11) throw new SetupError(`unzip ${whl} failed: ${failureReason(r.out)}`);
    fs.renameSync(path.join(raw, 'tensorflow', 'include'), path.join(dest, 'include'));
    fs.mkdirSync(path.join(dest, 'lib'));
    for (const so of ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2']) {
      if (fs.existsSync(path.join(raw, 'tensorflow', so))) fs.renameSync(path.join(raw, 'tensorflow', so), path.join(dest, 'lib', so));
    }
    rm(raw);
  } else {
    throw new SetupError('neither python3 nor unzip is available to extract the wheel', ['Install python3 (or unzip), or set GROWLAB_LIBTENSORFLOW_DIR.']);
  }
  for (const so of ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2']) {
    if (!fs.existsSync(path.join(dest, 'lib', so))) {
      throw new SetupError(`${path.basename(whl)} has no tensorflow/${so}: not a TensorFlow 2.x Linux wheel?`, FIX_HINTS);
    }
  }
  if (!fs.existsSync(path.join(dest, 'include', 'tensorflow', 'c', 'c_api.h'))) {
    throw new SetupError(`${path.basename(whl)} has no tensorflow/include/tensorflow/c/c_api.h`, FIX_HINTS);
  }
}

/** Copies a libtensorflow folder (include/ + lib/), keeping symlinks; hard links files where it can. */
/** @param {string} from @param {string} dest */
function copyLibtensorflowDir(from, dest) {
  fs.cpSync(path.join(from, 'include'), path.join(dest, 'include'), { recursive: true, verbatimSymlinks: true });
  const lib = path.join(dest, 'lib');
  fs.mkdirSync(lib, { recursive: true });
  for (const e of fs.readdirSync(path.join(from, 'lib'), { withFileTypes: true })) {
    if (!/^libtensorflow/.test(e.name)) continue;
    const src = path.join(from, 'lib', e.name);
    const dst = path.join(lib, e.name);
    if (e.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(src), dst);
    else if (e.isFile()) {
      try { fs.linkSync(src, dst); } catch { fs.copyFileSync(src, dst); }
    }
  }
}

/** Adds the links binding.gyp (-ltensorflow -ltensorflow_framework) and install.js look for. @param {string} lib */
function addLibLinks(lib) {
  const has = (/** @type {string} */ n) => { try { fs.lstatSync(path.join(lib, n)); return true; } catch { return false; } };
  const first = (/** @type {string[]} */ ns) => ns.find((n) => fs.existsSync(path.join(lib, n)));
  const main = first(['libtensorflow_cc.so.2', 'libtensorflow.so.2', 'libtensorflow_cc.so', 'libtensorflow.so']);
  const fw = first(['libtensorflow_framework.so.2', 'libtensorflow_framework.so']);
  if (!main || !fw) {
    throw new SetupError(`the staged lib/ lacks ${!main ? 'libtensorflow(_cc).so.2' : 'libtensorflow_framework.so.2'}`, FIX_HINTS);
  }
  if (!has('libtensorflow.so')) fs.symlinkSync(main, path.join(lib, 'libtensorflow.so'));
  if (!has('libtensorflow_framework.so')) fs.symlinkSync(fw, path.join(lib, 'libtensorflow_framework.so'));
  const pin = `libtensorflow.so.${PKG_LIBTF_VERSION}`;
  if (!has(pin)) fs.symlinkSync(main === 'libtensorflow.so' ? 'libtensorflow.so' : main, path.join(lib, pin));
}

/** @param {{kind: string, from: string, expectVersion?: string}} src */
async function stage(src) {
  const tmp = path.join(PKG_DIR, `deps.growlab-tmp-${process.pid}`);
  rm(tmp);
  fs.mkdirSync(tmp, { recursive: true });
  try {
    log(`staging the TF C API from ${src.kind} ${src.from} ...`);
    if (src.kind === 'wheel') await extractWheel(src.from, tmp);
    else copyLibtensorflowDir(src.from, tmp);
    addLibLinks(path.join(tmp, 'lib'));
    fs.writeFileSync(path.join(tmp, '.growlab-staged.json'), `${JSON.stringify({
      source: src.kind, from: src.from, expectVersion: src.expectVersion ?? null, stagedAt: new Date().toISOString(),
    }, null, 2)}\n`);
    rm(DEPS);
    fs.renameSync(tmp, DEPS);
  } finally {
    rm(tmp);
  }
  // Any "tf-lib" entry makes install.js build the addon from source instead of downloading it.
  fs.writeFileSync(CUSTOM_BINARY, `${JSON.stringify({
    'tf-lib': `file://${src.from}`,
    _comment: 'written by growlab scripts/setup.mjs: deps/ is staged locally, so install.js builds the addon from source',
  }, null, 2)}\n`);
  log(`staged deps/ (${secs()})`);
}

/** Whether deps/ already holds a complete staging that matches the requested source. */
function stagedAlready() {
  const s = readJson(STAGE_STAMP);
  if (!s) return null;
  const ok = fs.existsSync(path.join(DEPS, 'lib', `libtensorflow.so.${PKG_LIBTF_VERSION}`)) &&
    fs.existsSync(path.join(DEPS, 'lib', 'libtensorflow_framework.so')) &&
    fs.existsSync(path.join(DEPS, 'include', 'tensorflow', 'c', 'c_api.h')) &&
    fs.existsSync(CUSTOM_BINARY);
  if (!ok) return null;
  const want = process.env.GROWLAB_TF_WHEEL ?? process.env.GROWLAB_LIBTENSORFLOW_DIR;
  if (want && path.resolve(want) !== s.from) return null;
  return s;
}

async function buildAddon() {
  log('building the addon from source (node-pre-gyp --build-from-source via npm rebuild; ~15-60 s) ...');
  const r = await runPackageInstall({ timeoutS: 1200, label: 'build' });
  const built = addonFiles();
  if (r.code !== 0 || r.timedOut || built.length === 0) {
    const compilerErrors = r.out.split('\n').filter((l) => /\b(fatal )?error:|#error|undefined reference/.test(l)).slice(0, 15);
    console.error(compilerErrors.length ? compilerErrors.map((l) => `    ${l}`).join('\n') : tail(r.out, 40));
    throw new SetupError(`building the ${TF_PKG} addon failed${r.timedOut ? ' (timed out)' : ''}: ${failureReason(r.out)}`, [
      `Full log: ${path.relative(ROOT, BUILD_LOG)}.`,
      `To restage the TF library from scratch: rm -rf ${path.relative(ROOT, DEPS)} and rerun.`,
      'It needs g++, make and the Node headers (/usr/include/node, or set npm_config_nodedir).',
      ...FIX_HINTS,
    ]);
  }
  log(`addon built: ${path.relative(ROOT, built[0])} (${secs()})`);
}

// ---------------------------------------------------------------------------------------------
// main

async function ensureTfNative() {
  if (!fs.existsSync(path.join(PKG_DIR, 'package.json'))) {
    throw new SetupError(`${TF_PKG} is not installed in node_modules`, ['Run `npm ci --ignore-scripts`, then `npm run setup`.']);
  }
  let p = await probe();
  if (p.ok) {
    const stamp = readJson(STAGE_STAMP);
    const old = readJson(MARKER);
    const source = stamp?.source ?? old?.source ?? 'download';
    const addon = addonFiles()[0];
    const sameBuild = old && old.tfVersion === p.tfVersion && old.tfjsVersion === p.tfjsVersion && old.source === source;
    writeMarker(p, source, sameBuild ? undefined : (addon ? fs.statSync(addon).mtime.toISOString() : undefined));
    log(summary(p, source));
    return;
  }
  rm(MARKER);
  log(`native backend not working yet (${p.error ?? `backend ${p.backend}`})`);
  fs.mkdirSync(STATE_DIR, { recursive: true });
  fs.writeFileSync(BUILD_LOG, `growlab setup ${new Date().toISOString()}\n`);

  const stamp = stagedAlready();
  /** @type {string} */
  let source;
  /** @type {string | undefined} */
  let expectVersion;
  if (stamp) {
    log(`deps/ already staged from ${stamp.source} ${stamp.from}; rebuilding the addon only`);
    source = stamp.source;
    expectVersion = stamp.expectVersion ?? undefined;
  } else {
    const explicit = process.env.GROWLAB_TF_WHEEL || process.env.GROWLAB_LIBTENSORFLOW_DIR;
    if (OFFLINE) log('GROWLAB_TF_OFFLINE=1: skipping the package\'s own download');
    else if (explicit) log('GROWLAB_TF_WHEEL / GROWLAB_LIBTENSORFLOW_DIR set: skipping the package\'s own download');
    else {
      const d = await tryDownload();
      if (d) {
        writeMarker(d, 'download', new Date().toISOString());
        log(summary(d, 'download'));
        return;
      }
    }
    if (process.platform !== 'linux' || process.arch !== 'x64') {
      throw new SetupError(`the source build fallback supports linux-x64 only (this is ${process.platform}-${process.arch})`, [
        `Make ${TF_PKG}'s own install work (network access to storage.googleapis.com), or build it manually.`,
      ]);
    }
    log('falling back to building against the TensorFlow C API of a local wheel / libtensorflow');
    const src = await resolveSource();
    await stage(src);
    source = src.kind;
    expectVersion = src.expectVersion;
  }
  await buildAddon();
  p = await probe();
  if (!p.ok) {
    throw new SetupError(`the rebuilt addon does not work: ${p.error ?? `backend ${p.backend}`}`, [
      `Full log: ${path.relative(ROOT, BUILD_LOG)}.`, ...FIX_HINTS,
    ]);
  }
  if (expectVersion && p.tfVersion !== expectVersion) {
    throw new SetupError(`the addon loaded TensorFlow ${p.tfVersion}, expected ${expectVersion}`, [
      `Another libtensorflow may shadow deps/lib (LD_LIBRARY_PATH?). Full log: ${path.relative(ROOT, BUILD_LOG)}.`,
    ]);
  }
  writeMarker(p, source, new Date().toISOString());
  log(summary(p, source));
}

const BROWSERS = ['chromium', 'chromium-browser', 'google-chrome'];

/** Headless Chromium renders and checks the HTML report in the tests; Debian's package is installed when missing. */
function ensureBrowser() {
  if (process.env.GROWLAB_SKIP_BROWSER === '1') { log('browser: skipped (GROWLAB_SKIP_BROWSER=1)'); return; }
  const found = BROWSERS.find((b) => spawnSync(b, ['--version'], { stdio: 'ignore' }).status === 0);
  if (found) { log(`browser: ${found} present (used by the report's browser check)`); return; }
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || !hasCommand('apt-get')) {
    log('browser: WARNING: no chromium found; the report browser test will fail. Install it: sudo apt-get install -y chromium');
    return;
  }
  log('browser: installing Debian chromium for the report check (apt-get)…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const install = update.status === 0
    ? spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], { stdio: 'inherit', env })
    : update;
  if (install.status !== 0) throw new SetupError('apt-get could not install chromium', ['Install it by hand: apt-get install -y chromium, or set GROWLAB_SKIP_BROWSER=1.']);
  log(`browser: chromium installed (${secs()})`);
}

// ---------------------------------------------------------------------------------------------
// 3. Python venv (.growlab/venv) for @growlab/export's tests: they load each export with Keras, onnxruntime,
//    safetensors + torch outside growlab. Never fails setup: without python3 / venv / pip it says why and goes on
//    (the export tests then skip their Python checks locally and fail under CI=true).

const VENV = path.resolve(ROOT, process.env.GROWLAB_VENV || path.join('.growlab', 'venv'));
const VENV_PY = path.join(VENV, 'bin', 'python');
const VENV_LOG = path.join(ROOT, '.growlab', 'venv-install.log');
/** Pinned: the .keras writer follows Keras 3.15's file layout; the rest are the versions the tests were checked with. */
const PY_REQUIREMENTS = ['tensorflow-cpu==2.21.0', 'keras==3.15.1', 'numpy==2.4.6', 'pyarrow==25.0.1', 'safetensors==0.8.0', 'onnx==1.23.1', 'onnxruntime==1.30.0'];
/** The CPU build (+867 MB); GROWLAB_PY_TORCH=0 leaves it out (the safetensors/torch check then skips, or fails under CI). */
const PY_TORCH = process.env.GROWLAB_PY_TORCH_REQUIREMENT || 'torch==2.13.0+cpu';

const VERSIONS_SRC = `import json, sys
from importlib import metadata
out = []
for r in json.loads(sys.argv[1]):
    name, want = r.split("==")
    try:
        have = metadata.version(name)
    except metadata.PackageNotFoundError:
        have = None
    if have != want:
        out.append(r)
print(json.dumps(out))`;

/** The pinned requirements the venv lacks (or has at another version); reads package metadata only (~0.1 s). @param {string[]} reqs */
function venvLacks(reqs) {
  if (!fs.existsSync(VENV_PY)) return reqs;
  const r = spawnSync(VENV_PY, ['-c', VERSIONS_SRC, JSON.stringify(reqs)], { encoding: 'utf8' });
  try { return r.status === 0 ? /** @type {string[]} */ (JSON.parse(r.stdout.trim())) : reqs; } catch { return reqs; }
}

/**
 * pip retries each index 5 times with backoff; where the default index cannot be reached (these machines: a local
 * index only) that cost 5.5 of 7 minutes for a fresh venv. PIP_RETRIES=0 (unless you set PIP_RETRIES) took 95 s.
 * @param {string[]} reqs
 */
async function pipInstall(reqs) {
  log(`python venv: pip install ${reqs.join(' ')} (log: ${path.relative(ROOT, VENV_LOG)}) ...`);
  const env = { ...process.env, PIP_RETRIES: process.env.PIP_RETRIES ?? '0' };
  const r = await run(VENV_PY, ['-m', 'pip', 'install', '--no-input', '--disable-pip-version-check', ...reqs], { env, logFile: VENV_LOG, timeoutS: 1800 });
  if (r.code !== 0 || r.timedOut) {
    log(`python venv: WARNING: pip install failed${r.timedOut ? ' (timed out)' : ''}: ${failureReason(r.out)}`);
    return false;
  }
  return true;
}

async function ensurePythonVenv() {
  const later = 'the export tests skip their Python checks (and fail under CI=true)';
  if (process.env.GROWLAB_SKIP_PYTHON === '1') { log(`python venv: skipped (GROWLAB_SKIP_PYTHON=1); ${later}`); return; }
  const wanted = process.env.GROWLAB_PY_TORCH === '0' ? PY_REQUIREMENTS : [...PY_REQUIREMENTS, PY_TORCH];
  const lacking = venvLacks(wanted);
  const where = VENV.startsWith(ROOT + path.sep) ? path.relative(ROOT, VENV) : VENV;
  if (lacking.length === 0) { log(`python venv: ${where} has ${wanted.map((r) => r.split('==')[0]).join(', ')}`); return; }
  const started = Date.now();
  fs.mkdirSync(path.dirname(VENV_LOG), { recursive: true });
  if (!fs.existsSync(VENV_PY)) {
    const py = process.env.PYTHON || 'python3';
    if (!hasCommand(py)) { log(`python venv: WARNING: no ${py} on PATH (set PYTHON); ${later}`); return; }
    log(`python venv: creating ${where} (${py} -m venv) ...`);
    const r = await run(py, ['-m', 'venv', VENV], { logFile: VENV_LOG });
    if (r.code !== 0) {
      log(`python venv: WARNING: ${py} -m venv failed: ${failureReason(r.out)} (Debian: apt-get install python3-venv); ${later}`);
      return;
    }
  }
  // the core first, torch on its own: a missing torch wheel leaves the rest usable
  const core = lacking.filter((r) => r !== PY_TORCH);
  if (core.length > 0 && !(await pipInstall(PY_REQUIREMENTS))) { log(`python venv: ${later}`); return; }
  if (lacking.includes(PY_TORCH) && !(await pipInstall([PY_TORCH]))) log('python venv: torch missing: the safetensors check in torch skips (and fails under CI=true)');
  const still = venvLacks(wanted);
  const took = `${((Date.now() - started) / 1000).toFixed(0)} s`;
  if (still.length === 0) log(`python venv: ${where} ready (${took})`);
  else log(`python venv: WARNING: still lacks ${still.join(' ')} after ${took}; ${later}`);
}

try {
  await ensureNodeModules();
  await ensureTfNative();
  ensureBrowser();
  await ensurePythonVenv();
} catch (e) {
  console.error(`[setup] ERROR: ${e instanceof Error ? e.message : String(e)}`);
  if (e instanceof SetupError) for (const h of e.hints) console.error(`[setup]   ${h}`);
  else if (e instanceof Error && e.stack) console.error(e.stack);
  process.exitCode = 1;
}
