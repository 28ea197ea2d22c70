import v8 from "node:v8";
import vm from "node:vm";

/**
 * A full garbage collection, on purpose. Used only right after the bridge dropped a large amount
 * of long-lived data at once (a storage listing of tens of thousands of archives replaced by its
 * new version, which happens when a backup ended on that storage): V8 would otherwise let the
 * old generation grow by that much, again and again, before its next full collection, and the
 * process would hold the difference. It costs tens of milliseconds, and only then.
 * Node exposes gc() only with --expose-gc; setting the flag at run time makes it available to
 * contexts created afterwards.
 */
let gc: (() => void) | null | undefined;
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
  return true;
}
