"""Real-world profiles that Debian packages ship: found where the package installs them, or
unpacked from the downloaded package into a cache (never installed, never copied into the repo).

Docker's own default profile (moby ``profiles/seccomp/default.json``, the most copied seccomp
profile there is) ships in Debian's ``golang-github-docker-docker-dev``. Installing that package
pulls about 250 Go source packages (~950 MB), so the course does not install it:
``python -m tests.data.profiles.packaged`` runs ``apt-get download`` for the one package
(about 1 MB) and unpacks only the profile into :data:`CACHE`. The tests read the file from the
installed package when it is there, else from the cache; on CI (``CI`` set) they fetch it
themselves; elsewhere they skip, naming the package and this command.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("COURSE_PROFILE_CACHE", Path.home() / ".cache" / "seccomp-course" / "profiles"))


@dataclass(frozen=True)
class PackagedProfile:
    name: str
    package: str
    path: str  # where the package installs it

    @property
    def cached(self) -> Path:
        return CACHE / self.package / self.path.lstrip("/")

    def find(self) -> Path | None:
        for candidate in (Path(self.path), self.cached):
            if candidate.is_file():
                return candidate
        return None

    @property
    def missing_reason(self) -> str:
        return (f"{self.name} comes from the Debian package {self.package} ({self.path}); neither installed "
                f"nor cached: run `python -m tests.data.profiles.packaged` (apt-get download, ~1 MB)")


PROFILES = (
    PackagedProfile("Docker's default seccomp profile (moby profiles/seccomp/default.json)",
                    "golang-github-docker-docker-dev",
                    "/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json"),
)


def fetch(profile: PackagedProfile) -> Path:
    """Download the package with apt-get (the ordinary client) and unpack only the profile."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["apt-get", "download", profile.package], cwd=tmp, check=True)
        deb = next(Path(tmp).glob(f"{profile.package}_*.deb"))
        root = Path(tmp) / "root"
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        source = root / profile.path.lstrip("/")
        profile.cached.parent.mkdir(parents=True, exist_ok=True)
        profile.cached.write_bytes(source.read_bytes())
        (profile.cached.parent / "VERSION").write_text(deb.name + "\n")
    return profile.cached


def main() -> int:
    for profile in PROFILES:
        found = profile.find()
        print(f"{profile.package}: {found or fetch(profile)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
