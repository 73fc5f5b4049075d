"""``stratus image build``: build (or find in the cache) the default guest image,
optionally copy it somewhere and register it in the cloud's Image service."""
from __future__ import annotations

import logging
import os
import shutil
import sys

from stratus.cmd.common import load_config


def register(sub) -> None:
    p = sub.add_parser("image", help="the default guest image")
    isub = p.add_subparsers(dest="image_command", required=True)
    b = isub.add_parser("build", help="build the default guest image (cached: instant "
                        "when nothing changed) and print its path")
    b.add_argument("--output", default=None, help="also copy the qcow2 to this path")
    b.add_argument("--force", action="store_true", help="rebuild even if cached")
    b.add_argument("--register", action="store_true",
                   help="register it as the public image [image] default_image")
    b.add_argument("--cache-dir", default=None,
                   help="build cache (default [image] guest_image_cache, else "
                        "/var/cache/stratus/guest-image as root, ~/.cache/stratus otherwise)")
    b.add_argument("--state-dir", default=None,
                   help="state directory of the cloud to register into (default "
                        "$STRATUS_STATE_DIR, else ./.stratus, as `stratus up`)")
    b.set_defaults(func=build)


def build(args) -> int:
    from stratus.guestimage import build as guest_build
    from stratus.guestimage import register as guest_register
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logging.getLogger("stratus.guestimage").addHandler(handler)
    logging.getLogger("stratus.guestimage").setLevel(logging.INFO)
    state_dir = args.state_dir or os.environ.get("STRATUS_STATE_DIR") or ".stratus"
    conf = load_config(args, state_dir)
    cache_dir = args.cache_dir or guest_register.cache_dir_of(conf)
    try:
        path = guest_build.build(cache_dir, force=args.force)
    except Exception as exc:           # a clear message, not a traceback
        print(f"stratus image build: {exc}", file=sys.stderr)
        return 1
    manifest = guest_build.current(cache_dir) or {}
    print(f"guest image: {path} ({manifest.get('size', os.path.getsize(path))} bytes, "
          f"kernel {manifest.get('kernel_release', '?')}, build {manifest.get('key', '?')})")
    if args.output:
        shutil.copyfile(path, args.output + ".tmp")
        os.replace(args.output + ".tmp", args.output)
        print(f"copied to {args.output}")
    if args.register:
        from stratus.db import migrate
        from stratus.db.base import Database
        os.makedirs(conf.state_path, mode=0o700, exist_ok=True)
        migrate.sync(conf.database_url)
        db = Database(conf.database_url, 2)
        try:
            image_id = guest_register.ensure_registered(db, conf, path, manifest)
        finally:
            db.dispose()
        print(f"registered as image {conf.image.default_image!r} ({image_id}) "
              f"in {conf.state_path}")
    return 0
