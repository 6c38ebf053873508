/**
 * Real-VS-Code test harness: code-server (VS Code 1.100.3 for the web, installed in test/host by
 * scripts/install-test-host.sh) driven by Debian's Chromium through playwright-core.
 *
 * Runs in plain Node (the test runner process), never inside VS Code. CommonJS-compatible; meant to be
 * bundled by esbuild with `playwright-core` external.
 *
 *   const server = await startCodeServer({ workspace: '/abs/ws' });
 *   const browser = await launchBrowser();
 *   const page = await openWorkbench(browser, server, { folder: '/abs/ws', extensionDevelopmentPath: repoRoot });
 *   await runCommand(page, 'BERT Lens: Open Attention View');
 *   const frame = await webviewFrame(page, 0);
 *   await frame.locator('text=Layer 0').waitFor();
 *   ...
 *   await browser.close(); await server.stop();
 *
 *   const r = await runExtensionTests(server, { folder, extensionDevelopmentPath, extensionTestsPath });
 *   // r.passed / r.failed / r.failures / r.log
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as util from 'node:util';
import { chromium, type Browser, type BrowserContext, type FrameLocator, type Page } from 'playwright-core';

// ------------------------------------------------------------------------------------------------ paths

/** Walks up from `start` until `rel` exists; returns the directory holding it. */
function findUp(start: string, rel: string): string | undefined {
  let dir = path.resolve(start);
  for (;;) {
    if (fs.existsSync(path.join(dir, rel))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * The repository root: $BERTLENS_REPO_ROOT, else the nearest ancestor of the working directory (then of this
 * file, which after bundling is the bundle's folder) that holds test/host/package.json.
 */
export function repoRoot(): string {
  const env = process.env.BERTLENS_REPO_ROOT;
  if (env) return path.resolve(env);
  const found = findUp(process.cwd(), 'test/host/package.json') ??
    (typeof __dirname === 'string' ? findUp(__dirname, 'test/host/package.json') : undefined);
  if (!found) throw new Error('cannot find the repository root (no test/host/package.json above cwd); set BERTLENS_REPO_ROOT');
  return found;
}

/** code-server's Node entry point: $BERTLENS_CODE_SERVER, else test/host/node_modules/code-server/out/node/entry.js. */
export function codeServerEntry(): string {
  const env = process.env.BERTLENS_CODE_SERVER;
  const entry = env ? path.resolve(env) : path.join(repoRoot(), 'test/host/node_modules/code-server/out/node/entry.js');
  if (!fs.existsSync(entry)) {
    throw new Error(`code-server is not installed (${entry} missing): run scripts/install-test-host.sh`);
  }
  return entry;
}

/** Where screenshots and saved logs go: $BERTLENS_TEST_OUTPUT, else <repo>/.test-output (git-ignored). */
export function testOutputDir(...sub: string[]): string {
  const base = process.env.BERTLENS_TEST_OUTPUT ? path.resolve(process.env.BERTLENS_TEST_OUTPUT) : path.join(repoRoot(), '.test-output');
  const dir = path.join(base, ...sub);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

// ------------------------------------------------------------------------------------------------ utils

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `fn` until it returns a truthy value (returned) or `timeoutMs` passes (throws with `what` and the last
 * error). The workbench updates tabs, views and webviews asynchronously: poll instead of asserting once.
 */
export async function poll<T>(
  fn: () => T | Promise<T>,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) {
      const why = lastErr instanceof Error ? `: ${lastErr.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.what ?? 'condition'}${why}`);
    }
    await sleep(opts.intervalMs ?? 100);
  }
}

function httpGetStatus(url: string, timeoutMs = 2000): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function rmrf(p: string): void {
  try {
    fs.rmSync(p, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 });
  } catch {
    /* best effort */
  }
}

/** Environment for code-server: ours, minus variables that would redirect or reconfigure it. */
function serverEnv(xdgRoot: string, extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // PORT overrides --bind-addr's port; PASSWORD/HASHED_PASSWORD/CODE_SERVER_CONFIG reconfigure auth/config;
  // VSCODE_IPC_HOOK_CLI makes the CLI talk to an enclosing VS Code instead; GITHUB_TOKEN becomes --github-auth.
  for (const k of ['PORT', 'PASSWORD', 'HASHED_PASSWORD', 'CODE_SERVER_CONFIG', 'VSCODE_IPC_HOOK_CLI', 'VSCODE_PROXY_URI', 'GITHUB_TOKEN', 'ELECTRON_RUN_AS_NODE']) {
    delete env[k];
  }
  env.XDG_CONFIG_HOME = path.join(xdgRoot, 'config');
  env.XDG_DATA_HOME = path.join(xdgRoot, 'data');
  env.XDG_CACHE_HOME = path.join(xdgRoot, 'cache');
  env.XDG_STATE_HOME = path.join(xdgRoot, 'state');
  env.ORT_DISABLE_TELEMETRY = '1'; // the extension host inherits this; onnxruntime phones home otherwise
  for (const d of ['config', 'data', 'cache', 'state']) fs.mkdirSync(path.join(xdgRoot, d), { recursive: true });
  return { ...env, ...extra };
}

// ------------------------------------------------------------------------------------------ code-server

/** Settings written to User/settings.json before start (opts.settings are merged over them). */
export const DEFAULT_TEST_SETTINGS: Readonly<Record<string, unknown>> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'security.workspace.trust.enabled': false,
  'git.enabled': false,
  'git.autoRepositoryDetection': false,
  'chat.commandCenter.enabled': false,
};

export interface StartCodeServerOptions {
  /** Folder passed to code-server as its default folder (openWorkbench still names the folder it opens). */
  workspace: string;
  /** User settings merged over DEFAULT_TEST_SETTINGS into <userDataDir>/User/settings.json. */
  settings?: Record<string, unknown>;
  /** Extensions directory to use (e.g. one prepared with installExtension); default: a fresh temp dir. */
  extensionsDir?: string;
  /** Extra environment for code-server and its extension host. */
  env?: NodeJS.ProcessEnv;
  /** Extra code-server CLI arguments. */
  extraArgs?: string[];
  /** How long to wait for the server to answer /healthz (default 60 s). */
  timeoutMs?: number;
  /** Echo code-server's stdout/stderr to ours (also: BERTLENS_CODE_SERVER_VERBOSE=1). */
  verbose?: boolean;
  /**
   * Keep workspace trust on (default off: `--disable-workspace-trust`). The folder then opens in restricted mode
   * without the startup prompt, as a folder the user has not trusted yet.
   */
  workspaceTrust?: boolean;
}

export interface CodeServer {
  port: number;
  /** http://127.0.0.1:PORT (no trailing slash). Use exactly this host: the workbench's remote authority is location.host. */
  baseUrl: string;
  userDataDir: string;
  extensionsDir: string;
  /** VS Code's logs: <userDataDir>/logs/<timestamp>/ (remoteagent.log, exthost1/remoteexthost.log, output channels...). */
  logsDir: string;
  /** File that receives code-server's own stdout+stderr. */
  serverLogPath: string;
  /** The temp directory holding everything this instance wrote (removed by stop()). */
  tempDir: string;
  pid: number;
  /** code-server's stdout+stderr so far. */
  serverLog(): string;
  /** `code-server --install-extension <vsix> --force` with this instance's dirs. */
  installExtension(vsixPath: string): Promise<void>;
  /** Kills the whole process group (SIGTERM, then SIGKILL after 5 s) and removes the temp dirs. Idempotent. */
  stop(opts?: { saveLogsTo?: string }): Promise<void>;
}

interface Dirs {
  userDataDir: string;
  extensionsDir: string;
  xdgRoot: string;
}

function writeUserConfig(userDataDir: string, settings: Record<string, unknown> | undefined): void {
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.writeFileSync(
    path.join(userDataDir, 'User', 'settings.json'),
    JSON.stringify({ ...DEFAULT_TEST_SETTINGS, ...settings }, null, 2),
  );
  // Written by us so code-server never generates one with a random password (the CLI flags win anyway).
  fs.writeFileSync(path.join(userDataDir, 'config.yaml'), 'bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n');
}

function baseArgs(d: Dirs): string[] {
  return [
    '--auth', 'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--user-data-dir', d.userDataDir,
    '--extensions-dir', d.extensionsDir,
    '--config', path.join(d.userDataDir, 'config.yaml'),
  ];
}

/** Runs a one-shot code-server CLI command (e.g. --install-extension) with the given dirs. */
function runCli(d: Dirs, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [codeServerEntry(), ...baseArgs(d), ...args], {
      env: serverEnv(d.xdgRoot, env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`code-server ${args.join(' ')} exited with ${code}:\n${out}`));
    });
  });
}

/**
 * Installs a .vsix into an extensions dir with `code-server --install-extension` (≈1.6 s). Use it before
 * startCodeServer({ extensionsDir }) to test the packaged artifact, or call server.installExtension() on a
 * running instance before opening the workbench (the extension host scans extensions when a window connects).
 */
export async function installExtension(vsixPath: string, target: { extensionsDir: string; userDataDir?: string }): Promise<string> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bertlens-cs-cli-'));
  try {
    const userDataDir = target.userDataDir ?? path.join(tmp, 'ud');
    fs.mkdirSync(userDataDir, { recursive: true });
    fs.mkdirSync(target.extensionsDir, { recursive: true });
    if (!fs.existsSync(path.join(userDataDir, 'config.yaml'))) writeUserConfig(userDataDir, undefined);
    return await runCli({ userDataDir, extensionsDir: target.extensionsDir, xdgRoot: path.join(tmp, 'xdg') }, [
      '--install-extension', path.resolve(vsixPath), '--force',
    ]);
  } finally {
    rmrf(tmp);
  }
}

const liveGroups = new Map<number, string>(); // pgid -> temp dir
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort if the test process exits without stop() (crash, process.exit, mocha --exit, Ctrl-C handled
  // by mocha): never leave a code-server or its temp dir behind. SIGKILL: no time for a graceful exit here.
  process.on('exit', () => {
    for (const [pgid, dir] of liveGroups) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        /* gone */
      }
      rmrf(dir);
    }
  });
}

function alive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts code-server on 127.0.0.1 with an OS-chosen free port, in its own process group, with its user data,
 * extensions and XDG dirs in a fresh temp dir, and waits until it answers /healthz.
 */
export async function startCodeServer(opts: StartCodeServerOptions): Promise<CodeServer> {
  const entry = codeServerEntry();
  const major = Number(process.versions.node.split('.')[0]);
  if (major !== 20) console.warn(`[codeServer] code-server 4.100 is built for Node 20; running under ${process.version}`);
  const started = Date.now();
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const verbose = opts.verbose ?? process.env.BERTLENS_CODE_SERVER_VERBOSE === '1';

  // Keep this path short: code-server puts a unix socket (code-server-ipc.sock) in the user-data-dir.
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bertlens-cs-'));
  const userDataDir = path.join(tempDir, 'ud');
  const extensionsDir = opts.extensionsDir ? path.resolve(opts.extensionsDir) : path.join(tempDir, 'ext');
  const xdgRoot = path.join(tempDir, 'xdg');
  fs.mkdirSync(extensionsDir, { recursive: true });
  const trustSettings = { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never' };
  writeUserConfig(userDataDir, opts.workspaceTrust ? { ...trustSettings, ...opts.settings } : opts.settings);
  const dirs: Dirs = { userDataDir, extensionsDir, xdgRoot };
  const serverLogPath = path.join(tempDir, 'code-server.log');
  const logStream = fs.createWriteStream(serverLogPath);

  const base = baseArgs(dirs).filter((a) => !(opts.workspaceTrust && a === '--disable-workspace-trust'));
  const args = [entry, ...base, '--bind-addr', '127.0.0.1:0', '--ignore-last-opened', ...(opts.extraArgs ?? []), path.resolve(opts.workspace)];
  const child: ChildProcess = spawn(process.execPath, args, {
    env: serverEnv(xdgRoot, opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // setsid(): own process group, so stop() can kill the extension host, pty host, watchers too
    cwd: tempDir,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('failed to spawn code-server');
  installExitHook();
  liveGroups.set(pid, tempDir);

  let log = '';
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let onPort: ((port: number) => void) | undefined;
  const onData = (b: Buffer): void => {
    const s = b.toString();
    log += s;
    logStream.write(s);
    if (verbose) process.stderr.write(`[code-server] ${s}`);
    const m = /HTTP server listening on https?:\/\/127\.0\.0\.1:(\d+)/.exec(log);
    if (m && onPort) {
      onPort(Number(m[1]));
      onPort = undefined;
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  child.on('exit', (code, signal) => {
    // The group may outlive its leader (extension host, pty host): it stays registered until stop().
    exited = { code, signal };
  });

  let stopped = false;
  const stop = async (stopOpts: { saveLogsTo?: string } = {}): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (alive(pid)) {
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const deadline = Date.now() + 5000;
      while (alive(pid) && Date.now() < deadline) await sleep(50);
      if (alive(pid)) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          /* gone */
        }
        while (alive(pid) && Date.now() < deadline + 2000) await sleep(50);
      }
    }
    liveGroups.delete(pid);
    await new Promise<void>((r) => logStream.end(r));
    if (stopOpts.saveLogsTo) {
      try {
        fs.mkdirSync(stopOpts.saveLogsTo, { recursive: true });
        fs.copyFileSync(serverLogPath, path.join(stopOpts.saveLogsTo, 'code-server.log'));
        const logs = path.join(userDataDir, 'logs');
        if (fs.existsSync(logs)) fs.cpSync(logs, path.join(stopOpts.saveLogsTo, 'logs'), { recursive: true });
      } catch (e) {
        console.warn(`[codeServer] could not save logs: ${String(e)}`);
      }
    }
    rmrf(tempDir);
  };

  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`code-server did not report its port within ${timeoutMs} ms`)), timeoutMs);
      onPort = (p) => {
        clearTimeout(timer);
        resolve(p);
      };
      const early = /HTTP server listening on https?:\/\/127\.0\.0\.1:(\d+)/.exec(log);
      if (early) onPort(Number(early[1]));
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`code-server exited early (code ${code}, signal ${signal})`));
      });
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    const baseUrl = `http://127.0.0.1:${port}`;
    await poll(
      async () => {
        if (exited) throw new Error(`code-server exited (code ${exited.code}, signal ${exited.signal})`);
        return (await httpGetStatus(`${baseUrl}/healthz`)) === 200;
      },
      { timeoutMs: Math.max(1000, timeoutMs - (Date.now() - started)), intervalMs: 50, what: 'code-server /healthz' },
    );
    return {
      port,
      baseUrl,
      userDataDir,
      extensionsDir,
      logsDir: path.join(userDataDir, 'logs'),
      serverLogPath,
      tempDir,
      pid,
      serverLog: () => log,
      installExtension: async (vsixPath: string) => {
        await runCli(dirs, ['--install-extension', path.resolve(vsixPath), '--force'], opts.env);
      },
      stop,
    };
  } catch (e) {
    const tail = log.split('\n').slice(-40).join('\n');
    await stop();
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n--- code-server output ---\n${tail}`, { cause: e });
  }
}

// ----------------------------------------------------------------------------------------------- browser

/** Chromium flags that work headless, as root, offline, in a container. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

function chromiumPath(): string {
  const env = process.env.BERTLENS_CHROMIUM;
  if (env) return env;
  for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) {
    if (fs.existsSync(p)) return p;
  }
  throw new Error('no Chromium found: apt-get install chromium (or set BERTLENS_CHROMIUM)');
}

/**
 * Launches Debian's Chromium through playwright-core (no browser download). Playwright gives every launch a
 * fresh temporary profile (--user-data-dir) and deletes it on close. Headless unless headless:false /
 * BERTLENS_HEADFUL=1.
 */
export async function launchBrowser(opts: { headless?: boolean; executablePath?: string; args?: string[]; slowMo?: number } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: opts.executablePath ?? chromiumPath(),
    headless: opts.headless ?? process.env.BERTLENS_HEADFUL !== '1',
    args: [...CHROMIUM_ARGS, ...(opts.args ?? [])],
    ...(opts.slowMo ? { slowMo: opts.slowMo } : {}),
  });
}

// --------------------------------------------------------------------------------------------- workbench

export interface WorkbenchOptions {
  /** Absolute path of the folder to open (on the code-server machine, i.e. this one). */
  folder: string;
  /** Absolute path(s) of extension(s) to load from source (folder holding package.json). */
  extensionDevelopmentPath?: string | string[];
  /** Absolute path of a CommonJS module exporting run(): Promise<void>, run inside the extension host. */
  extensionTestsPath?: string;
  /** More [key, value] payload entries (e.g. ['enableProposedApi', '']). */
  extraPayload?: Array<[string, string]>;
}

export interface OpenWorkbenchOptions extends WorkbenchOptions {
  /** Context to open the page in (default: a new one with a 1400x900 viewport, closed with the page). */
  context?: BrowserContext;
  /** Called on the new page before navigation (exposeFunction, route, ...). */
  beforeNavigate?: (page: Page) => Promise<void>;
  /** How long to wait for the workbench (default 60 s). */
  timeoutMs?: number;
}

/** file path → vscode-remote://127.0.0.1:PORT/<percent-encoded path> (the authority must equal location.host). */
export function remoteUri(server: Pick<CodeServer, 'port'>, absPath: string): string {
  const p = path.resolve(absPath).split(path.sep).map(encodeURIComponent).join('/');
  return `vscode-remote://127.0.0.1:${server.port}${p.startsWith('/') ? p : '/' + p}`;
}

/**
 * The workbench URL: ?folder=<abs path>&payload=<JSON [[key, value], ...] URI-encoded>. Payload values are
 * URI strings parsed by VS Code's URI.parse (so paths inside are percent-encoded), and the whole JSON is
 * encodeURIComponent-ed into the query.
 */
export function workbenchUrl(server: Pick<CodeServer, 'port' | 'baseUrl'>, opts: WorkbenchOptions): string {
  const payload: Array<[string, string]> = [];
  const devPaths = opts.extensionDevelopmentPath === undefined ? [] : ([] as string[]).concat(opts.extensionDevelopmentPath);
  for (const p of devPaths) payload.push(['extensionDevelopmentPath', remoteUri(server, p)]);
  if (opts.extensionTestsPath) payload.push(['extensionTestsPath', remoteUri(server, opts.extensionTestsPath)]);
  payload.push(...(opts.extraPayload ?? []));
  let url = `${server.baseUrl}/?folder=${encodeURIComponent(path.resolve(opts.folder))}`;
  if (payload.length) url += `&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  return url;
}

const pageLogs = new WeakMap<Page, string[]>();

/** The browser console messages and page errors of a page opened by openWorkbench (for failure reports). */
export function pageConsole(page: Page): string[] {
  return pageLogs.get(page) ?? [];
}

/** Waits until the workbench shows: .monaco-workbench, its status bar and activity bar are visible. */
export async function waitForWorkbench(page: Page, timeoutMs = 60_000): Promise<void> {
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: timeoutMs });
  await page.locator('.monaco-workbench .part.statusbar').waitFor({ state: 'visible', timeout: timeoutMs });
  await page.locator('.monaco-workbench .part.activitybar').waitFor({ state: 'visible', timeout: timeoutMs });
}

/** Opens the workbench for a folder (optionally with extensions from source / a test runner) and waits for it. */
export async function openWorkbench(browser: Browser, server: CodeServer, opts: OpenWorkbenchOptions): Promise<Page> {
  const ownContext = !opts.context;
  const context = opts.context ?? (await browser.newContext({ viewport: { width: 1400, height: 900 } }));
  const page = await context.newPage();
  if (ownContext) page.once('close', () => void context.close().catch(() => undefined));
  const logs: string[] = [];
  pageLogs.set(page, logs);
  page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`[pageerror] ${e.stack ?? e.message}`));
  if (opts.beforeNavigate) await opts.beforeNavigate(page);
  await page.goto(workbenchUrl(server, opts), { waitUntil: 'domcontentloaded', timeout: opts.timeoutMs ?? 60_000 });
  await waitForWorkbench(page, opts.timeoutMs ?? 60_000);
  return page;
}

// ------------------------------------------------------------------------------------------- interaction

/** Browser-side expression: label and focus of each visible command-palette row, in DOM order. */
const PALETTE_ROWS_JS = `Array.from(document.querySelectorAll('.quick-input-widget .monaco-list-row')).map((r) => {
  const l = r.querySelector('.label-name');
  return { label: l ? l.textContent : '', focused: r.classList.contains('focused') };
})`;

/**
 * Runs a command through the command palette: F1, type `title`, pick the entry whose label is exactly `title`
 * (never a prefix match such as "<title> Twice"), accept it. The palette snapshots the command list when it
 * opens, so when the entry is missing (extension host still starting) it closes and reopens the palette until
 * `timeoutMs` (default 20 s). That happens when it runs right after openWorkbench: it costs about 1 s.
 */
export async function runCommand(page: Page, title: string, opts: { timeoutMs?: number } = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  const widget = page.locator('.quick-input-widget');
  const input = widget.locator('.quick-input-box input');
  const rows = widget.locator('.monaco-list-row');
  const norm = (s: string | null): string => (s ?? '').replace(/\s+/g, ' ').trim();
  for (let attempt = 0; ; attempt++) {
    if (await widget.isVisible()) {
      await page.keyboard.press('Escape');
      await widget.waitFor({ state: 'hidden', timeout: 5000 }).catch(() => undefined);
    }
    // Move focus out of any webview iframe (which would receive the key) back to the workbench document.
    await page.evaluate('document.activeElement && document.activeElement.blur && document.activeElement.blur()');
    await page.keyboard.press('F1');
    await input.waitFor({ state: 'visible', timeout: Math.max(1000, deadline - Date.now()) });
    await input.fill(`>${title}`);
    // Read the filtered rows in one atomic DOM query (the list re-renders while filtering).
    const found = await poll(
      async () => {
        const shown = (await page.evaluate(PALETTE_ROWS_JS)) as Array<{ label: string; focused: boolean }>;
        const i = shown.findIndex((r) => norm(r.label) === title);
        return i === -1 ? undefined : { i, focused: shown[i]!.focused };
      },
      { timeoutMs: Math.min(1000, Math.max(200, deadline - Date.now())), intervalMs: 50, what: `command palette entry "${title}"` },
    ).catch(() => undefined);
    if (found) {
      if (found.focused) await input.press('Enter');
      else await rows.nth(found.i).click();
      await widget.waitFor({ state: 'hidden', timeout: 5000 }).catch(() => undefined);
      return;
    }
    if (Date.now() > deadline) {
      const labels = (await rows.locator('.label-name').allTextContents().catch(() => [] as string[])).map(norm);
      await page.keyboard.press('Escape').catch(() => undefined);
      throw new Error(`command "${title}" not found in the command palette after ${attempt + 1} tries; shown: ${labels.slice(0, 10).join(' | ')}`);
    }
    await sleep(250);
  }
}

export interface WebviewInfo {
  /** Position among the page's iframe.webview elements (DOM order). */
  index: number;
  /** The outer iframe's src (holds extensionId=..., purpose=webviewView for sidebar views, ...). */
  src: string;
  visible: boolean;
}

/**
 * The content frame of a webview: iframe.webview (VS Code's host frame) → iframe#active-frame (the extension's
 * HTML). With a number, the nth iframe.webview in DOM order; with a predicate, polls the webviews until one
 * matches. The predicate gets the inner frame and info about the outer iframe.
 */
export async function webviewFrame(
  page: Page,
  which: number | ((frame: FrameLocator, info: WebviewInfo) => boolean | Promise<boolean>),
  opts: { timeoutMs?: number } = {},
): Promise<FrameLocator> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const outer = page.locator('iframe.webview');
  const inner = (i: number): FrameLocator => outer.nth(i).contentFrame().locator('iframe#active-frame').contentFrame();
  if (typeof which === 'number') {
    await outer.nth(which).waitFor({ state: 'attached', timeout: timeoutMs });
    await inner(which).locator('body').waitFor({ state: 'attached', timeout: timeoutMs });
    return inner(which);
  }
  return poll(
    async () => {
      const n = await outer.count();
      for (let i = 0; i < n; i++) {
        const el = outer.nth(i);
        const info: WebviewInfo = { index: i, src: (await el.getAttribute('src')) ?? '', visible: await el.isVisible() };
        const frame = inner(i);
        if ((await frame.locator('body').count()) === 0) continue;
        if (await which(frame, info)) return frame;
      }
      return undefined;
    },
    { timeoutMs, what: 'a matching webview' },
  );
}

/** Saves a full-page PNG under .test-output/screenshots/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const file = path.join(testOutputDir('screenshots'), `${name.replace(/[^\w.-]+/g, '_')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// ------------------------------------------------------------------------------------ extension tests

export interface ExtensionTestResult {
  passed: number;
  failed: number;
  /** Pending (skipped) tests, when the runner reported them. */
  pending: number;
  /** Full titles of the skipped tests (BERTLENS_RESULT line); an unnamed skip is reported as "(unnamed)". */
  skipped: string[];
  /** Titles and messages of failed tests, when the runner reported them (BERTLENS_RESULT line). */
  failures: Array<{ title: string; error: string }>;
  /** Exit code the extension host reported through codeAutomationExit (0 = run() resolved). */
  exitCode: number;
  /** Everything the window logged through codeAutomationLog: extension-host console output plus workbench info logs. */
  log: string[];
  /** How the counts were obtained. */
  source: 'BERTLENS_RESULT' | 'mocha-summary' | 'exit-code';
  durationMs: number;
}

/** Marker of the one-line JSON result printed by test/harness/extensionTestIndex.ts. */
export const RESULT_MARKER = 'BERTLENS_RESULT ';

/**
 * codeAutomationLog receives console-style argument lists (mocha logs `('%s%s', indent, title)`): format them
 * like console.log does. Drops the `{ __$stack }` argument VS Code appends when it forwards stacks.
 */
function formatLogArgs(args: unknown): string {
  if (!Array.isArray(args)) return String(args);
  const list = args.filter((a) => !(a && typeof a === 'object' && '__$stack' in (a as object)));
  return util.format(...list);
}

/**
 * Runs a test module inside the real (remote, Node) extension host: opens the workbench with the
 * extensionDevelopmentPath + extensionTestsPath payload, collects what the window logs through
 * window.codeAutomationLog(type, args) and resolves when VS Code calls window.codeAutomationExit(code, logs)
 * after the module's run() settles. Counts come from the BERTLENS_RESULT line (see extensionTestIndex.ts),
 * else from a mocha "N passing / M failing" summary, else from the exit code.
 */
export async function runExtensionTests(
  server: CodeServer,
  opts: WorkbenchOptions & {
    extensionDevelopmentPath: string | string[];
    extensionTestsPath: string;
    timeoutMs?: number;
    /** Browser to use (default: launches one and closes it after). */
    browser?: Browser;
    /** Echo each log line to stdout as it arrives (default: BERTLENS_TEST_ECHO=1). */
    echo?: boolean;
    /** Write the VS Code log files handed to codeAutomationExit, and the page console, into this folder. */
    saveLogsTo?: string;
  },
): Promise<ExtensionTestResult> {
  const started = Date.now();
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const echo = opts.echo ?? process.env.BERTLENS_TEST_ECHO === '1';
  const browser = opts.browser ?? (await launchBrowser());
  const log: string[] = [];
  let resolveExit!: (v: { code: number; logs: Array<{ relativePath: string; contents: string }> }) => void;
  const exited = new Promise<{ code: number; logs: Array<{ relativePath: string; contents: string }> }>((r) => (resolveExit = r));
  let page: Page | undefined;
  try {
    page = await openWorkbench(browser, server, {
      ...opts,
      timeoutMs,
      beforeNavigate: async (p) => {
        await p.exposeFunction('codeAutomationLog', (type: string, args: unknown) => {
          const line = formatLogArgs(args);
          log.push(type === 'info' ? line : `[${type}] ${line}`);
          if (echo) console.log(`[exthost:${type}] ${line}`);
        });
        await p.exposeFunction('codeAutomationExit', (code: number, logs: unknown) => {
          resolveExit({ code: Number(code), logs: Array.isArray(logs) ? (logs as Array<{ relativePath: string; contents: string }>) : [] });
        });
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`extension tests did not finish within ${timeoutMs} ms`)), Math.max(1000, timeoutMs - (Date.now() - started)));
    });
    let exit: { code: number; logs: Array<{ relativePath: string; contents: string }> };
    try {
      exit = await Promise.race([exited, timedOut]);
    } catch (e) {
      const tail = log.slice(-60).join('\n');
      throw new Error(`${(e as Error).message}\n--- last log lines ---\n${tail}\n--- page console ---\n${pageConsole(page).slice(-30).join('\n')}`, { cause: e });
    } finally {
      clearTimeout(timer);
    }
    // Console messages travel over the same RPC channel as the exit, but give late binding calls a moment.
    await poll(() => log.some((l) => l.startsWith(RESULT_MARKER)), { timeoutMs: 1000, intervalMs: 50 }).catch(() => undefined);

    if (opts.saveLogsTo) {
      fs.mkdirSync(opts.saveLogsTo, { recursive: true });
      fs.writeFileSync(path.join(opts.saveLogsTo, 'automation.log'), log.join('\n') + '\n');
      fs.writeFileSync(path.join(opts.saveLogsTo, 'page-console.log'), pageConsole(page).join('\n') + '\n');
      for (const f of exit.logs) {
        const dest = path.join(opts.saveLogsTo, 'vscode-logs', f.relativePath);
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        fs.writeFileSync(dest, f.contents);
      }
    }
    return { ...countResults(log, exit.code), exitCode: exit.code, log, durationMs: Date.now() - started };
  } finally {
    await page?.close().catch(() => undefined);
    if (!opts.browser) await browser.close().catch(() => undefined);
  }
}

function countResults(log: string[], exitCode: number): Pick<ExtensionTestResult, 'passed' | 'failed' | 'pending' | 'skipped' | 'failures' | 'source'> {
  for (let i = log.length - 1; i >= 0; i--) {
    const line = log[i]!;
    const at = line.indexOf(RESULT_MARKER);
    if (at === -1) continue;
    try {
      const r = JSON.parse(line.slice(at + RESULT_MARKER.length)) as { passed?: number; failed?: number; pending?: number; skipped?: string[]; failures?: Array<{ title: string; error: string }> };
      const pending = r.pending ?? 0;
      const skipped = r.skipped ?? [];
      return { passed: r.passed ?? 0, failed: r.failed ?? 0, pending, skipped: [...skipped, ...Array<string>(Math.max(0, pending - skipped.length)).fill('(unnamed)')], failures: r.failures ?? [], source: 'BERTLENS_RESULT' };
    } catch {
      /* fall through to the next candidate */
    }
  }
  const text = log.join('\n');
  const passing = /(\d+) passing/.exec(text);
  if (passing) {
    const failing = /(\d+) failing/.exec(text);
    const pending = /(\d+) pending/.exec(text);
    const count = pending ? Number(pending[1]) : 0;
    return { passed: Number(passing[1]), failed: failing ? Number(failing[1]) : 0, pending: count, skipped: Array<string>(count).fill('(unnamed)'), failures: [], source: 'mocha-summary' };
  }
  // No counts: the module failed to load, run() threw before reporting, or it is not ours. Surface the errors.
  const errors = log.filter((l) => l.startsWith('[error]') && !/open-vsx\.org|marketplace/.test(l)).slice(-3);
  const error = [`exit code ${exitCode}, no ${RESULT_MARKER.trim()} line`, ...errors].join('\n');
  return { passed: 0, failed: exitCode === 0 ? 0 : 1, pending: 0, skipped: [], failures: exitCode === 0 ? [] : [{ title: '(test runner)', error }], source: 'exit-code' };
}

/**
 * Switches the workbench to a colour theme through "Preferences: Color Theme" (a `workbench.colorTheme` user
 * setting written before start is not applied by code-server here, see issue 13 item 13). Call it once the extension
 * host is up: right after the page opens the picker may list no themes yet.
 */
export async function chooseColorTheme(page: Page, theme: string): Promise<void> {
  await runCommand(page, 'Preferences: Color Theme');
  const widget = page.locator('.quick-input-widget');
  await widget.locator('.quick-input-box input').fill(theme);
  // A row's label reads "<group>, <theme>": match its end, so "Default High Contrast" does not pick "… Contrast Light".
  await widget.locator(`.monaco-list-row[aria-label$=", ${theme}"]`).first().click();
  await widget.waitFor({ state: 'hidden' });
}

/** The Attention view's content frame, once its toolbar is there (polls: the sidebar view is created lazily). */
export async function attentionView(page: Page, timeoutMs = 60_000): Promise<FrameLocator> {
  return poll(
    async () => {
      const frames = page.locator('iframe.webview');
      for (let i = 0; i < (await frames.count()); i++) {
        const inner = frames.nth(i).contentFrame().locator('iframe#active-frame').contentFrame();
        if ((await inner.locator('.toolbar .tabs').count()) > 0) return inner;
      }
      return undefined;
    },
    { timeoutMs, what: 'the Attention view' },
  );
}
