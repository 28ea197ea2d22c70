import path from "node:path";

/**
 * The environment of a command run as a user would run it: the Node that runs the test first in
 * PATH (so npm, npx and the installed CLI use the Node version under test — CI runs Node 20, 22
 * and 24), and none of the npm_* settings of an outer `npm run` (they would point npm at the
 * workspace).
 */
export function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH}`,
  };
  for (const k of Object.keys(env)) if (/^npm_/i.test(k)) delete env[k];
  return env;
}
