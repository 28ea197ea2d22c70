"""`npm run lab`, the lab's stable interface for outside tools."""


def test_lab_prints_its_line_quickly(lab):
    # The promise to outside tools: the JSON line within 10 s of `npm run lab`.
    assert lab["startup_s"] < 10, lab["startup_s"]
    assert set(lab) >= {"pve", "dsm", "pbs"}
    assert lab["pve"]["tokens"] and lab["dsm"]["users"] and lab["pbs"]["tokens"]
