/**
 * Home Assistant's REST API for tests: fetch with the instance's bearer token, JSON helpers that
 * throw on a non-2xx answer, states and service calls.
 */
import type { HaRest, HaState } from "./ha-types.js";

export interface HaHttp {
  rest: HaRest;
  /** fetch of url + path, with the current bearer token unless `auth` is false; no status check. */
  rawFetch(path: string, init?: RequestInit, auth?: boolean): Promise<Response>;
  /** The JSON body of a 2xx answer (undefined when empty); throws with status and body otherwise. */
  checked<T>(res: Response, what: string): Promise<T>;
}

/** REST helpers for the Home Assistant at `url`; `token()` is read at each request (it changes during onboarding). */
export function haHttp(url: string, token: () => string): HaHttp {
  const rawFetch = async (path: string, init: RequestInit = {}, auth = true): Promise<Response> => {
    const headers = new Headers(init.headers);
    if (auth && token()) headers.set("Authorization", `Bearer ${token()}`);
    return await fetch(url + path, { ...init, headers });
  };
  const checked = async <T>(res: Response, what: string): Promise<T> => {
    const text = await res.text();
    if (!res.ok) throw new Error(`${what} → HTTP ${res.status}: ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  const rest: HaRest = {
    fetch: (path, init) => rawFetch(path, init),
    get: async <T>(path: string) => await checked<T>(await rawFetch(path), `GET ${path}`),
    post: async <T>(path: string, body?: unknown) =>
      await checked<T>(
        await rawFetch(path, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        }),
        `POST ${path}`,
      ),
    states: async () => await rest.get<HaState[]>("/api/states"),
    state: async (entityId) => {
      const res = await rawFetch(`/api/states/${encodeURIComponent(entityId)}`);
      if (res.status === 404) return null;
      return await checked<HaState>(res, `GET /api/states/${entityId}`);
    },
    callService: async (domain, service, data = {}) => await rest.post(`/api/services/${domain}/${service}`, data),
  };
  return { rest, rawFetch, checked };
}
