"""The offline bundle: one tarball with the node image and the lab images, loadable again."""
from __future__ import annotations

import json
import tarfile

from labs.bundle import bundle_images, load_bundle, save_bundle
from labs.cluster import NODE_IMAGE


def test_bundle_round_trip(default_cluster, tmp_path):
    images = bundle_images()
    assert images[0] == NODE_IMAGE and any(ref.startswith("course/tools:") for ref in images)
    saved = save_bundle(tmp_path / "bundle" / "offline.tar")
    with tarfile.open(saved.path) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    tags = {tag for entry in manifest for tag in entry.get("RepoTags") or []}
    assert set(images) <= tags
    loaded = load_bundle(saved.path)
    assert set(loaded.images) == set(images)
