import v8 from "node:v8";
import vm from "node:vm";

/**
 * A full garbage collection, on purpose. Its only caller is sources/pve/memory.ts (which states
 * when, and the benchmark figure that justifies it): after a content read of a large lab grew the
 * process. V8 would otherwise let the old generation grow by that much, again and again, before
 * its next full collection, and the process would hold the difference. It costs tens of
 * milliseconds, and only then.
 * Node exposes gc() only with --expose-gc; setting the flag at run time makes it available to
 * contexts created afterwards.
 */
let gc: (() => void) | null | undefined;
/** RSS right after the last collection made here, whatever asked for it. */
let rssAfterLast = 0;
export function collectGarbage(): boolean {
  if (gc === undefined) {
    try {
      v8.setFlagsFromString("--expose-gc");
      gc = vm.runInNewContext("gc") as () => void;
    } catch {
      gc = null;
    }
  }
  if (!gc) return false;
  gc();
  rssAfterLast = process.memoryUsage.rss();
  return true;
}

/**
 * A full collection only when the process grew by more than `slackBytes` since the last one made
 * here (for any reason): after a big read whose garbage V8 would otherwise keep until its own
 * timing, without paying a collection every time (a full one also makes V8 shrink its heap and
 * collect more often afterwards). A negative slack means "always" (RSS may have shrunk below the
 * reference since, as the OS took pages back, so the difference alone would not say so).
 */
export function collectGarbageIfGrown(slackBytes: number): boolean {
  return (slackBytes < 0 || process.memoryUsage.rss() - rssAfterLast > slackBytes) && collectGarbage();
}
