/** The webview's connection to the extension host: typed posting and persisted view state. */
interface VsCodeApi<TState> {
  postMessage(message: unknown): void;
  getState(): TState | undefined;
  setState(state: TState): void;
}

declare function acquireVsCodeApi<TState>(): VsCodeApi<TState>;

export interface HostConnection<TOut, TState> {
  post(message: TOut): void;
  readonly state: TState | undefined;
  saveState(state: TState): void;
  /** Listens for host messages that pass `guard`; others are ignored. */
  onMessage<TIn>(guard: (m: unknown) => m is TIn, handler: (m: TIn) => void): void;
}

export function connectToHost<TOut, TState>(): HostConnection<TOut, TState> {
  const api = acquireVsCodeApi<TState>();
  return {
    post: (message) => api.postMessage(message),
    state: api.getState(),
    saveState: (state) => api.setState(state),
    onMessage(guard, handler) {
      window.addEventListener('message', (event: MessageEvent<unknown>) => {
        // Anything that does not pass the guard is dropped.
        if (guard(event.data)) handler(event.data);
      });
    },
  };
}

/** Creates an element with attributes and children; text children are inserted as text, never as HTML. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

/** A theme colour from a `--vscode-*` variable, with a fallback for themes that lack it. */
export function themeColor(variable: string, fallback: string): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(variable).trim();
  return value || fallback;
}

/** Parses any CSS colour into RGB components by letting the canvas normalise it. */
export function rgbOf(color: string): [number, number, number] {
  const ctx = document.createElement('canvas').getContext('2d')!;
  ctx.fillStyle = '#000';
  ctx.fillStyle = color;
  const normalised = ctx.fillStyle;
  if (normalised.startsWith('#')) {
    const n = parseInt(normalised.slice(1, 7), 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  const m = /rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)/.exec(normalised);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
}
