"""A local stand-in for the Containerfile's base image, made with debootstrap.

No container registry is needed to test the image: Debian bookworm is
bootstrapped from the machine's own Debian mirror, trimmed the way the
official ``-slim`` images are, and imported into podman under exactly the
name the Containerfile's ``BASE_IMAGE`` names. podman's image store is the
cache: when an image of that name exists it is used as it is, so only the
first run pays for debootstrap.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

BASE_IMAGE = "docker.io/library/debian:bookworm-slim"
SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))

# What the official slim images leave out (documentation, manuals, message
# translations) and keep out of later installs, plus apt settings that keep
# package lists and downloaded archives out of image layers.
DPKG_EXCLUDES = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
"""
APT_SLIM = """\
Acquire::Languages "none";
APT::Install-Suggests "false";
APT::AutoRemove::SuggestsImportant "false";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
"""


def debian_mirrors(sources: tuple[Path, ...] = APT_SOURCES) -> tuple[str, str | None]:
    """The Debian archive and security mirrors this machine's apt uses."""
    texts = []
    for source in sources:
        files = (
            sorted(source.glob("*.list")) + sorted(source.glob("*.sources")) if source.is_dir() else [source]
        )
        texts += [f.read_text(errors="replace") for f in files if f.is_file()]
    uris = re.findall(r"(?:^deb\s+(?:\[[^\]]*\]\s+)?|^URIs:\s*)(\S+)", "\n".join(texts), re.MULTILINE)
    # Debian's archive and security archive end in /debian and /debian-security
    # on every mirror; third-party repositories (nodesource, ...) do not.
    archive = next((u.rstrip("/") for u in uris if u.rstrip("/").endswith("/debian")), DEFAULT_MIRROR)
    security = next((u.rstrip("/") for u in uris if u.rstrip("/").endswith("/debian-security")), None)
    return archive, security


def image_exists(name: str) -> bool:
    return subprocess.run(["podman", "image", "exists", name], check=False).returncode == 0


def ensure_base_image(name: str = BASE_IMAGE) -> bool:
    """Make ``name`` exist in podman; True when it had to be bootstrapped."""
    if image_exists(name):
        return False
    archive, security = debian_mirrors()
    with tempfile.TemporaryDirectory(prefix="enviro-base-") as tmp:
        root = Path(tmp) / "root"
        subprocess.run(
            ["debootstrap", "--variant=minbase", SUITE, str(root), archive],
            check=True,
            capture_output=True,
            text=True,
        )
        _slim(root, archive, security)
        tar = subprocess.Popen(["tar", "-C", str(root), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(
            ["podman", "import", "--change", 'CMD ["bash"]', "-", name],
            stdin=tar.stdout,
            check=True,
            capture_output=True,
        )
        tar.stdout.close()
        if tar.wait() != 0:
            raise RuntimeError("tar of the bootstrapped root failed")
    return True


def _slim(root: Path, archive: str, security: str | None) -> None:
    (root / "etc/dpkg/dpkg.cfg.d/slim-image").write_text(DPKG_EXCLUDES)
    (root / "etc/apt/apt.conf.d/slim-image").write_text(APT_SLIM)
    # The suites an official image updates from, on this machine's mirrors.
    lines = [f"deb {archive} {SUITE} main", f"deb {archive} {SUITE}-updates main"]
    if security:
        lines.append(f"deb {security} {SUITE}-security main")
    (root / "etc/apt/sources.list").write_text("\n".join(lines) + "\n")
    for folder in (
        "usr/share/man",
        "usr/share/groff",
        "usr/share/info",
        "usr/share/locale",
        "usr/share/lintian",
    ):
        shutil.rmtree(root / folder, ignore_errors=True)
    for path in (root / "usr/share/doc").glob("*/*"):
        if path.name == "copyright":
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    # debootstrap leaves its downloaded packages and the package lists behind.
    for cache in ("var/cache/apt", "var/lib/apt/lists"):
        for path in (root / cache).rglob("*"):
            if path.is_file() and path.name != "lock":
                path.unlink()
