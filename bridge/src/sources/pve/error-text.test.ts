import { describe, expect, it } from "vitest";
import { shortenCommand } from "./error-text.js";

describe("shortenCommand", () => {
  it.each([
    [
      "the tar pipeline of a container backup (pve-container VZDump.pm)",
      "command 'set -o pipefail && lxc-usernsexec -m u:0:100000:65536 -m g:0:100000:65536 -- tar cpf - --totals --one-file-system -p --sparse --numeric-owner --acls --xattrs '--xattrs-include=user.*' '--xattrs-include=security.capability' '--directory=/mnt/vzsnap0' ./ | zstd '--threads=1' >/var/lib/vz/dump/vzdump-lxc-101.tar.dat' failed: exit code 2",
      "command 'tar … | zstd …' failed: exit code 2",
    ],
    [
      "a hook script, short enough to keep",
      "command '/usr/local/bin/offsite-hook.sh job-start' failed: exit code 1",
      "command '/usr/local/bin/offsite-hook.sh job-start' failed: exit code 1",
    ],
    [
      "a long single command keeps its program",
      "command '/usr/bin/vma create -v -c /var/tmp/vzdumptmp123/qemu-server.conf -c /var/tmp/vzdumptmp123/qemu-server.fw /mnt/dump/x.vma' failed: got signal 9",
      "command 'vma …' failed: got signal 9",
    ],
    [
      "no command at all",
      "VM 102 qmp command 'backup' failed - got timeout",
      "VM 102 qmp command 'backup' failed - got timeout",
    ],
  ])("%s", (_what, error, expected) => {
    expect(shortenCommand(error)).toBe(expected);
  });
});
