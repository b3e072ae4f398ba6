"""`shipyard keys`: the Ed25519 key pair that signs registered versions (CI) and verifies them (servers)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shipyard.cli._common import console

keys_app = typer.Typer(help="Signing keys for registered model versions.", no_args_is_help=True)


@keys_app.command("generate")
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder for the key pair; keep it out of git.")],
) -> None:
    """Write a private key (for CI: SHIPYARD_SIGNING_KEY) and a public key (for servers)."""
    from shipyard.registry.signing import generate_keys

    private, public = generate_keys(out)
    console.print(f"Wrote the private key {private} (mode 0600): store it as a CI secret, never in git.")
    console.print(f"Wrote the public key {public}: give it to servers (--verify-key or SHIPYARD_VERIFY_KEY).")
    console.print("CI signs each registered version when SHIPYARD_SIGNING_KEY points at the private key.")
