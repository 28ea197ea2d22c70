/**
 * Where a key of the config file stands: key paths as people read them (proxmox[0].url), and the
 * line and column of the YAML node at such a path, so that every problem names both.
 */
import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair, type YAMLMap } from "yaml";
import type { ConfigProblem } from "./types.js";

export type PathPart = string | number;

/** proxmox[0].url, guests.100.tier; a key that is empty or holds dots, spaces or brackets is quoted: guests["a.b"]. */
export const keyText = (p: PathPart[]) =>
  p.reduce<string>(
    (acc, part) =>
      typeof part === "number"
        ? `${acc}[${part}]`
        : !/^[^.\s[\]"]+$/.test(part)
          ? `${acc}[${JSON.stringify(part)}]`
          : acc
            ? `${acc}.${part}`
            : part,
    "",
  );

/** Positions of key paths in one parsed document. Key lookup is indexed per mapping, so errors in a 200,000-entry map stay linear. */
export class YamlLocations {
  private pairIndex = new WeakMap<YAMLMap, Map<string, Pair>>();

  constructor(
    private readonly doc: Document,
    private readonly lc: LineCounter,
  ) {}

  /** Line and column (1-based) of a source offset. */
  posOf(offset: number | undefined): { line?: number; column?: number } {
    if (offset === undefined) return {};
    const { line, col } = this.lc.linePos(offset);
    return { line, column: col };
  }

  /** Forgets the key index: to be called after keys were replaced (e.g. *_file by the secret's key). */
  reindex(): void {
    this.pairIndex = new WeakMap();
  }

  private pairOf(map: YAMLMap, key: PathPart): Pair | undefined {
    let idx = this.pairIndex.get(map);
    if (!idx) {
      idx = new Map();
      for (const it of map.items) {
        const k = isScalar(it.key) ? String(it.key.value) : String(it.key);
        if (!idx.has(k)) idx.set(k, it as Pair);
      }
      this.pairIndex.set(map, idx);
    }
    return idx.get(String(key));
  }

  /** The deepest node on the path that exists (so a missing key points at its parent). */
  nodeAt(p: PathPart[]): Node | undefined {
    let node = this.doc.contents as Node | null;
    let found: Node | undefined = node?.range ? node : undefined;
    for (const part of p) {
      if (isMap(node)) node = (this.pairOf(node, part)?.value ?? null) as Node | null;
      else if (isSeq(node) && typeof part === "number") node = (node.items[part] ?? null) as Node | null;
      else break;
      if (!node) break;
      if (node.range) found = node;
    }
    return found;
  }

  /** The key itself (for "unknown key" and the like); the value's node when there is no such key. */
  keyNodeAt(p: PathPart[]): Node | undefined {
    const parent = p.length > 1 ? this.nodeAt(p.slice(0, -1)) : (this.doc.contents as Node | null);
    if (isMap(parent)) {
      const pair = this.pairOf(parent, p[p.length - 1]!);
      if (pair && isScalar(pair.key)) return pair.key;
    }
    return this.nodeAt(p);
  }

  /** A problem at the value of a key path (or at its key: `atKey`), with its line. */
  problem(p: PathPart[], message: string, atKey = false): ConfigProblem {
    return { key: keyText(p), ...this.posOf((atKey ? this.keyNodeAt(p) : this.nodeAt(p))?.range?.[0]), message };
  }

  /** A problem at a given node. */
  problemAtNode(p: PathPart[], node: Node | null | undefined, message: string): ConfigProblem {
    return { key: keyText(p), ...this.posOf(node?.range?.[0]), message };
  }
}
