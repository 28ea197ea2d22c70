"""proxmoxer pointed at a part of `npm run lab` (the `lab` fixture of conftest.py) with one of its tokens."""
from proxmoxer import ProxmoxAPI


def proxmox(lab, part, token_index=0, secret=None):
    """`part` is "pve" or "pbs"; `secret` replaces the token's own (to test a wrong one)."""
    info = lab[part]
    tok = info["tokens"][token_index]
    user, name = tok["id"].split("!")
    return ProxmoxAPI(
        info["host"], port=info["port"], user=user, token_name=name, token_value=secret or tok["secret"],
        verify_ssl=info["ca"], service=part.upper(),
    )
