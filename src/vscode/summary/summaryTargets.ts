import * as path from 'node:path';
import * as vscode from 'vscode';
import { commentSyntax } from '../../core/summarize/comments';
import { markdownSectionAt, paragraphAt, paragraphsIn, type LineRange, type LineSource } from './paragraphs';

/** Something a hover or a command can summarise. */
export interface SummaryTarget {
  readonly kind: 'symbol' | 'section' | 'paragraph';
  /** What is summarised (a symbol with the comment block right above it). */
  readonly range: vscode.Range;
  /** Where hovering shows the summary: a symbol's name, a section's heading line, a paragraph. */
  readonly trigger: vscode.Range;
  /** e.g. `upload.ts › uploadWithRetry`. */
  readonly label: string;
  readonly text: string;
  /**
   * A symbol with a doc comment (`/** … *\/`, `///`) that the language's own hover already shows: its text without
   * that comment, which is what a summary hover summarises (repeating the doc comment would say nothing new).
   */
  readonly undocumentedText?: string;
}

const SUMMARISED_KINDS = new Set([
  vscode.SymbolKind.Function,
  vscode.SymbolKind.Method,
  vscode.SymbolKind.Constructor,
  vscode.SymbolKind.Class,
  vscode.SymbolKind.Interface,
  vscode.SymbolKind.Struct,
]);

const PROSE = new Set(['markdown', 'plaintext']);

/** Documents longer than this (characters) get no summary hovers and no background warming. */
export const MAX_HOVER_DOCUMENT_CHARS = 4_000_000;
/** Longest symbol, section or paragraph (characters) that gets a summary hover. */
export const MAX_HOVER_TARGET_CHARS = 64_000;
/** A paragraph shorter than `minLines` still gets a hover when it is this long (characters). */
const LONG_PARAGRAPH_CHARS = 400;

interface FlatSymbol {
  readonly name: string;
  readonly range: vscode.Range;
  readonly selectionRange: vscode.Range;
  readonly depth: number;
}

/**
 * Finds summary targets in documents: functions, classes and methods from the language's document symbols
 * (`vscode.executeDocumentSymbolProvider`, asked once per document version), Markdown sections and paragraphs
 * of Markdown and plain text.
 */
export class SummaryTargets implements vscode.Disposable {
  private readonly symbols = new Map<string, { version: number; symbols: Promise<FlatSymbol[]> }>();
  private readonly subscription = vscode.workspace.onDidCloseTextDocument((d) => this.symbols.delete(d.uri.toString()));

  dispose(): void {
    this.subscription.dispose();
  }

  /** True for languages summarised as prose (paragraphs and sections) rather than by symbols. */
  static isProse(languageId: string): boolean {
    return PROSE.has(languageId);
  }

  /** The target whose trigger holds `position`, if any (symbols: the innermost one whose name is there). */
  async at(document: vscode.TextDocument, position: vscode.Position, minLines: number): Promise<SummaryTarget | undefined> {
    if (!hoverable(document)) return undefined;
    if (SummaryTargets.isProse(document.languageId)) return this.proseAt(document, position.line, minLines, MAX_HOVER_TARGET_CHARS);
    const symbols = await this.symbolsOf(document);
    const hit = symbols
      .filter((s) => s.selectionRange.contains(position) && bigEnough(s.range, minLines) && charsOf(document, s.range) <= MAX_HOVER_TARGET_CHARS)
      .sort((a, b) => b.depth - a.depth)[0];
    return hit && this.symbolTarget(document, hit);
  }

  /** The innermost summarisable symbol that contains `position` (anywhere in its body), if any. */
  async enclosing(document: vscode.TextDocument, position: vscode.Position): Promise<SummaryTarget | undefined> {
    if (SummaryTargets.isProse(document.languageId)) return this.proseAt(document, position.line, 1, Infinity);
    const symbols = await this.symbolsOf(document);
    const hit = symbols.filter((s) => s.range.contains(position)).sort((a, b) => b.depth - a.depth)[0];
    return hit && this.symbolTarget(document, hit);
  }

  /** Targets whose trigger is inside `ranges` (the visible part of an editor), at most `limit`. */
  async within(document: vscode.TextDocument, ranges: readonly vscode.Range[], minLines: number, limit = 30): Promise<SummaryTarget[]> {
    const out: SummaryTarget[] = [];
    if (!hoverable(document)) return out;
    if (SummaryTargets.isProse(document.languageId)) {
      const lines = linesOfDocument(document);
      const markdown = document.languageId === 'markdown';
      for (const r of ranges) {
        const last = r.end.character === 0 && r.end.line > r.start.line ? r.end.line - 1 : r.end.line;
        if (markdown) {
          for (let line = r.start.line; line <= last; line++) {
            if (!/^ {0,3}#{1,6}[ \t]/.test(lines.line(line))) continue;
            const t = this.proseAt(document, line, minLines, MAX_HOVER_TARGET_CHARS, 'section');
            if (t) out.push(t);
          }
        }
        for (const p of paragraphsIn(lines, r.start.line, last, markdown, MAX_HOVER_TARGET_CHARS)) {
          if (longEnough(p, minLines)) out.push(this.paragraphTarget(document, p));
        }
        if (out.length >= limit) break;
      }
    } else {
      for (const s of await this.symbolsOf(document)) {
        if (bigEnough(s.range, minLines) && ranges.some((r) => r.contains(s.selectionRange)) && charsOf(document, s.range) <= MAX_HOVER_TARGET_CHARS) out.push(this.symbolTarget(document, s));
      }
    }
    return out.slice(0, limit);
  }

  /** Asks for `document`'s symbols now (code only), so a hover soon after finds them cached. */
  async prime(document: vscode.TextDocument): Promise<void> {
    if (hoverable(document) && !SummaryTargets.isProse(document.languageId)) await this.symbolsOf(document);
  }

  /** Whether `document`'s symbols for its current version were asked for already (read by tests). */
  asked(document: vscode.TextDocument): boolean {
    return this.symbols.get(document.uri.toString())?.version === document.version;
  }

  private async symbolsOf(document: vscode.TextDocument): Promise<FlatSymbol[]> {
    const key = document.uri.toString();
    const known = this.symbols.get(key);
    if (known && known.version === document.version) return known.symbols;
    const symbols = Promise.resolve(
      vscode.commands.executeCommand<(vscode.DocumentSymbol | vscode.SymbolInformation)[] | undefined>('vscode.executeDocumentSymbolProvider', document.uri),
    ).then(
      (found) => flatten(found ?? []),
      () => [],
    );
    this.symbols.set(key, { version: document.version, symbols });
    // An empty answer may only mean the language server is still starting: ask again next time.
    void symbols.then((s) => {
      if (s.length === 0 && this.symbols.get(key)?.symbols === symbols) this.symbols.delete(key);
    });
    return symbols;
  }

  private symbolTarget(document: vscode.TextDocument, symbol: FlatSymbol): SummaryTarget {
    const range = withLeadingComments(document, symbol.range);
    const documented = range.start.line < symbol.range.start.line && isDocComment(document.lineAt(range.start.line).text);
    return {
      kind: 'symbol',
      range,
      trigger: symbol.selectionRange,
      label: `${path.basename(document.uri.path)} › ${symbol.name}`,
      text: document.getText(range),
      ...(documented ? { undocumentedText: document.getText(symbol.range) } : {}),
    };
  }

  /** The Markdown section headed at `line`, else (unless `only`) the paragraph there, of at most `maxChars`. */
  private proseAt(document: vscode.TextDocument, line: number, minLines: number, maxChars: number, only?: 'section'): SummaryTarget | undefined {
    const lines = linesOfDocument(document);
    if (document.languageId === 'markdown') {
      const section = markdownSectionAt(lines, line, maxChars);
      if (section) {
        if (section.last - section.first + 1 < minLines) return undefined;
        const range = rangeOf(document, section);
        return { kind: 'section', range, trigger: document.lineAt(range.start.line).range, label: `${path.basename(document.uri.path)} › ${section.title}`, text: document.getText(range) };
      }
    }
    if (only) return undefined;
    const p = paragraphAt(lines, line, document.languageId === 'markdown', maxChars);
    return p && longEnough(p, minLines) ? this.paragraphTarget(document, p) : undefined;
  }

  private paragraphTarget(document: vscode.TextDocument, p: LineRange): SummaryTarget {
    const range = rangeOf(document, p);
    const lines = `${range.start.line + 1}-${range.end.line + 1}`;
    return { kind: 'paragraph', range, trigger: range, label: `${path.basename(document.uri.path)}:${lines}`, text: document.getText(range) };
  }
}

/** A document's lines without copying its text (`getText()` joins every line on each call). */
function linesOfDocument(document: vscode.TextDocument): LineSource {
  return { lineCount: document.lineCount, line: (i) => document.lineAt(i).text };
}

/** False for documents too long for summary hovers ({@link MAX_HOVER_DOCUMENT_CHARS}). */
function hoverable(document: vscode.TextDocument): boolean {
  return document.offsetAt(document.lineAt(document.lineCount - 1).range.end) <= MAX_HOVER_DOCUMENT_CHARS;
}

function charsOf(document: vscode.TextDocument, range: vscode.Range): number {
  return document.offsetAt(range.end) - document.offsetAt(range.start);
}

function rangeOf(document: vscode.TextDocument, lines: LineRange): vscode.Range {
  return new vscode.Range(lines.first, 0, lines.last, document.lineAt(lines.last).text.length);
}

function longEnough(p: LineRange, minLines: number): boolean {
  return p.last - p.first + 1 >= minLines || p.chars >= LONG_PARAGRAPH_CHARS;
}

function bigEnough(range: vscode.Range, minLines: number): boolean {
  return range.end.line - range.start.line + 1 >= minLines;
}

function flatten(found: readonly (vscode.DocumentSymbol | vscode.SymbolInformation)[], depth = 0, out: FlatSymbol[] = []): FlatSymbol[] {
  for (const s of found) {
    // The command returns objects that are both DocumentSymbol and SymbolInformation when the provider gives trees.
    if (!('selectionRange' in s)) {
      // A flat SymbolInformation: no name range; the start of the symbol stands for it.
      const range = s.location.range;
      if (SUMMARISED_KINDS.has(s.kind)) out.push({ name: s.name, range, selectionRange: new vscode.Range(range.start, range.start.translate(0, s.name.length)), depth });
      continue;
    }
    if (SUMMARISED_KINDS.has(s.kind)) out.push({ name: s.name, range: s.range, selectionRange: s.selectionRange, depth });
    flatten(s.children ?? [], depth + 1, out);
  }
  return out;
}

/** Extends a symbol's range up over the comment block, decorators and blank-free lines right above it. */
/** A line opening a doc comment, which language hovers show (JSDoc, TSDoc, Javadoc, C#/Rust `///`, Rust `//!`). */
function isDocComment(line: string): boolean {
  return /^\s*(\/\*\*(?!\/)|\/\/\/|\/\/!)/.test(line);
}

function withLeadingComments(document: vscode.TextDocument, range: vscode.Range): vscode.Range {
  const syntax = commentSyntax(document.languageId);
  if (!syntax) return range;
  const starts = [syntax.line, syntax.block?.[0], syntax.block ? '*' : undefined, syntax.block?.[1], '@'].filter((s): s is string => !!s);
  let line = range.start.line;
  while (line > 0) {
    const above = document.lineAt(line - 1).text.trimStart();
    if (above === '' || !starts.some((s) => above.startsWith(s))) break;
    line--;
  }
  return line === range.start.line ? range : new vscode.Range(new vscode.Position(line, 0), range.end);
}
