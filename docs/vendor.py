"""Page scripts the course site serves itself, so no page loads anything from outside the site.

The theme draws Mermaid diagrams with the ``mermaid`` global and, when a page lacks it, fetches
it from a CDN at run time: offline, or behind a proxy, the diagram stays blank. ``make site``
takes Mermaid from the npm registry instead, once, at build time: ``npm pack`` of a pinned
version, checked against the integrity the registry published for it, cached under ``.tools/``
(git-ignored), and copied into the site beside the theme's own scripts.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

from phase1_foundations.settings import PROJECT_ROOT

# The major version the theme's own loader asks the CDN for (mermaid@11), pinned.
MERMAID_VERSION = "11.17.2"
MERMAID_INTEGRITY = (  # the registry's dist.integrity for that version
    "sha512-V6K3C8EBdEsPFZXSKMJe6ppQOENxuHARr9GvHX4hh47lAbhMRD9qf4oEK7LoaRQxULMa80/qt5gHO73aCleBBg=="
)
MERMAID_MEMBER = "package/dist/mermaid.min.js"
SITE_SCRIPT = "assets/javascripts/mermaid.min.js"  # where the site serves it, in docs_dir
CACHE = PROJECT_ROOT / ".tools" / "npm"
NPM_TIMEOUT_S = 600


class VendorError(RuntimeError):
    """A page script could not be vendored; the message says what to do."""


def integrity_of(path: Path) -> str:
    """npm's Subresource Integrity string (sha512, base64) of a file."""
    digest = hashlib.sha512(path.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


def _pack(cache: Path) -> Path:
    """The package tarball, from the cache or from the registry with ``npm pack``."""
    tarball = cache / f"mermaid-{MERMAID_VERSION}.tgz"
    if tarball.is_file() and integrity_of(tarball) == MERMAID_INTEGRITY:
        return tarball
    npm = shutil.which("npm")
    if npm is None:
        raise VendorError(
            "make site takes Mermaid from the npm registry once (then offline): install Node.js"
            " and npm (Debian: apt-get install npm), then run it again"
        )
    scratch = cache / "download"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    done = subprocess.run(
        [npm, "pack", f"mermaid@{MERMAID_VERSION}", "--json", "--pack-destination", str(scratch)],
        capture_output=True,
        text=True,
        timeout=NPM_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise VendorError(f"npm pack mermaid@{MERMAID_VERSION} failed:\n{done.stderr.strip()}")
    packed = scratch / json.loads(done.stdout)[0]["filename"]
    if integrity_of(packed) != MERMAID_INTEGRITY:
        raise VendorError(
            f"mermaid@{MERMAID_VERSION} from the registry does not match its pinned integrity"
            f" ({integrity_of(packed)}); refusing to put it in the site"
        )
    packed.replace(tarball)
    shutil.rmtree(scratch, ignore_errors=True)
    return tarball


def mermaid_script(cache: Path = CACHE) -> Path:
    """``mermaid.min.js`` of the pinned release, extracted once into the cache (safe when several
    builds run at once: one downloads, the others wait for it)."""
    script = cache / f"mermaid-{MERMAID_VERSION}.min.js"
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not script.is_file():
            with tarfile.open(_pack(cache)) as tar:
                member = tar.extractfile(MERMAID_MEMBER)
                if member is None:
                    raise VendorError(f"mermaid@{MERMAID_VERSION} has no {MERMAID_MEMBER}")
                partial = script.with_suffix(".partial")
                partial.write_bytes(member.read())
                partial.replace(script)
    return script


def vendor_scripts(docs_dir: Path, cache: Path = CACHE) -> list[str]:
    """Copy the page scripts into the site's docs_dir; their site paths (``extra_javascript``)."""
    target = docs_dir / SITE_SCRIPT
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(mermaid_script(cache), target)
    return [SITE_SCRIPT]
