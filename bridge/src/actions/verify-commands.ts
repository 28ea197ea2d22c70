import { shq } from "../sources/ssh/client.js";

/** `pvesm path <volid>` prints the archive's file path on the node. */
export const pathCommand = (volid: string) => `pvesm path ${shq(volid)}`;

/**
 * The integrity check for one archive file, by format (vzdump writes .vma for VMs and .tar for containers, each compressed with zstd, gzip or lzo): the compression layer is
 * tested, then the content is read through — `vma verify` for VM archives, a full tar listing
 * for containers. `pipefail` makes a failing decompressor fail the whole pipeline. Null for
 * formats that cannot be checked this way (PBS snapshots use PBS's own verification state).
 */
export function verifyCommand(format: string, path: string): string | null {
  const p = shq(path);
  const decompress: Record<string, { test: string; cat: string; tar: string }> = {
    zst: { test: `zstd -q -t -- ${p}`, cat: `zstd -q -d -c -- ${p}`, tar: "--zstd" },
    gz: { test: `gzip -t -- ${p}`, cat: `zcat -- ${p}`, tar: "-z" },
    lzo: { test: `lzop -t -- ${p}`, cat: `lzop -d -c -- ${p}`, tar: "--lzop" },
    bz2: { test: `bzip2 -t -- ${p}`, cat: `bzcat -- ${p}`, tar: "-j" },
  };
  const [kind, comp] = format === "tgz" ? ["tar", "gz"] : format.split(".");
  if (kind !== "vma" && kind !== "tar") return null;
  if (!comp) return kind === "vma" ? `vma verify -v ${p}` : `tar -tf ${p} > /dev/null`;
  const d = decompress[comp];
  if (!d) return null;
  return kind === "vma"
    ? `set -o pipefail; ${d.test} && ${d.cat} | vma verify -v -`
    : `set -o pipefail; ${d.test} && tar ${d.tar} -tf ${p} > /dev/null`;
}
