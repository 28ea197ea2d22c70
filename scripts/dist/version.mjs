/** A release version as npm, HACS (AwesomeVersion) and the Supervisor all take it: x.y.z with an optional pre-release. */
export function assertReleaseVersion(version) {
  if (!/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/.test(version)) throw new Error(`not a release version: ${version}`);
}
