"""``python -m labs.cluster``: get the node image, create/reuse, delete and inspect clusters."""
from __future__ import annotations

import argparse
import sys

from ..errors import LabError
from .configs import CONFIGS
from .lifecycle import cluster_exists, cluster_status, delete_all_clusters, delete_cluster, ensure_cluster, load_images
from .nodesource import SOURCES, choose_node_image


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labs.cluster", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("node-image", help="pull kind's release image where a registry answers, "
                                              "else build the offline one (skipped when current)")
    build.add_argument("--source", choices=SOURCES,
                       help="default: $COURSE_NODE_IMAGE, else auto (a local image first, then the registry)")
    build.add_argument("--force", action="store_true",
                       help="rebuild the offline image even when its recipe hash matches")
    ensure = sub.add_parser("ensure", help="create or reuse a cluster and wait until it is Ready")
    ensure.add_argument("config", nargs="?", default="default", choices=list(CONFIGS))
    delete = sub.add_parser("delete", help="delete a cluster (or --all course clusters)")
    delete.add_argument("config", nargs="?", default="default", choices=list(CONFIGS))
    delete.add_argument("--all", action="store_true", help="every course cluster, never other kind clusters")
    status = sub.add_parser("status", help="print the cluster's nodes and readiness as JSON")
    status.add_argument("config", nargs="?", default="default", choices=list(CONFIGS))
    load = sub.add_parser("load", help="copy local Docker images into the cluster's nodes")
    load.add_argument("images", nargs="+")
    load.add_argument("--config", default="default", choices=list(CONFIGS))
    args = parser.parse_args(argv)
    try:
        if args.command == "node-image":
            print(choose_node_image(args.source, force_build=args.force).to_json(indent=2))
        elif args.command == "ensure":
            info = ensure_cluster(args.config)
            verb = "created" if info.created else "reused"
            print(f"{verb} cluster {info.cluster_name} ({', '.join(info.nodes)}) in {info.seconds}s; "
                  f"kubeconfig: {info.kubeconfig}")
        elif args.command == "delete":
            if args.all:
                deleted = delete_all_clusters()
            else:
                deleted = [args.config] if cluster_exists(args.config) else []
                delete_cluster(args.config)
            print(f"deleted: {', '.join(deleted) or 'nothing'}")
        elif args.command == "status":
            status = cluster_status(args.config)
            print(status.to_json(indent=2))
            return 0 if status.ready else 1
        elif args.command == "load":
            print(f"loaded into {args.config}: {', '.join(load_images(args.images, args.config))}")
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
