import { phrase, type ParamValue } from "../words/phrase.js";
import { render, type RenderOptions } from "../words/render.js";
import type { Finding, FindingCode } from "./types.js";

/** A finding with its phrase and its sentence, rendered in the bridge's language and zone. */
export function makeFinding(
  code: FindingCode,
  key: string,
  params: Record<string, ParamValue | undefined>,
  words: RenderOptions,
): Finding {
  const p = phrase(key, params);
  return { code, key, params: p.params ?? {}, reason: render(p, words) };
}
