"""`jitsi-sovereign cloud create|status|destroy|regions` (a typer sub-app of cli.py).

Credentials come from each provider's usual environment variables or config file, never
from the command line; nothing here prints them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from jitsi_sovereign.cloud import engine, regions
from jitsi_sovereign.cloud.model import DNS_CHOICES, CreateRequest
from jitsi_sovereign.cloud.provider import PROVIDERS, make_dns, make_provider
from jitsi_sovereign.cloud.state import State
from jitsi_sovereign.errors import UserError

app = typer.Typer(help="Create the VM at a French host (Scaleway, OVHcloud, Outscale), with "
                       "a security group derived from the firewall role.",
                  no_args_is_help=True)
console = Console(highlight=False)


def _say(text: str) -> None:
    console.print(escape(text), soft_wrap=True)


def read_ssh_key(path: Path) -> tuple[str, Path]:
    """(the public key text, the private key path) from --ssh-key: the .pub file, or the
    private key when its .pub sits next to it. A private key is never read further than
    its first line."""
    path = path.expanduser()
    if path.suffix == ".pub":
        pub, private = path, path.with_suffix("")
    else:
        pub, private = path.with_name(path.name + ".pub"), path
    if not pub.is_file():
        if path.is_file():
            raise UserError(f"--ssh-key {path}: no public key {pub} next to it",
                            "give the .pub file (ssh-keygen -y -f KEY > KEY.pub makes it)")
        raise UserError(f"--ssh-key {path} does not exist",
                        "give your public key, e.g. ~/.ssh/id_ed25519.pub")
    with pub.open() as handle:
        text = handle.read(16384)
    return text.strip(), private


def _request(provider, region, domain, ssh_key, size, dns, name, admin_cidr, login_user,
             firewall_var) -> CreateRequest:
    import yaml

    pub, private = read_ssh_key(ssh_key)
    extra = {}
    for item in firewall_var or []:
        key, sep, value = item.partition("=")
        if not sep or not (key.startswith("firewall_") or key == "os_hardening_ssh_port"):
            raise UserError(f"--firewall-var {item!r}: firewall_NAME=VALUE",
                            "e.g. --firewall-var firewall_turn_enabled=false")
        extra[key] = yaml.safe_load(value)
    return CreateRequest(provider=provider, region=region, domain=domain,
                         ssh_public_key=pub, ssh_key_path=private, size=size, dns=dns,
                         name=name or "", admin_cidrs=list(admin_cidr or ["0.0.0.0/0", "::/0"]),
                         login_user=login_user, firewall_vars=extra)


@app.command("regions")
def regions_cmd(provider: Annotated[str | None, typer.Option(
        help="Only this provider.")] = None) -> None:
    """The regions in France each provider allows, with the law their operator answers to."""
    for name in [provider] if provider else regions.providers():
        if name not in regions.REGIONS:
            raise UserError(f"unknown provider {name!r}",
                            f"choose one of: {', '.join(regions.REGIONS)}")
        _say(f"{name}:")
        for region in regions.REGIONS[name].values():
            _say(f"  {region}  {region.jurisdiction}")
        if name in regions.NOTES:
            _say(f"  note: {regions.NOTES[name]}")


@app.command()
def create(
    provider: Annotated[str, typer.Option(help=f"One of: {', '.join(PROVIDERS)}.")],
    region: Annotated[str, typer.Option(help="A region in France (see `cloud regions`).")],
    domain: Annotated[str, typer.Option(help="The meeting's name, e.g. visio.mairie.fr.")],
    ssh_key: Annotated[Path, typer.Option(help="Your SSH public key (.pub), or the private "
                                               "key with its .pub next to it.")],
    size: Annotated[str | None, typer.Option(help="Server type (default: the provider's, "
                                                  ">= 4 GB).")] = None,
    dns: Annotated[str, typer.Option(help=f"DNS provider: {'|'.join(DNS_CHOICES)}.")] = "none",
    name: Annotated[str | None, typer.Option(help="Resource name (default from the domain).")]
        = None,
    admin_cidr: Annotated[list[str] | None, typer.Option(
        help="Network allowed to SSH (repeat); default everyone (key-only login).")] = None,
    login_user: Annotated[str, typer.Option(help="The admin user cloud-init creates.")]
        = "debian",
    firewall_var: Annotated[list[str] | None, typer.Option(
        help="A firewall role value, firewall_NAME=VALUE (repeat): the group follows it.")]
        = None,
    out: Annotated[Path | None, typer.Option(help="Directory for the state file and the "
                                                  "inventory (default ./<name>).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; no network "
                                                            "call at all.")] = False,
) -> None:
    """Create a Debian 13 VM in France, its security group, DNS record and inventory."""
    req = _request(provider, region, domain, ssh_key, size, dns, name, admin_cidr, login_user,
                   firewall_var)
    plan = engine.plan(req)
    if dry_run:
        for line in plan.describe():
            _say(line)
        _say("dry run: nothing was created, no network call was made")
        return
    out_dir = out or Path(req.name)
    prov = make_provider(provider)
    dns_prov = make_dns(dns)
    result = engine.create(prov, req, out_dir, dns=dns_prov, echo=_say)
    _say(f"server {result.server.id}: {result.server.public_ipv4}"
         + (f", {result.server.public_ipv6}" if result.server.public_ipv6 else ""))
    for warning in result.warnings:
        console.print("[yellow]warning:[/] " + escape(warning), soft_wrap=True)
    _say(f"state: {result.state.path}")
    _say(f"inventory: {result.inventory}")
    _say(f"next: jitsi-sovereign deploy -i {result.inventory}")


StateOpt = Annotated[Path, typer.Option("--state", help="The cloud-state.json of create.")]


@app.command()
def status(state: StateOpt, json_out: Annotated[bool, typer.Option(
        "--json", help="JSON on stdout.")] = False) -> None:
    """The VM, its addresses, the live security-group rules against the firewall role's."""
    st = State.load(state)
    result = engine.status(make_provider(st.provider), st, dns=make_dns(st.dns))
    if json_out:
        print(json.dumps(result, indent=2))
    else:
        server = result["server"] or {}
        _say(f"{st.provider} {st.region} {st.name}: server {server.get('state', 'gone')} "
             f"{server.get('public_ipv4') or ''} {server.get('public_ipv6') or ''}".rstrip())
        _say(f"groups attached: {', '.join(result['groups']) or 'none'}")
        for record in result.get("dns", []):
            _say(f"dns: {record}")
        for finding in result["findings"]:
            console.print("[red]finding:[/] " + escape(finding), soft_wrap=True)
        if not result["findings"]:
            _say("the security group matches the firewall role's openings")
    if result["findings"]:
        raise typer.Exit(1)


@app.command()
def destroy(state: StateOpt) -> None:
    """Delete exactly what the state file lists, last first; then the residue check."""
    st = State.load(state)
    residue = engine.destroy(make_provider(st.provider), st, dns=make_dns(st.dns), echo=_say)
    if residue:
        for res in residue:
            console.print(f"[red]residue:[/] {res.kind} {res.id} ({res.region}) still tagged "
                          f"jitsi-sovereign={st.name}", soft_wrap=True)
        raise typer.Exit(1)
    _say(f"nothing tagged jitsi-sovereign={st.name} is left at {st.provider}")
